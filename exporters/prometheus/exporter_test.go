package prometheus

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

var t0 = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

func f(k string, v record.Value) record.Field { return record.Field{Key: k, Value: v} }

func str(s string) record.Value           { return record.StringValue(s) }
func num(i int64) record.Value            { return record.IntValue(i) }
func flt(x float64) record.Value          { return record.FloatValue(x) }
func obj(fs ...record.Field) record.Value { return record.ObjectValue(fs) }

func rec(source, format string, sev record.Severity, fields ...record.Field) record.Record {
	return record.Record{ObservedTime: t0, Source: source, Format: format, Severity: sev, Fields: fields}
}

// newTestExporter builds an exporter on a fresh registry with a fake clock.
func newTestExporter(t *testing.T, cfg Config) (*Exporter, *prometheus.Registry, *clocktest.Fake) {
	t.Helper()
	reg := prometheus.NewRegistry()
	clk := clocktest.New(t0)
	e, err := New(cfg, exporters.Deps{Registerer: reg, Clock: clk})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e, reg, clk
}

func export(t *testing.T, e *Exporter, recs ...record.Record) {
	t.Helper()
	if err := e.Export(context.Background(), recs); err != nil {
		t.Fatalf("Export: %v", err)
	}
}

func TestBuiltinMetrics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTPRequestDurationBuckets = []float64{0.1, 0.5, 1}
	e, reg, _ := newTestExporter(t, cfg)

	late := rec("web", "logfmt", record.SeverityWarn, f("status", str("200")), f("method", str("GET")))
	late.ObservedTime = t0.Add(1500 * time.Millisecond)
	late.Truncated = true
	export(t, e,
		rec("app", "json", record.SeverityInfo),
		rec("app", "json", record.SeverityError+1, f("exception", obj(f("type", str("java.io.IOException"))))),
		rec("app", "json", record.SeverityError, f("exception.type", str("java.io.IOException"))),
		rec("app", "clf", 0, f("method", str("GET")), f("status", num(200)), f("duration_seconds", flt(0.2))),
		rec("app", "clf", 0, f("method", str("get")), f("status", num(503)), f("duration_seconds", num(1))),
		rec("app", "clf", 0, f("method", str("BREW")), f("status", num(418))),
		rec("app", "clf", 0, f("method", str("POST")), f("status", num(700)), f("duration_seconds", str("1s"))),
		late, // a string status is not an access log
	)

	want := `
# HELP obsadapter_exceptions_total Records carrying an exception, by exception type; types beyond max_exception_types count as other.
# TYPE obsadapter_exceptions_total counter
obsadapter_exceptions_total{source="app",type="java.io.IOException"} 2
# HELP obsadapter_http_request_duration_seconds Request durations seen in access logs that carry duration_seconds.
# TYPE obsadapter_http_request_duration_seconds histogram
obsadapter_http_request_duration_seconds_bucket{source="app",le="0.1"} 0
obsadapter_http_request_duration_seconds_bucket{source="app",le="0.5"} 1
obsadapter_http_request_duration_seconds_bucket{source="app",le="1"} 2
obsadapter_http_request_duration_seconds_bucket{source="app",le="+Inf"} 2
obsadapter_http_request_duration_seconds_sum{source="app"} 1.2
obsadapter_http_request_duration_seconds_count{source="app"} 2
# HELP obsadapter_http_requests_total Requests seen in access logs (records with an integer status and a method), by method and status class.
# TYPE obsadapter_http_requests_total counter
obsadapter_http_requests_total{method="GET",source="app",status_class="2xx"} 1
obsadapter_http_requests_total{method="GET",source="app",status_class="5xx"} 1
obsadapter_http_requests_total{method="OTHER",source="app",status_class="4xx"} 1
obsadapter_http_requests_total{method="POST",source="app",status_class="other"} 1
# HELP obsadapter_last_record_timestamp_seconds Unix time at which the source's most recent record was read.
# TYPE obsadapter_last_record_timestamp_seconds gauge
obsadapter_last_record_timestamp_seconds{source="app"} 1.795464e+09
obsadapter_last_record_timestamp_seconds{source="web"} 1.7954640015e+09
# HELP obsadapter_lines_truncated_total Records cut at max_line_bytes, the multiline size bound, or because their escaped JSON would exceed max_record_bytes.
# TYPE obsadapter_lines_truncated_total counter
obsadapter_lines_truncated_total{source="app"} 0
obsadapter_lines_truncated_total{source="web"} 1
# HELP obsadapter_metric_series_overflow_total Updates dropped because a metric reached its series bound (max_series, or max_exception_types for obsadapter_exceptions_total, whose overflow counts as type other).
# TYPE obsadapter_metric_series_overflow_total counter
obsadapter_metric_series_overflow_total{metric="obsadapter_exceptions_total"} 0
# HELP obsadapter_records_total Log records read, by source, detected format and level (none when the line states no level).
# TYPE obsadapter_records_total counter
obsadapter_records_total{format="clf",level="none",source="app"} 4
obsadapter_records_total{format="json",level="error",source="app"} 2
obsadapter_records_total{format="json",level="info",source="app"} 1
obsadapter_records_total{format="logfmt",level="warn",source="web"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestExceptionTypesBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxExceptionTypes = 2
	e, reg, _ := newTestExporter(t, cfg)
	for _, typ := range []string{"A", "B", "C", "A", "D", "B"} {
		export(t, e, rec("app", "json", 0, f("exception.type", str(typ))))
	}
	export(t, e, rec("other-src", "json", 0, f("exception.type", str("C"))))
	want := `
# HELP obsadapter_exceptions_total Records carrying an exception, by exception type; types beyond max_exception_types count as other.
# TYPE obsadapter_exceptions_total counter
obsadapter_exceptions_total{source="app",type="A"} 2
obsadapter_exceptions_total{source="app",type="B"} 2
obsadapter_exceptions_total{source="app",type="other"} 2
obsadapter_exceptions_total{source="other-src",type="other"} 1
# HELP obsadapter_metric_series_overflow_total Updates dropped because a metric reached its series bound (max_series, or max_exception_types for obsadapter_exceptions_total, whose overflow counts as type other).
# TYPE obsadapter_metric_series_overflow_total counter
obsadapter_metric_series_overflow_total{metric="obsadapter_exceptions_total"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), nameExceptions, nameSeriesOverflow); err != nil {
		t.Error(err)
	}
}

func TestRules(t *testing.T) {
	access := func(method string, status int64, extra ...record.Field) record.Record {
		return rec("nginx", "clf", 0, append([]record.Field{f("method", str(method)), f("status", num(status))}, extra...)...)
	}
	tests := []struct {
		name  string
		rules []MetricRule
		recs  []record.Record
		want  string
	}{
		{
			name: "counter with record-key and field labels and an anchored field match",
			rules: []MetricRule{{
				Name: "app_requests_total", Help: "Requests.", Type: TypeCounter,
				Match:  Match{Source: []string{"nginx"}, Fields: map[string]string{"status": "5..", "method": "GET|POST"}},
				Labels: map[string]string{"code": "status", "src": "source", "verb": "method"},
			}},
			recs: []record.Record{
				access("GET", 500), access("GET", 500), access("POST", 503),
				access("GET", 200),  // status does not match
				access("GETX", 500), // "GET" must match the whole value
				access("PUT", 500),  // method does not match
				rec("app", "clf", 0, f("method", str("GET")), f("status", num(500))), // source does not match
			},
			want: `
# HELP app_requests_total Requests.
# TYPE app_requests_total counter
app_requests_total{code="500",src="nginx",verb="GET"} 2
app_requests_total{code="503",src="nginx",verb="POST"} 1
`,
		},
		{
			name: "counter adding a scaled value, invalid values counted",
			rules: []MetricRule{{
				Name: "app_response_kilobytes_total", Type: TypeCounter, Value: "bytes", ValueScale: 0.001,
				Match: Match{Format: []string{"clf"}},
			}},
			recs: []record.Record{
				access("GET", 200, f("bytes", num(1500))),
				access("GET", 200, f("bytes", str("500"))),
				access("GET", 200, f("bytes", num(-1))),      // negative: a counter cannot go down
				access("GET", 200, f("bytes", str("lots"))),  // not a number
				access("GET", 200),                           // missing
				rec("x", "json", 0, f("bytes", num(100000))), // format does not match
			},
			want: `
# HELP app_response_kilobytes_total Derived from logs by the exporters.prometheus.metrics rule app_response_kilobytes_total.
# TYPE app_response_kilobytes_total counter
app_response_kilobytes_total 2
# HELP obsadapter_metric_value_invalid_total Records matched by a metric rule whose value field was missing, not a number or duration, or negative for a counter.
# TYPE obsadapter_metric_value_invalid_total counter
obsadapter_metric_value_invalid_total{metric="app_response_kilobytes_total"} 3
`,
		},
		{
			name: "gauge set from durations and numbers, last value wins",
			rules: []MetricRule{{
				Name: "app_queue_wait_seconds", Help: "Queue wait.", Type: TypeGauge, Value: "wait",
				Labels: map[string]string{"queue": "job.queue"},
			}},
			recs: []record.Record{
				rec("app", "json", 0, f("job", obj(f("queue", str("mail")))), f("wait", str("1.5s"))),
				rec("app", "json", 0, f("job", obj(f("queue", str("mail")))), f("wait", str("12ms"))),
				rec("app", "json", 0, f("job", obj(f("queue", str("sms")))), f("wait", flt(0.25))),
				rec("app", "json", 0, f("wait", num(3))), // no queue: empty label
			},
			want: `
# HELP app_queue_wait_seconds Queue wait.
# TYPE app_queue_wait_seconds gauge
app_queue_wait_seconds{queue=""} 3
app_queue_wait_seconds{queue="mail"} 0.012
app_queue_wait_seconds{queue="sms"} 0.25
# HELP obsadapter_metric_value_invalid_total Records matched by a metric rule whose value field was missing, not a number or duration, or negative for a counter.
# TYPE obsadapter_metric_value_invalid_total counter
obsadapter_metric_value_invalid_total{metric="app_queue_wait_seconds"} 0
`,
		},
		{
			name: "histogram with classic buckets and a level filter",
			rules: []MetricRule{{
				Name: "app_job_duration_seconds", Help: "Job durations.", Type: TypeHistogram, Value: "took",
				Buckets: []float64{0.01, 0.1, 1}, Match: Match{MinLevel: "warn"},
				Labels: map[string]string{"level": "level"},
			}},
			recs: []record.Record{
				rec("app", "json", record.SeverityWarn, f("took", str("5ms"))),
				rec("app", "json", record.SeverityWarn, f("took", flt(0.05))),
				rec("app", "json", record.SeverityError, f("took", str("2s"))),
				rec("app", "json", record.SeverityInfo, f("took", flt(0.5))), // below min_level
				rec("app", "json", 0, f("took", flt(0.5))),                   // no level
			},
			want: `
# HELP app_job_duration_seconds Job durations.
# TYPE app_job_duration_seconds histogram
app_job_duration_seconds_bucket{level="error",le="0.01"} 0
app_job_duration_seconds_bucket{level="error",le="0.1"} 0
app_job_duration_seconds_bucket{level="error",le="1"} 0
app_job_duration_seconds_bucket{level="error",le="+Inf"} 1
app_job_duration_seconds_sum{level="error"} 2
app_job_duration_seconds_count{level="error"} 1
app_job_duration_seconds_bucket{level="warn",le="0.01"} 1
app_job_duration_seconds_bucket{level="warn",le="0.1"} 2
app_job_duration_seconds_bucket{level="warn",le="1"} 2
app_job_duration_seconds_bucket{level="warn",le="+Inf"} 2
app_job_duration_seconds_sum{level="warn"} 0.055
app_job_duration_seconds_count{level="warn"} 2
# HELP obsadapter_metric_value_invalid_total Records matched by a metric rule whose value field was missing, not a number or duration, or negative for a counter.
# TYPE obsadapter_metric_value_invalid_total counter
obsadapter_metric_value_invalid_total{metric="app_job_duration_seconds"} 0
`,
		},
		{
			name: "level list with none, and a field named like a record key",
			rules: []MetricRule{{
				Name: "app_lines_total", Type: TypeCounter, Help: "Lines.",
				Match:  Match{Level: []string{"none", "error"}},
				Labels: map[string]string{"lvl": "level", "raw_level": "fields.level", "stream": "stream"},
			}},
			recs: []record.Record{
				func() record.Record {
					r := rec("app", "text", 0, f("level", str("weird")))
					r.Stream = "stderr"
					return r
				}(),
				rec("app", "json", record.SeverityError, f("level", str("ERR"))),
				rec("app", "json", record.SeverityInfo, f("level", str("INFO"))),
			},
			want: `
# HELP app_lines_total Lines.
# TYPE app_lines_total counter
app_lines_total{lvl="error",raw_level="ERR",stream=""} 1
app_lines_total{lvl="none",raw_level="weird",stream="stderr"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Metrics = tt.rules
			e, reg, _ := newTestExporter(t, cfg)
			export(t, e, tt.recs...)
			names := []string{nameValueInvalid}
			for _, r := range tt.rules {
				names = append(names, r.Name)
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(tt.want), names...); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRuleExpiry(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{{
		Name: "app_user_logins_total", Help: "Logins.", Type: TypeCounter,
		Labels: map[string]string{"user": "user"}, ExpireAfter: time.Minute,
	}}
	e, reg, clk := newTestExporter(t, cfg)
	login := func(user string) record.Record { return rec("app", "json", 0, f("user", str(user))) }
	check := func(want string) {
		t.Helper()
		head := "# HELP app_user_logins_total Logins.\n# TYPE app_user_logins_total counter\n"
		if want == "" {
			head = ""
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(head+want), "app_user_logins_total"); err != nil {
			t.Error(err)
		}
	}

	export(t, e, login("alice"), login("bob"))
	clk.Advance(30 * time.Second)
	export(t, e, login("alice"))
	check("app_user_logins_total{user=\"alice\"} 2\napp_user_logins_total{user=\"bob\"} 1\n")

	clk.Advance(30 * time.Second) // bob last updated 60s ago
	check("app_user_logins_total{user=\"alice\"} 2\n")

	clk.Advance(30 * time.Second) // alice last updated 60s ago
	check("")

	export(t, e, login("bob")) // an expired series starts afresh
	check("app_user_logins_total{user=\"bob\"} 1\n")
}

func TestRuleMaxSeries(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{{
		Name: "app_paths_total", Help: "Paths.", Type: TypeCounter,
		Labels: map[string]string{"path": "path"}, MaxSeries: 2, ExpireAfter: time.Minute,
	}}
	e, reg, clk := newTestExporter(t, cfg)
	hit := func(p string) record.Record { return rec("app", "clf", 0, f("path", str(p))) }

	export(t, e, hit("/a"), hit("/b"), hit("/c"), hit("/a"), hit("/d"))
	want := `
# HELP app_paths_total Paths.
# TYPE app_paths_total counter
app_paths_total{path="/a"} 2
app_paths_total{path="/b"} 1
# HELP obsadapter_metric_series_overflow_total Updates dropped because a metric reached its series bound (max_series, or max_exception_types for obsadapter_exceptions_total, whose overflow counts as type other).
# TYPE obsadapter_metric_series_overflow_total counter
obsadapter_metric_series_overflow_total{metric="app_paths_total"} 2
obsadapter_metric_series_overflow_total{metric="obsadapter_exceptions_total"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "app_paths_total", nameSeriesOverflow); err != nil {
		t.Error(err)
	}

	// Once /b has expired, a new path takes its place without waiting for a scrape.
	clk.Advance(30 * time.Second)
	export(t, e, hit("/a"))
	clk.Advance(30 * time.Second)
	export(t, e, hit("/c"), hit("/d"))
	want = `
# HELP app_paths_total Paths.
# TYPE app_paths_total counter
app_paths_total{path="/a"} 3
app_paths_total{path="/c"} 1
# HELP obsadapter_metric_series_overflow_total Updates dropped because a metric reached its series bound (max_series, or max_exception_types for obsadapter_exceptions_total, whose overflow counts as type other).
# TYPE obsadapter_metric_series_overflow_total counter
obsadapter_metric_series_overflow_total{metric="app_paths_total"} 3
obsadapter_metric_series_overflow_total{metric="obsadapter_exceptions_total"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "app_paths_total", nameSeriesOverflow); err != nil {
		t.Error(err)
	}
}

func TestNativeHistogram(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NativeHistogramBucketFactor = 1.1
	cfg.Metrics = []MetricRule{{Name: "app_took_seconds", Type: TypeHistogram, Value: "took"}}
	e, reg, _ := newTestExporter(t, cfg)
	export(t, e,
		rec("app", "json", 0, f("took", flt(0.2))),
		rec("app", "clf", 0, f("method", str("GET")), f("status", num(200)), f("duration_seconds", flt(0.3))),
	)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		if mf.GetName() != "app_took_seconds" && mf.GetName() != nameHTTPDuration {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if len(h.GetPositiveSpan()) == 0 || len(h.GetBucket()) == 0 {
			t.Errorf("%s: want native spans and classic buckets, got %v", mf.GetName(), h)
		}
		seen++
	}
	if seen != 2 {
		t.Errorf("found %d of 2 histograms", seen)
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		name string
		in   record.Value
		want float64
		ok   bool
	}{
		{"int", num(42), 42, true},
		{"float", flt(0.5), 0.5, true},
		{"numeric string", str(" 12.5 "), 12.5, true},
		{"exponent", str("1e3"), 1000, true},
		{"milliseconds", str("12ms"), 0.012, true},
		{"compound duration", str("1m30s"), 90, true},
		{"microseconds", str("250µs"), 0.00025, true},
		{"word", str("fast"), 0, false},
		{"empty", str(""), 0, false},
		{"NaN string", str("NaN"), 0, false},
		{"Inf string", str("+Inf"), 0, false},
		{"NaN float", flt(math.NaN()), 0, false},
		{"bool", record.BoolValue(true), 0, false},
		{"object", obj(), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := number(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("number(%v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestExportCanceled(t *testing.T) {
	e, reg, _ := newTestExporter(t, DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Export(ctx, record.Batch{rec("app", "json", 0)}); err == nil {
		t.Fatal("Export with a canceled context returned nil")
	}
	if n, _ := testutil.GatherAndCount(reg, nameRecords); n != 0 {
		t.Errorf("a refused batch was counted: %d series", n)
	}
}

func TestCloseUnregisters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{{Name: "app_x_total", Type: TypeCounter}}
	reg := prometheus.NewRegistry()
	e, err := New(cfg, exporters.Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, exporters.Deps{Registerer: reg}); err == nil {
		t.Fatal("a second exporter on the same registry registered the same metrics")
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, exporters.Deps{Registerer: reg}); err != nil {
		t.Fatalf("after Close, a new exporter (a reload) cannot register: %v", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{{Name: "9x", Type: TypeCounter}}
	_, err := New(cfg, exporters.Deps{})
	if err == nil || !strings.Contains(err.Error(), `metrics[0].name: "9x" is not a valid metric name`) {
		t.Fatalf("New: %v", err)
	}
}

// FuzzExport feeds log-controlled bytes into every place that becomes a label
// value or a number: nothing may panic and every scrape must succeed.
func FuzzExport(fz *testing.F) {
	fz.Add("GET", "java.lang.Error", "/index.html", "12ms", int64(200))
	fz.Add("\xff\xfe", "\x00\xff", "a\xffb", "NaN", int64(-1))
	fz.Fuzz(func(t *testing.T, method, exc, label, value string, status int64) {
		cfg := DefaultConfig()
		cfg.MaxExceptionTypes = 2
		cfg.Metrics = []MetricRule{
			{Name: "fz_total", Type: TypeCounter, Value: "v", Labels: map[string]string{"l": "label", "m": "method"}, MaxSeries: 3},
			{Name: "fz_gauge", Type: TypeGauge, Value: "v", Match: Match{Fields: map[string]string{"label": ".*"}}},
			{Name: "fz_seconds", Type: TypeHistogram, Value: "v", Labels: map[string]string{"e": "exception.type"}},
		}
		e, reg, _ := newTestExporter(t, cfg)
		r := rec(label, method, record.Severity(status), f("method", str(method)), f("status", num(status)),
			f("exception", obj(f("type", str(exc)))), f("label", str(label)), f("v", str(value)),
			f("duration_seconds", str(value)))
		export(t, e, r, r)
		if _, err := reg.Gather(); err != nil {
			t.Fatalf("Gather: %v", err)
		}
	})
}

// TestConcurrentExportAndScrape runs exports against scrapes that expire
// series, for the race detector.
func TestConcurrentExportAndScrape(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{{Name: "app_users_total", Type: TypeCounter, Labels: map[string]string{"user": "user"}, ExpireAfter: time.Nanosecond, MaxSeries: 5}}
	reg := prometheus.NewRegistry()
	e, err := New(cfg, exporters.Deps{Registerer: reg}) // the real clock, so series keep expiring
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(reg, cfg, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			err := e.Export(context.Background(), record.Batch{rec("app", "json", 0, f("user", str(strings.Repeat("u", i%9)))),
				rec("web", "clf", 0, f("method", str("GET")), f("status", num(200)), f("duration_seconds", flt(0.1)))})
			if err != nil {
				t.Error(err) // Fatal may not be called off the test goroutine
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		if res := get(t, h, nil); res.StatusCode != 200 {
			t.Fatalf("scrape %d: status %d", i, res.StatusCode)
		}
	}
	<-done
	if got := testutil.ToFloat64(e.builtin.records.WithLabelValues("web", "clf", "none")); got != 200 {
		t.Errorf("records_total = %v, want 200", got)
	}
}

// TestBuiltinBefore: once the built-in metrics are fed elsewhere (before
// the processors), Export leaves them alone and rule metrics still count
// what Export gets.
func TestBuiltinBefore(t *testing.T) {
	tests := []struct {
		name         string
		before       bool
		wantBuiltin  float64 // obsadapter_records_total{level="debug"}
		wantRuleHits float64
	}{
		{name: "counted in Export", before: false, wantBuiltin: 1, wantRuleHits: 1},
		{name: "counted before the processors", before: true, wantBuiltin: 2, wantRuleHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Metrics = []MetricRule{{Name: "app_debug_total", Type: TypeCounter, Match: Match{Level: []string{"debug"}}}}
			e, reg, _ := newTestExporter(t, cfg)
			dropped, kept := rec("app", "json", record.SeverityDebug), rec("app", "json", record.SeverityDebug)
			if tt.before {
				e.BuiltinBefore()(record.Batch{dropped, kept}) // what a processor saw before dropping one
				// Counted when the function returns, not at the next Export.
				if got := testutil.ToFloat64(e.builtin.records.WithLabelValues("app", "json", "debug")); got != 2 {
					t.Errorf("records_total right after counting = %v, want 2", got)
				}
			}
			export(t, e, kept)
			got := testutil.ToFloat64(e.builtin.records.WithLabelValues("app", "json", "debug"))
			if got != tt.wantBuiltin {
				t.Errorf("records_total = %v, want %v", got, tt.wantBuiltin)
			}
			n, err := testutil.GatherAndCount(reg, "app_debug_total")
			if err != nil || n != 1 {
				t.Fatalf("rule series: %d, %v", n, err)
			}
			mfs, _ := reg.Gather()
			for _, mf := range mfs {
				if mf.GetName() == "app_debug_total" {
					if v := mf.GetMetric()[0].GetCounter().GetValue(); v != tt.wantRuleHits {
						t.Errorf("rule counted %v, want %v", v, tt.wantRuleHits)
					}
				}
			}
		})
	}
}
