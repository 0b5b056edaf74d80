package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// benchBatch is a mixed batch as a sidecar sees it: access-log lines, JSON
// application logs at several levels, some with exceptions, two sources.
func benchBatch() record.Batch {
	methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	statuses := []int64{200, 200, 200, 201, 304, 404, 500, 503}
	paths := []string{"/", "/api/users", "/api/orders", "/healthz", "/static/app.js"}
	var batch record.Batch
	for i := 0; i < 100; i++ {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		if i%2 == 0 {
			batch = append(batch, record.Record{ObservedTime: now, Source: "nginx", Format: "clf", Stream: "stdout",
				Fields: []record.Field{
					{Key: "remote_addr", Value: record.StringValue("10.0.0.1")},
					{Key: "method", Value: record.StringValue(methods[i%len(methods)])},
					{Key: "path", Value: record.StringValue(paths[i%len(paths)])},
					{Key: "protocol", Value: record.StringValue("HTTP/1.1")},
					{Key: "status", Value: record.IntValue(statuses[i%len(statuses)])},
					{Key: "bytes", Value: record.IntValue(int64(100 * i))},
					{Key: "duration_seconds", Value: record.FloatValue(float64(i%50) / 100)},
				}})
			continue
		}
		r := record.Record{ObservedTime: now, Source: "app", Format: "json", Stream: "stderr",
			Severity: []record.Severity{record.SeverityInfo, record.SeverityInfo, record.SeverityDebug, record.SeverityWarn, record.SeverityError}[i%5],
			Message:  "handled job",
			Fields: []record.Field{
				{Key: "user", Value: record.StringValue(fmt.Sprintf("user%d", i%7))},
				{Key: "job", Value: record.ObjectValue([]record.Field{
					{Key: "queue", Value: record.StringValue([]string{"mail", "sms", "push"}[i%3])},
					{Key: "took", Value: record.StringValue(fmt.Sprintf("%dms", i))},
				})},
			}}
		if i%10 == 9 {
			r.Fields = append(r.Fields, record.Field{Key: "exception", Value: record.ObjectValue([]record.Field{
				{Key: "type", Value: record.StringValue([]string{"java.io.IOException", "NullPointerException"}[i%2])},
			})})
		}
		batch = append(batch, r)
	}
	return batch
}

// tenRules is a realistic rule set: every type, record-key and field labels,
// level, source and regex matches, numeric and duration values.
func tenRules() []MetricRule {
	return []MetricRule{
		{Name: "b_requests_total", Type: TypeCounter, Match: Match{Format: []string{"clf"}}, Labels: map[string]string{"code": "status", "method": "method"}},
		{Name: "b_bytes_total", Type: TypeCounter, Value: "bytes", Match: Match{Source: []string{"nginx"}}, Labels: map[string]string{"path": "path"}},
		{Name: "b_api_errors_total", Type: TypeCounter, Match: Match{Fields: map[string]string{"status": "5..", "path": "/api/.*"}}, Labels: map[string]string{"path": "path"}},
		{Name: "b_latency_seconds", Type: TypeHistogram, Value: "duration_seconds", Labels: map[string]string{"method": "method"}},
		{Name: "b_last_bytes", Type: TypeGauge, Value: "bytes", Match: Match{Format: []string{"clf"}}},
		{Name: "b_app_lines_total", Type: TypeCounter, Match: Match{Source: []string{"app"}}, Labels: map[string]string{"level": "level", "stream": "stream"}},
		{Name: "b_app_warnings_total", Type: TypeCounter, Match: Match{MinLevel: "warn"}, Labels: map[string]string{"source": "source"}},
		{Name: "b_job_seconds", Type: TypeHistogram, Value: "job.took", Labels: map[string]string{"queue": "job.queue"}},
		{Name: "b_user_jobs_total", Type: TypeCounter, Match: Match{Fields: map[string]string{"job.queue": "mail|sms"}}, Labels: map[string]string{"user": "user"}, ExpireAfter: time.Hour},
		{Name: "b_exceptions_total", Type: TypeCounter, Match: Match{Level: []string{"error", "fatal"}}, Labels: map[string]string{"type": "exception.type"}},
	}
}

func benchmarkExport(b *testing.B, rules []MetricRule) {
	cfg := DefaultConfig()
	cfg.Metrics = rules
	e, err := New(cfg, exporters.Deps{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch()
	ctx := context.Background()
	if err := e.Export(ctx, batch); err != nil { // creates the series
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := e.Export(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
}

// BenchmarkExportBuiltin is the cost per record of the built-in metrics alone;
// one op is a batch of 100 records.
func BenchmarkExportBuiltin(b *testing.B) { benchmarkExport(b, nil) }

// BenchmarkExportRules10 adds ten rule metrics to the built-in ones.
func BenchmarkExportRules10(b *testing.B) { benchmarkExport(b, tenRules()) }

// BenchmarkScrape1000Series serves one scrape of a registry holding 1,000
// rule series plus the built-in metrics.
func BenchmarkScrape1000Series(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{{Name: "b_paths_total", Type: TypeCounter, Labels: map[string]string{"path": "path"}, MaxSeries: 1000}}
	reg := prometheus.NewRegistry()
	e, err := New(cfg, exporters.Deps{Registerer: reg})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch()
	for i := 0; i < 1000; i++ {
		batch = append(batch, record.Record{ObservedTime: t0, Source: "web", Format: "clf",
			Fields: []record.Field{{Key: "path", Value: record.StringValue(fmt.Sprintf("/item/%d", i))}}})
	}
	if err := e.Export(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	h := Handler(reg, cfg, nil)
	for _, bc := range []struct{ name, accept, encoding string }{
		{"text", "", ""},
		{"openmetrics", "application/openmetrics-text;version=1.0.0", ""},
		{"text-gzip", "", "gzip"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if bc.accept != "" {
				req.Header.Set("Accept", bc.accept)
			}
			if bc.encoding != "" {
				req.Header.Set("Accept-Encoding", bc.encoding)
			}
			b.ReportAllocs()
			for b.Loop() {
				rw := httptest.NewRecorder()
				h.ServeHTTP(rw, req)
				if rw.Code != http.StatusOK {
					b.Fatalf("status %d", rw.Code)
				}
			}
		})
	}
}
