package prometheus

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/obsadapter/obsadapter/internal/testpeer"
	"github.com/obsadapter/obsadapter/record"
)

// scrapeTarget is a registry with every metric the package makes, fed with a
// few records, as a scrape would see it.
func scrapeTarget(t *testing.T) *prometheus.Registry {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Metrics = []MetricRule{
		{Name: "app_requests_total", Help: "Requests by code.", Type: TypeCounter, Labels: map[string]string{"code": "status"}},
		{Name: "app_queue_depth", Help: "Queue depth.", Type: TypeGauge, Value: "depth"},
		{Name: "app_took_seconds", Help: "Time taken.", Type: TypeHistogram, Value: "took"},
	}
	e, reg, _ := newTestExporter(t, cfg)
	if err := RegisterBuildInfo(reg, "1.2.3", "abc123"); err != nil {
		t.Fatal(err)
	}
	trunc := rec("app", "text", 0)
	trunc.Truncated = true
	export(t, e,
		rec("web", "clf", 0, f("method", str("GET")), f("status", num(200)), f("duration_seconds", flt(0.05))),
		rec("web", "clf", 0, f("method", str("POST")), f("status", num(500)), f("duration_seconds", flt(1.5))),
		rec("app", "json", record.SeverityError, f("exception", obj(f("type", str("ValueError")))), f("depth", num(3)), f("took", str("25ms"))),
		trunc,
	)
	return reg
}

func get(t *testing.T, h http.Handler, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header = header
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, req)
	return rw.Result()
}

func TestHandlerNegotiation(t *testing.T) {
	h := Handler(scrapeTarget(t), DefaultConfig(), nil)
	tests := []struct {
		name        string
		accept      string
		contentType string
		bodyHas     string
	}{
		{"no Accept gives the text format", "", "text/plain; version=0.0.4; charset=utf-8; escaping=underscores", "# TYPE obsadapter_records_total counter\n"},
		{"Prometheus's Accept gives OpenMetrics",
			"application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
			"application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores", "# EOF\n"},
		{"protobuf for native histograms",
			"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;q=0.3",
			"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores", "obsadapter_records_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.accept != "" {
				hdr.Set("Accept", tt.accept)
			}
			res := get(t, h, hdr)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if !bytes.Contains(body, []byte(tt.bodyHas)) {
				t.Errorf("body lacks %q:\n%s", tt.bodyHas, body)
			}
		})
	}
}

func TestHandlerGzip(t *testing.T) {
	h := Handler(scrapeTarget(t), DefaultConfig(), nil)
	res := get(t, h, http.Header{"Accept-Encoding": {"gzip"}})
	if got := res.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`obsadapter_http_requests_total{method="GET",source="web",status_class="2xx"} 1`)) {
		t.Errorf("decompressed body lacks the access-log counter:\n%s", body)
	}
}

// blockingCollector holds a scrape until released, so tests can have one in
// flight without sleeping.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingCollector) Describe(chan<- *prometheus.Desc) {}
func (b *blockingCollector) Collect(chan<- prometheus.Metric) {
	b.entered <- struct{}{}
	<-b.release
}

func TestHandlerLimits(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		// second reports whether the test issues a second scrape while the
		// first is held; otherwise the first itself must fail.
		second bool
		want   string
	}{
		{"in-flight limit", func(c *Config) { c.MaxRequestsInFlight = 1; c.ScrapeTimeout = 0 }, true, "Limit of concurrent requests reached (1)"},
		{"scrape timeout", func(c *Config) { c.ScrapeTimeout = 20 * time.Millisecond }, false, "Exceeded configured timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			bc := &blockingCollector{entered: make(chan struct{}, 1), release: make(chan struct{})}
			reg.MustRegister(bc)
			cfg := DefaultConfig()
			tt.cfg(&cfg)
			h := Handler(reg, cfg, nil)
			first := make(chan *http.Response, 1)
			go func() { first <- get(t, h, nil) }()
			<-bc.entered
			var res *http.Response
			if tt.second {
				res = get(t, h, nil)
			} else {
				res = <-first
			}
			close(bc.release)
			if tt.second {
				<-first
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), tt.want) {
				t.Errorf("got %d %q, want 503 containing %q", res.StatusCode, body, tt.want)
			}
		})
	}
}

type failingCollector struct{ desc *prometheus.Desc }

func (c failingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c failingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(c.desc, errors.New("broken"))
}

func TestHandlerServesDespiteCollectorErrors(t *testing.T) {
	reg := scrapeTarget(t)
	reg.MustRegister(failingCollector{prometheus.NewDesc("broken_metric", "Fails.", nil, nil)})
	var logged bytes.Buffer
	h := Handler(reg, DefaultConfig(), slogTo(&logged))
	res := get(t, h, nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("obsadapter_records_total")) {
		t.Fatalf("got %d, want 200 with the healthy metrics:\n%s", res.StatusCode, body)
	}
	if !strings.Contains(logged.String(), "broken") {
		t.Errorf("collector error not logged: %q", logged.String())
	}
	want := `
# HELP promhttp_metric_handler_errors_total Total number of internal errors encountered by the promhttp metric handler.
# TYPE promhttp_metric_handler_errors_total counter
promhttp_metric_handler_errors_total{cause="encoding"} 0
promhttp_metric_handler_errors_total{cause="gathering"} 1
`
	if err := testutil.GatherAndCompare(onlyHealthy{reg}, strings.NewReader(want), "promhttp_metric_handler_errors_total"); err != nil {
		t.Error(err)
	}
}

// onlyHealthy gathers a registry, ignoring the error a broken collector adds.
type onlyHealthy struct{ g prometheus.Gatherer }

func (o onlyHealthy) Gather() ([]*dto.MetricFamily, error) {
	mfs, _ := o.g.Gather()
	return mfs, nil
}

func TestRegisterBuildInfo(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterBuildInfo(reg, "1.2.3", "abc123"); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP obsadapter_build_info A metric with a constant 1 value labeled by the version, revision and Go version obsadapter was built from.
# TYPE obsadapter_build_info gauge
obsadapter_build_info{goversion="` + runtime.Version() + `",revision="abc123",version="1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), nameBuildInfo); err != nil {
		t.Error(err)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
	if err := RegisterBuildInfo(reg, "1.2.3", "abc123"); err == nil {
		t.Error("registering twice did not fail")
	}
}

// TestPromtoolCheckMetrics lints a real scrape of the handler with the
// promtool that CI installs (Debian package prometheus).
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := testpeer.LookPath(t, "promtool", "install Debian's prometheus package; CI installs it")
	srv := httptest.NewServer(Handler(scrapeTarget(t), DefaultConfig(), nil))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = res.Body
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
