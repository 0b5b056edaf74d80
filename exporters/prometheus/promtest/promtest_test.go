package promtest_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/exporters"
	promexp "github.com/obsadapter/obsadapter/exporters/prometheus"
	"github.com/obsadapter/obsadapter/exporters/prometheus/promtest"
	"github.com/obsadapter/obsadapter/record"
)

// TestPrometheusScrapesHandler has a real Prometheus scrape the exporter's
// handler and checks a counter and a histogram quantile through PromQL.
func TestPrometheusScrapesHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := promexp.DefaultConfig()
	cfg.HTTPRequestDurationBuckets = []float64{0.1, 0.5, 1, 5}
	cfg.Metrics = []promexp.MetricRule{{
		Name: "app_server_errors_total", Help: "5xx responses by path.", Type: promexp.TypeCounter,
		Match: promexp.Match{Fields: map[string]string{"status": "5.."}}, Labels: map[string]string{"path": "path"},
	}}
	e, err := promexp.New(cfg, exporters.Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	var batch record.Batch
	// Durations: 4 × 0.05s, 4 × 0.3s, 2 × 3s. The median is the 5th of 10,
	// in the (0.1, 0.5] bucket holding ranks 5–8: 0.1 + 0.4 × 1/4 = 0.2.
	for i, d := range []float64{0.05, 0.05, 0.05, 0.05, 0.3, 0.3, 0.3, 0.3, 3, 3} {
		status := int64(200)
		if i >= 8 {
			status = 502
		}
		batch = append(batch, record.Record{
			ObservedTime: time.Now(), Source: "nginx", Format: "clf",
			Fields: []record.Field{
				{Key: "method", Value: record.StringValue("GET")},
				{Key: "path", Value: record.StringValue("/api")},
				{Key: "status", Value: record.IntValue(status)},
				{Key: "duration_seconds", Value: record.FloatValue(d)},
			},
		})
	}
	if err := e.Export(context.Background(), batch); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promexp.Handler(reg, cfg, nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := promtest.Start(t, strings.TrimPrefix(srv.URL, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tests := []struct {
		name, query string
		want        float64
	}{
		{"target up", `up{job="obsadapter"}`, 1},
		{"access-log counter", `sum(obsadapter_http_requests_total{source="nginx",method="GET"})`, 10},
		{"rule counter", `app_server_errors_total{path="/api"}`, 2},
		{"histogram median", `histogram_quantile(0.5, sum by (le) (obsadapter_http_request_duration_seconds_bucket{source="nginx"}))`, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vec, err := p.WaitFor(ctx, tt.query, func(v promtest.Vector) bool { return len(v) == 1 })
			if err != nil {
				t.Fatal(err)
			}
			if got := vec[0].Value; math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("%s = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}
