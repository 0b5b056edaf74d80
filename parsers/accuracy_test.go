package parsers

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// labelled is one generated line with the format, level and time it must
// yield.
type labelled struct {
	line   string
	format string
	level  record.Level
	time   time.Time // zero: the line has none
}

// A generator writes one line of a format for a time, level and message.
// Each knows its format's level words and time precision.
type lineGen struct {
	format string
	levels []string // the format's level words, parallel to lvls
	lvls   []record.Level
	gen    func(t time.Time, lvl string, msg string, r *rand.Rand) string
	prec   time.Duration // time precision the format writes; 0: no time
	noYear bool          // the format writes no year (the latest year not in the future)
}

var (
	lvUpper = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	lvLower = []string{"trace", "debug", "info", "warn", "error", "fatal"}
	lvAll   = []record.Level{record.LevelTrace, record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}
	lvNone  = []record.Level{record.LevelNone}
)

var accuracyMessages = []string{
	"request completed in 12ms",
	"user bob logged in from 10.0.0.7",
	"error: upstream returned 502",
	"level=info is not a level here",
	"[WARN] brackets inside the message",
	`failed to parse "config.yaml": unexpected key`,
	"connection reset by peer",
	"cache hit ratio 0.93 for key sess:9f8e",
	"payment authorised: amount=12.50 currency=EUR",
	"Started GET /api/v1/orders for 10.0.0.1",
	"café naïve 日本 unicode text",
	"{not json} at the start of text",
	"GET /healthz 200",
}

func fmtTime(t time.Time, layout string) string { return t.Format(layout) }

var generators = []lineGen{
	{format: "json", levels: lvLower, lvls: lvAll, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf(`{"ts":%q,"level":%q,"msg":%q,"service":"shop","n":%d}`, fmtTime(t, "2006-01-02T15:04:05.000000Z07:00"), l, m, r.IntN(1000))
		case 1:
			return fmt.Sprintf(`{"@timestamp":%q,"log.level":%q,"message":%q,"http":{"status":%d}}`, fmtTime(t, "2006-01-02T15:04:05.000Z"), strings.ToUpper(l), m, 200+r.IntN(300))
		}
		return fmt.Sprintf(`{"time":%d,"severity":%q,"message":%q}`, t.UnixMilli(), l, m)
	}},
	{format: "json", levels: []string{"10", "20", "30", "40", "50", "60"}, lvls: lvAll, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`{"level":%s,"time":%d,"pid":1,"hostname":"h","msg":%q}`, l, t.UnixMilli(), m)
	}},
	{format: "logfmt", levels: lvLower, lvls: lvAll, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`time=%s level=%s msg=%q component=db retries=%d`, fmtTime(t, "2006-01-02T15:04:05.000Z07:00"), l, m, r.IntN(5))
	}},
	{format: "clf", levels: []string{""}, lvls: lvNone, prec: time.Second, gen: func(t time.Time, _, m string, r *rand.Rand) string {
		return fmt.Sprintf(`10.0.%d.%d - - [%s] "GET /p/%d HTTP/1.1" %d %d "-" "curl/8.5.0"`, r.IntN(255), r.IntN(255), fmtTime(t, "02/Jan/2006:15:04:05 -0700"), r.IntN(100), 200+r.IntN(300), r.IntN(99999))
	}},
	{format: "nginx_error", levels: []string{"debug", "info", "warn", "error", "crit"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Second, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s [%s] %d#%d: *%d %s, client: 10.0.0.1, server: _`, fmtTime(t, "2006/01/02 15:04:05"), l, r.IntN(99), r.IntN(99), r.IntN(999), m)
	}},
	{format: "apache_error", levels: []string{"debug", "info", "warn", "error", "crit"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Microsecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`[%s] [core:%s] [pid %d:tid %d] %s`, fmtTime(t, "Mon Jan 02 15:04:05.000000 2006"), l, r.IntN(999), r.IntN(99999), m)
	}},
	{format: "syslog", levels: []string{"7", "6", "4", "3", "2"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Second, noYear: true, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		sev := int(l[0] - '0')
		return fmt.Sprintf(`<%d>%s node-%d app[%d]: %s`, 8+sev, fmtTime(t, time.Stamp), r.IntN(9), r.IntN(9999), m)
	}},
	{format: "syslog", levels: []string{"7", "6", "4", "3", "2"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		sev := int(l[0] - '0')
		return fmt.Sprintf(`<%d>1 %s host app %d ID%d - %s`, 8+sev, fmtTime(t, "2006-01-02T15:04:05.000Z07:00"), r.IntN(9999), r.IntN(99), m)
	}},
	{format: "klog", levels: []string{"I", "W", "E", "F"}, lvls: []record.Level{record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Microsecond, noYear: true, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s%s %7d file.go:%d] %s`, l, fmtTime(t, "0102 15:04:05.000000"), r.IntN(99999), r.IntN(999), m)
	}},
	{format: "golog", levels: []string{""}, lvls: lvNone, prec: time.Second, gen: func(t time.Time, _, m string, r *rand.Rand) string {
		// A leading level word would be taken as the line's level.
		m = strings.TrimPrefix(strings.TrimPrefix(m, "error: "), "[WARN] ")
		return fmt.Sprintf(`%s main.go:%d: %s`, fmtTime(t, "2006/01/02 15:04:05"), r.IntN(999), m)
	}},
	{format: "python", levels: []string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, gen: func(_ time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s:app.module%d:%s`, l, r.IntN(9), m)
	}},
	{format: "python", levels: []string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s - app.views - %s - %s`, fmtTime(t, "2006-01-02 15:04:05,000"), l, m)
	}},
	{format: "java", levels: lvUpper, lvls: lvAll, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s [worker-%d] %-5s com.example.Service%d - %s`, fmtTime(t, "2006-01-02 15:04:05.000"), r.IntN(9), l, r.IntN(9), m)
	}},
	{format: "spring", levels: lvUpper[:5], lvls: lvAll[:5], prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s %5s 1 --- [nio-8080-exec-%d] c.e.d.Controller%d : %s`, fmtTime(t, "2006-01-02T15:04:05.000Z07:00"), l, r.IntN(9), r.IntN(9), m)
	}},
	{format: "rails", levels: []string{"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}, lvls: lvAll[1:], prec: time.Microsecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%c, [%s #%d] %5s -- : %s`, l[0], fmtTime(t, "2006-01-02T15:04:05.000000"), r.IntN(9999), l, m)
	}},
	{format: "zap", levels: []string{"DEBUG", "INFO", "WARN", "ERROR"}, lvls: lvAll[1:5], prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf("%s\t%s\tpkg/file.go:%d\t%s\t{\"n\": %d}", fmtTime(t, "2006-01-02T15:04:05.000Z0700"), l, r.IntN(999), m, r.IntN(9))
	}},
	{format: "dotnet", levels: []string{"dbug", "info", "warn", "fail", "crit"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, gen: func(_ time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s: Shop.Api.Service[%d] %s`, l, r.IntN(99), m)
	}},
	{format: "postgres", levels: []string{"LOG", "WARNING", "ERROR", "FATAL"}, lvls: []record.Level{record.LevelInfo, record.LevelWarn, record.LevelError, record.LevelFatal}, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s UTC [%d] %s:  %s`, fmtTime(t.UTC(), "2006-01-02 15:04:05.000"), r.IntN(9999), l, m)
	}},
	{format: "mysql", levels: []string{"System", "Warning", "ERROR"}, lvls: []record.Level{record.LevelInfo, record.LevelWarn, record.LevelError}, prec: time.Microsecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%s %d [%s] [MY-0%05d] [Server] %s`, fmtTime(t.UTC(), "2006-01-02T15:04:05.000000Z"), r.IntN(99), l, r.IntN(99999), m)
	}},
	{format: "redis", levels: []string{".", "*", "#"}, lvls: []record.Level{record.LevelDebug, record.LevelInfo, record.LevelWarn}, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`%d:M %s %s %s`, r.IntN(99), fmtTime(t, "02 Jan 2006 15:04:05.000"), l, m)
	}},
	{format: "kafka", levels: lvUpper, lvls: lvAll, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`[%s] %s [Broker id=%d] %s (kafka.server.Broker)`, fmtTime(t, "2006-01-02 15:04:05,000"), l, r.IntN(9), m)
	}},
	{format: "elasticsearch", levels: lvUpper[:5], lvls: lvAll[:5], prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`[%s][%-5s][o.e.n.Node%d] [node-%d] %s`, fmtTime(t, "2006-01-02T15:04:05,000"), l, r.IntN(9), r.IntN(9), m)
	}},
	{format: "envoy", levels: []string{"trace", "debug", "info", "warning", "error", "critical"}, lvls: lvAll, prec: time.Millisecond, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`[%s][%d][%s][main] [source/server/server.cc:%d] %s`, fmtTime(t, "2006-01-02 15:04:05.000"), r.IntN(99), l, r.IntN(999), m)
	}},
	{format: "coredns", levels: []string{"INFO", "WARNING", "ERROR"}, lvls: []record.Level{record.LevelInfo, record.LevelWarn, record.LevelError}, gen: func(_ time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`[%s] plugin/errors%d: %s`, l, r.IntN(9), m)
	}},
	{format: "learned", levels: lvUpper, lvls: lvAll, prec: time.Second, gen: func(t time.Time, l, m string, r *rand.Rand) string {
		return fmt.Sprintf(`[%s] [%s] %s`, fmtTime(t, "2006-01-02 15:04:05"), l, m)
	}},
	{format: "plain", levels: []string{""}, lvls: lvNone, gen: func(_ time.Time, _, m string, r *rand.Rand) string {
		return fmt.Sprintf("%s (%d)", strings.TrimPrefix(strings.TrimPrefix(m, "error: "), "[WARN] "), r.IntN(99))
	}},
}

// labelledCorpus generates n lines over every generator, deterministic.
func labelledCorpus(n int) []labelled {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]labelled, 0, n)
	for i := 0; i < n; i++ {
		g := generators[i%len(generators)]
		span := 30 * 24 * time.Hour
		t := testNow.Add(time.Duration(r.Int64N(int64(2*span))) - span)
		if g.noYear {
			// A year-less time is never more than a day after the clock:
			// up to 300 days back, or a few hours ahead (clock skew).
			t = testNow.Add(12*time.Hour - time.Duration(r.Int64N(int64(300*24*time.Hour))))
		}
		if g.prec > 0 {
			t = t.Truncate(g.prec)
		} else {
			t = time.Time{}
		}
		k := r.IntN(len(g.levels))
		msg := accuracyMessages[r.IntN(len(accuracyMessages))]
		out = append(out, labelled{line: g.gen(t, g.levels[k], msg, r), format: g.format, level: g.lvls[k], time: t})
	}
	return out
}

// TestAccuracy parses a labelled corpus of many formats through one
// auto-detecting stream and requires the format, level and time to be right
// for at least 99% of the lines.
func TestAccuracy(t *testing.T) {
	corpus := labelledCorpus(5200)
	s := newTestStream(t, nil)
	var recs []record.Record
	for _, l := range corpus {
		recs = append(recs, s.Feed([]byte(l.line), record.Position{}, false, testNow)...)
	}
	recs = append(recs, s.FlushAll(testNow)...)
	if len(recs) != len(corpus) {
		t.Fatalf("%d lines gave %d records", len(corpus), len(recs))
	}
	right := 0
	wrong := map[string]int{}
	for i, l := range corpus {
		r := recs[i]
		ok := r.Format == l.format && r.Level() == l.level && r.Time.Equal(l.time)
		if ok {
			right++
			continue
		}
		if wrong[l.format] < 3 {
			t.Logf("%s: got format %s level %s time %v, want level %s time %v\n\t%s", l.format, r.Format, r.Level(), r.Time, l.level, l.time, l.line)
		}
		wrong[l.format]++
	}
	pct := 100 * float64(right) / float64(len(corpus))
	t.Logf("accuracy: %d/%d lines = %.2f%% (format, level and time all right); wrong by format: %v", right, len(corpus), pct, wrong)
	if pct < 99 {
		t.Fatalf("accuracy %.2f%% < 99%%", pct)
	}
}
