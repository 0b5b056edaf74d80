package parsers

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/obsadapter/obsadapter/record"
)

func TestMultilineYAML(t *testing.T) {
	tests := []struct {
		name, in string
		want     Multiline
		err      string
	}{
		{"auto", `multiline: auto`, Multiline{Mode: MultilineAuto}, ""},
		{"off", `multiline: off`, Multiline{Mode: MultilineOff}, ""},
		{"start", `multiline: {start: '^\d{4}-'}`, Multiline{Mode: MultilineStart, Start: `^\d{4}-`}, ""},
		{"bad word", `multiline: sometimes`, Multiline{}, `multiline must be auto, off or {start: REGEX}, not "sometimes"`},
		{"bad key", `multiline: {begin: x}`, Multiline{}, "exactly one key, start"},
		{"list", `multiline: [a]`, Multiline{}, "multiline must be auto, off or {start: REGEX}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				Multiline Multiline `yaml:"multiline"`
			}
			err := yaml.Unmarshal([]byte(tt.in), &v)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || v.Multiline != tt.want {
				t.Fatalf("got %+v, %v", v.Multiline, err)
			}
			out, err := yaml.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var back struct {
				Multiline Multiline `yaml:"multiline"`
			}
			if err := yaml.Unmarshal(out, &back); err != nil || back.Multiline != tt.want {
				t.Fatalf("round trip %q gave %+v, %v", out, back.Multiline, err)
			}
		})
	}
}

func TestRegexFormat(t *testing.T) {
	s := newTestStream(t, func(c *Config) {
		c.Format = "regex"
		c.Regex = `^(?P<time>\S+ \S+) <(?P<level>\w+)> (?P<component>\w+): (?P<message>.*)$`
		c.TimeLayout = "02/01/2006 15:04:05"
		c.Multiline = Multiline{Mode: MultilineOff}
	})
	recs := s.Feed([]byte("23/11/2026 20:31:02 <Warning> disk: almost full"), record.Position{}, false, testNow)
	if len(recs) != 1 {
		t.Fatalf("got %d records", len(recs))
	}
	got := string(recs[0].AppendJSON(nil))
	want := `{"time":"2026-11-23T20:31:02Z",` + obs + `,"level":"warn","severity":13,"message":"almost full","format":"regex","source":"app","path":"/var/log/app.log","fields":{"component":"disk"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	recs = s.Feed([]byte("no match"), record.Position{}, false, testNow)
	if len(recs) != 1 || recs[0].Format != "plain" || s.Stats().ParseFailures != 1 {
		t.Fatalf("non-matching line: %+v, stats %+v", recs, s.Stats())
	}
}

func TestStickyAndRedetect(t *testing.T) {
	lines := []string{
		`level=info msg=a`, `level=info msg=b`, `level=info msg=c`, `level=info msg=d`,
		`{"level":"warn","msg":"e"}`,
		`level=error msg=f`,
		`2026/11/23 20:31:02 [error] 1#1: g`,
	}
	s := newTestStream(t, func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} })
	var formats []string
	for _, l := range lines {
		for _, r := range s.Feed([]byte(l), record.Position{}, false, testNow) {
			formats = append(formats, r.Format)
		}
	}
	want := "logfmt logfmt logfmt logfmt json logfmt nginx_error"
	if got := strings.Join(formats, " "); got != want {
		t.Fatalf("formats %s, want %s", got, want)
	}
	if d := s.subs[streamNone].det; formatIndex("nginx_error") != d.last || d.run != 1 {
		t.Fatalf("detector state %+v after re-detection", d)
	}
}

func TestYearInference(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		line string
		want time.Time
	}{
		{"december line read in january", time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC), "<13>Dec 31 23:59:59 h app: x", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"january line read in december", time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC), "<13>Jan  1 00:10:00 h app: x", time.Date(2027, 1, 1, 0, 10, 0, 0, time.UTC)},
		{"klog same year", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), "I0531 23:00:00.000000 1 a.go:1] x", time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStream(t, func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} })
			recs := s.Feed([]byte(tt.line), record.Position{}, false, tt.now)
			if len(recs) != 1 || !recs[0].Time.Equal(tt.want) {
				t.Fatalf("got %+v, want time %v", recs, tt.want)
			}
		})
	}
}

func TestAccessLogLevels(t *testing.T) {
	lines := []string{
		`10.0.0.1 - - [23/Nov/2026:20:31:02 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"`,
		`10.0.0.1 - - [23/Nov/2026:20:31:02 +0000] "GET /x HTTP/1.1" 404 5 "-" "curl"`,
		`[2026-11-23T20:31:07.000Z] "POST /pay HTTP/2" 503 UF 0 0 3 - "-" "curl" "id" "pay" "-"`,
	}
	for _, on := range []bool{false, true} {
		s := newTestStream(t, func(c *Config) { c.AccessLogLevels = on; c.Multiline = Multiline{Mode: MultilineOff} })
		var got []string
		for _, l := range lines {
			for _, r := range s.Feed([]byte(l), record.Position{}, false, testNow) {
				got = append(got, r.Level().String())
			}
		}
		want := "  "
		if on {
			want = "info warn error"
		}
		if strings.Join(got, " ") != want {
			t.Errorf("access_log_levels=%v: levels %q, want %q", on, strings.Join(got, " "), want)
		}
	}
}

func TestTimezone(t *testing.T) {
	s := newTestStream(t, func(c *Config) { c.Timezone = "Europe/Berlin"; c.Multiline = Multiline{Mode: MultilineOff} })
	recs := s.Feed([]byte("2026-07-01 12:00:00,000 - app - INFO - summer"), record.Position{}, false, testNow)
	if want := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC); len(recs) != 1 || !recs[0].Time.Equal(want) {
		t.Fatalf("got %+v, want %v", recs, want)
	}
	// An explicit zone wins over the configured one.
	recs = s.Feed([]byte(`{"time":"2026-07-01T12:00:00Z","msg":"utc"}`), record.Position{}, false, testNow)
	if want := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC); len(recs) != 1 || !recs[0].Time.Equal(want) {
		t.Fatalf("got %+v, want %v", recs, want)
	}
}

func TestLevelWords(t *testing.T) {
	tests := map[string]record.Level{
		"TRACE": record.LevelTrace, "finest": record.LevelTrace, "FINE": record.LevelDebug, "Debug": record.LevelDebug,
		"info": record.LevelInfo, "NOTICE": record.LevelInfo, "Warning": record.LevelWarn, "WARN": record.LevelWarn,
		"err": record.LevelError, "SEVERE": record.LevelError, "CRITICAL": record.LevelFatal, "crit": record.LevelFatal,
		"alert": record.LevelFatal, "emerg": record.LevelFatal, "panic": record.LevelFatal, "dpanic": record.LevelError,
		"30": record.LevelInfo, "50": record.LevelError, "60": record.LevelFatal, "3": record.LevelError, "6": record.LevelInfo,
	}
	for word, want := range tests {
		sev, ok := levelString(word)
		if !ok || sev.Level() != want {
			t.Errorf("levelString(%q) = %d (%s), %v; want %s", word, sev, sev.Level(), ok, want)
		}
	}
	for _, bad := range []string{"", "informative", "99", "x"} {
		if _, ok := levelString(bad); ok {
			t.Errorf("levelString(%q) accepted", bad)
		}
	}
	letters := map[byte]record.Level{'V': record.LevelTrace, 'D': record.LevelDebug, 'I': record.LevelInfo, 'W': record.LevelWarn, 'E': record.LevelError, 'F': record.LevelFatal}
	for c, want := range letters {
		if sev, ok := levelLetter(c); !ok || sev.Level() != want {
			t.Errorf("levelLetter(%c) = %d", c, sev)
		}
	}
}

func TestMaxRecordBytes(t *testing.T) {
	s := newTestStream(t, func(c *Config) { c.MaxRecordBytes = 1024 })
	s.Feed([]byte("level=error msg=boom"), record.Position{}, false, testNow)
	frame := "\tat com.example.Frame.method(Frame.java:123)"
	for i := 0; i < 100; i++ {
		s.Feed([]byte(frame), record.Position{Offset: int64(i)}, false, testNow)
	}
	recs := s.FlushAll(testNow)
	if len(recs) != 1 || !recs[0].Truncated || len(recs[0].Message) > 1024 || recs[0].Pos.Offset != 99 {
		t.Fatalf("got %d records, truncated=%v, %d bytes, pos %d", len(recs), recs[0].Truncated, len(recs[0].Message), recs[0].Pos.Offset)
	}
	if st := s.Stats(); st.Truncated != 1 || st.Multiline != 1 || st.Lines != 101 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTimeParsers(t *testing.T) {
	utc := time.UTC
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-23T20:31:02Z", time.Date(2026, 11, 23, 20, 31, 2, 0, utc)},
		{"2026-11-23T20:31:02.123456789+01:00", time.Date(2026, 11, 23, 19, 31, 2, 123456789, utc)},
		{"2026-11-23 20:31:02,5", time.Date(2026, 11, 23, 20, 31, 2, 500000000, utc)},
		{"2026/11/23 20:31:02", time.Date(2026, 11, 23, 20, 31, 2, 0, utc)},
		{"2026-11-23T20:31:02-0530", time.Date(2026, 11, 24, 2, 1, 2, 0, utc)},
		{"1795466662", time.Date(2026, 11, 23, 20, 44, 22, 0, utc)},
		{"1795466662.25", time.Date(2026, 11, 23, 20, 44, 22, 250000000, utc)},
		{"1795466662250", time.Date(2026, 11, 23, 20, 44, 22, 250000000, utc)},
		{"1795466662250000000", time.Date(2026, 11, 23, 20, 44, 22, 250000000, utc)},
		{"23/Nov/2026:20:31:02 +0100", time.Date(2026, 11, 23, 19, 31, 2, 0, utc)},
		{"Nov 23 20:31:02", time.Date(2026, 11, 23, 20, 31, 2, 0, utc)},
	}
	for _, tt := range tests {
		got, ok := looseTime(tt.in, utc, testNow)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("looseTime(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z", "yesterday", "", "2026-11-23"} {
		if got, ok := looseTime(bad, utc, testNow); ok {
			t.Errorf("looseTime(%q) = %v, want failure", bad, got)
		}
	}
}

// TestClockAt checks the hand-made calendar arithmetic against time.Date.
func TestClockAt(t *testing.T) {
	for y := 1970; y <= 2400; y += 7 {
		for m := 1; m <= 12; m++ {
			for _, d := range []int{1, 15, 28, 29, 30, 31} {
				c := clock{year: y, month: m, day: d, hour: 23, min: 59, sec: 59, nsec: 999}
				for _, off := range []int{0, 3600, -19800} {
					want := time.Date(y, time.Month(m), d, 23, 59, 59, 999, time.UTC).Add(-time.Duration(off) * time.Second)
					if got := c.at(off); !got.Equal(want) {
						t.Fatalf("%+v at %d = %v, want %v", c, off, got, want)
					}
				}
			}
		}
	}
}

// TestInferYear checks the one rule for year-less times: the latest year
// that does not put the time more than a day after the reading clock.
func TestInferYear(t *testing.T) {
	ist := time.FixedZone("ist", 19800)
	cases := []struct {
		name string
		now  time.Time
		loc  *time.Location
		c    clock
		want time.Time
	}{
		{"earlier this year", time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), time.UTC,
			clock{month: 3, day: 17, hour: 16, min: 13, sec: 38}, time.Date(2026, 3, 17, 16, 13, 38, 0, time.UTC)},
		{"a week ahead is last year", time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), time.UTC,
			clock{month: 12, day: 10, hour: 8}, time.Date(2025, 12, 10, 8, 0, 0, 0, time.UTC)},
		{"within a day ahead is this year", time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), time.UTC,
			clock{month: 12, day: 4, hour: 11}, time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)},
		{"just over a day ahead is last year", time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), time.UTC,
			clock{month: 12, day: 4, hour: 12, sec: 1}, time.Date(2025, 12, 4, 12, 0, 1, 0, time.UTC)},
		{"new year: December read in January", time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC), time.UTC,
			clock{month: 12, day: 31, hour: 23, min: 59, sec: 59}, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"new year: January read in January", time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC), time.UTC,
			clock{month: 1, day: 1, hour: 0, min: 10}, time.Date(2027, 1, 1, 0, 10, 0, 0, time.UTC)},
		{"new year: January read minutes before it", time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC), time.UTC,
			clock{month: 1, day: 1, hour: 0, min: 5}, time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC)},
		{"new year: mid-January read in December", time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC), time.UTC,
			clock{month: 1, day: 15}, time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)},
		{"new year: late December read in December", time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC), time.UTC,
			clock{month: 12, day: 31, hour: 23, min: 59}, time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"the zone's year, not UTC's", time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC), ist,
			clock{month: 1, day: 1, hour: 1}, time.Date(2027, 1, 1, 1, 0, 0, 0, ist)},
		{"leap day in a leap year", time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), time.UTC,
			clock{month: 2, day: 29, hour: 12}, time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.inferYear(tc.loc, tc.now)
			if !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Exhaustively: never more than a day after the clock, never more
	// than a year before it.
	for _, now := range []time.Time{time.Date(2027, 1, 1, 0, 30, 0, 0, time.UTC), time.Date(2026, 12, 31, 23, 50, 0, 0, time.UTC), time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)} {
		for m := 1; m <= 12; m++ {
			for d := 1; d <= daysIn(2026, m); d++ {
				got := clock{month: m, day: d, hour: 12}.inferYear(time.UTC, now)
				if got.Sub(now) > 24*time.Hour || now.Sub(got) > 366*24*time.Hour {
					t.Fatalf("now %v: %d-%d got %v", now, m, d, got)
				}
			}
		}
	}
}

func TestMonthNames(t *testing.T) {
	for i, name := range []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if m, ok := month("x"+name, 1); !ok || m != i+1 {
			t.Errorf("month(%q) = %d, %v", name, m, ok)
		}
	}
	for _, bad := range []string{"jan", "JAN", "Ja", "Jux", "Sept"[:2], "Nop", ""} {
		if m, ok := month(bad, 0); ok {
			t.Errorf("month(%q) = %d, want no month", bad, m)
		}
	}
}

func TestJSONKeyRole(t *testing.T) {
	tests := []struct {
		key  string
		role jsonRole
		rank int
	}{
		{"level", roleLevel, 0}, {"LEVEL", roleLevel, 0}, {"Log.Level", roleLevel, 0}, {"@l", roleLevel, 1},
		{"severity_text", roleLevel, 1}, {"msg", roleMessage, 0}, {"@m", roleMessage, 0}, {"@mt", roleMessage, 1},
		{"Event", roleMessage, 1}, {"ts", roleTime, 0}, {"@timestamp", roleTime, 0}, {"timeMillis", roleTime, 1},
		{"t", roleTime, 1}, {"time_iso8601", roleTime, 1},
		{"", roleNone, 0}, {"tags", roleNone, 0}, {"error", roleNone, 0}, {"levels", roleNone, 0},
		{"`t", roleNone, 0}, {"timestamp_ms_and_more", roleNone, 0}, {"méssage", roleNone, 0},
	}
	for _, tt := range tests {
		if role, rank := jsonKeyRole(tt.key); role != tt.role || role != roleNone && rank != tt.rank {
			t.Errorf("jsonKeyRole(%q) = %d, %d; want %d, %d", tt.key, role, rank, tt.role, tt.rank)
		}
	}
}

func TestAtoi(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"0", 0, true},
		{"200", 200, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"9999999999999999999", 0, false},
		{"10000000000000000000", 0, false},
		{"", 0, false},
		{"12a", 0, false},
		{"-1", 0, false},
	}
	for _, tt := range tests {
		if got, ok := atoi(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("atoi(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFraction(t *testing.T) {
	tests := []struct {
		in        string
		nsec, end int
	}{
		{".5Z", 500000000, 2},
		{",123", 123000000, 4},
		{".123456789", 123456789, 10},
		{".1234567891234 x", 123456789, 14}, // digits past nanoseconds are read, not kept
		{".Z", 0, 0},
		{"Z", 0, 0},
		{"", 0, 0},
	}
	for _, tt := range tests {
		if nsec, end := fraction(tt.in, 0); nsec != tt.nsec || end != tt.end {
			t.Errorf("fraction(%q) = %d, %d; want %d, %d", tt.in, nsec, end, tt.nsec, tt.end)
		}
	}
}

// TestScratchKeepsNoStaleFields: the scratch stack lives as long as the
// stream; a field left behind by a parser that rejected its line would keep
// a whole block of records' text alive.
func TestScratchKeepsNoStaleFields(t *testing.T) {
	lines := []string{
		`{"level":"info","a":{"b":1,"c":[1,2,3]},"d":"x",`, // JSON cut short
		`{"msg":"x","a":1} trailing`,
		`<165>1 2026-11-23T20:31:02Z host app 1 ID [a x="1" y="2"][b z="3"`, // unclosed structured data
		`2026-11-23 20:31:02.123 UTC [1] user@db LOG:`,
		`ts=2026-11-23T20:31:02Z level=info msg="unterminated`,
		`10.0.0.1 - - [23/Nov/2026:20:31:02 +0000] "GET / HTTP/1.1" 200`,
	}
	for _, format := range []string{"", "json", "syslog", "postgres", "logfmt"} {
		s := newTestStream(t, func(c *Config) { c.Format = format })
		for _, l := range lines {
			s.Feed([]byte(l), record.Position{}, false, testNow)
		}
		s.FlushAll(testNow)
		if n := len(s.p.fields); n != 0 {
			t.Errorf("format %q: %d fields left on the scratch stack", format, n)
		}
		for i, f := range s.p.fields[:cap(s.p.fields)] {
			if f != (record.Field{}) {
				t.Errorf("format %q: stale scratch field %d: %q", format, i, f.Key)
			}
		}
	}
}
