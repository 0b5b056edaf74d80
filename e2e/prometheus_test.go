package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/prometheus/promtest"
	"github.com/obsadapter/obsadapter/internal/testpeer"
)

// accessRequests is the access log the Prometheus test feeds: each row is
// written count times (shuffled), nginx combined format with $request_time.
// Every expected number below is computed from this table.
var accessRequests = []struct {
	method, path string
	status       int
	seconds      float64
	count        int
}{
	{"GET", "/api/items", 200, 0.020, 80},
	{"GET", "/api/items", 200, 0.070, 40},
	{"POST", "/api/orders", 201, 0.070, 20},
	{"GET", "/old", 301, 0.020, 10},
	{"GET", "/missing", 404, 0.020, 10},
	{"DELETE", "/api/items/1", 403, 0.300, 8},
	{"POST", "/api/orders", 503, 0.300, 22},
	{"PURGE", "/cache", 200, 2.000, 10}, // not a standard verb: method="OTHER"
}

// accessBuckets are http_request_duration_buckets in the config.
var accessBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5}

func writeAccessLog(t *testing.T, path string) {
	t.Helper()
	var lines []string
	for _, r := range accessRequests {
		for range r.count {
			lines = append(lines, fmt.Sprintf(`"%s %s HTTP/1.1" %d %d "-" "e2e-client/1.0" %.3f`, r.method, r.path, r.status, 100+r.status, r.seconds))
		}
	}
	rand.New(rand.NewPCG(5, 23)).Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "10.0.%d.%d - - [23/Nov/2026:20:%02d:%02d +0000] %s\n", i/250, i%250+1, 10+i/60, i%60, l)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mixedLog is the second source: logfmt job and queue lines (the rule
// metrics), JSON, klog, a Go log line, a Python traceback (one multiline
// record with exception type ValueError) and a plain line.
const mixedLog = `time=2026-11-23T20:31:00Z level=info msg="job done" job=resize took=120ms
time=2026-11-23T20:31:01Z level=info msg="job done" job=resize took=80ms
time=2026-11-23T20:31:02Z level=info msg="job done" job=email took=450ms
time=2026-11-23T20:31:03Z level=warn msg="job slow" job=resize took=1.2s
time=2026-11-23T20:31:04Z level=info msg="job done" job=email took=30ms
time=2026-11-23T20:31:05Z level=warn msg="job slow" job=email took=2s
time=2026-11-23T20:31:06Z level=debug msg="queue depth" queue=emails depth=17
time=2026-11-23T20:31:07Z level=debug msg="queue depth" queue=images depth=4
time=2026-11-23T20:31:08Z level=debug msg="queue depth" queue=emails depth=9
{"time":"2026-11-23T20:31:09Z","level":"error","msg":"payment failed","order":17}
{"time":"2026-11-23T20:31:10Z","level":"error","msg":"payment failed","order":18}
{"time":"2026-11-23T20:31:11Z","level":"warn","msg":"retrying payment","order":18}
I1123 20:31:12.000000       1 controller.go:112] Reconciling deployment shop/web
E1123 20:31:13.000000       1 controller.go:130] Failed to sync shop/web
2026/11/23 20:31:14 listening on :8080
Traceback (most recent call last):
  File "/app/worker.py", line 10, in <module>
    main()
ValueError: bad input
just a plain line with no structure
`

// The mixed log's records: 20 lines, of which the traceback's 4 make one.
const mixedRecords = 17

// The job durations (took=) of the mixed log in seconds, and the buckets of
// the rule histogram over them.
var (
	jobSeconds = []float64{0.120, 0.080, 0.450, 1.2, 0.030, 2}
	jobBuckets = []float64{0.1, 0.5, 1, 5}
)

func prometheusE2EConfig(t *testing.T, dir string) string {
	t.Helper()
	floats := func(fs []float64) string {
		var s []string
		for _, f := range fs {
			s = append(s, fmt.Sprint(f))
		}
		return "[" + strings.Join(s, ", ") + "]"
	}
	cfg := fmt.Sprintf(`sources:
  - name: access
    type: file
    include: [%q]
    start_at: beginning
  - name: mixed
    type: file
    include: [%q]
    start_at: beginning
exporters:
  stdout: {enabled: false}
  prometheus:
    enabled: true
    http_request_duration_buckets: %s
    metrics:
      - name: app_http_responses_total
        help: Responses by status code and method.
        type: counter
        match: {source: [access]}
        labels: {code: status, method: method}
      - name: app_http_server_errors_total
        type: counter
        match: {source: [access], fields: {status: "5.."}}
      - name: app_job_duration_seconds
        help: Job durations from the worker's took= field.
        type: histogram
        match: {source: [mixed], format: [logfmt], fields: {job: ".+"}}
        value: took
        labels: {job: job}
        buckets: %s
      - name: app_queue_depth
        help: Last reported queue depth.
        type: gauge
        match: {source: [mixed], fields: {queue: ".+"}}
        value: depth
        labels: {queue: queue}
procinfo: {enabled: false}
`, filepath.Join(dir, "access.log"), filepath.Join(dir, "mixed.log"), floats(accessBuckets), floats(jobBuckets))
	path := filepath.Join(t.TempDir(), "prometheus-e2e.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPrometheusScrapesAdapter has a real Prometheus scrape the real
// binary, fed an access log and a mixed log, and checks through PromQL the
// built-in log metrics, the access-log metrics and the rule metrics, and
// promtool's verdict on /metrics.
func TestPrometheusScrapesAdapter(t *testing.T) {
	testpeer.LookPath(t, "prometheus", "install Debian's prometheus package; CI installs it")
	dir := t.TempDir()
	writeAccessLog(t, filepath.Join(dir, "access.log"))
	if err := os.WriteFile(filepath.Join(dir, "mixed.log"), []byte(mixedLog), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--config", prometheusE2EConfig(t, dir))
	p := promtest.Start(t, d.addr)

	// Expected values, from the input.
	var accessTotal int
	byClass, byMethod, byCode := map[string]float64{}, map[string]float64{}, map[string]float64{}
	var serverErrors float64
	var durations []float64
	for _, r := range accessRequests {
		n := float64(r.count)
		accessTotal += r.count
		byClass[fmt.Sprintf("%dxx", r.status/100)] += n
		method := r.method
		if !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}, method) {
			method = "OTHER"
		}
		byMethod[method] += n
		byCode[fmt.Sprint(r.status)] += n
		if r.status >= 500 {
			serverErrors += n
		}
		for range r.count {
			durations = append(durations, r.seconds)
		}
	}
	var jobSum float64
	for _, s := range jobSeconds {
		jobSum += s
	}
	accessP90 := classicQuantile(0.9, accessBuckets, durations)
	jobMedian := classicQuantile(0.5, jobBuckets, jobSeconds)
	// The input puts the access p90 in the (0.25, 0.5] bucket (ranks
	// 161–190 of 200 are the 0.3 s requests) and the job median in (0.1, 0.5].
	if accessP90 <= 0.25 || accessP90 > 0.5 || jobMedian <= 0.1 || jobMedian > 0.5 {
		t.Fatalf("expected quantiles %v, %v are outside the buckets the input puts them in", accessP90, jobMedian)
	}
	one := func(v float64) map[string]float64 { return map[string]float64{"": v} }

	tests := []struct {
		name, query, by string // by: the label that keys the result; "" for one sample
		want            map[string]float64
	}{
		{"target up", `up{job="obsadapter"}`, "", one(1)},
		{"access records", `sum(obsadapter_records_total{source="access"})`, "", one(float64(accessTotal))},
		{"access records are clf without level", `sum by (format) (obsadapter_records_total{source="access",level="none"})`, "format", map[string]float64{"clf": float64(accessTotal)}},
		{"mixed records", `sum(obsadapter_records_total{source="mixed"})`, "", one(mixedRecords)},
		{"mixed logfmt by level", `sum by (level) (obsadapter_records_total{source="mixed",format="logfmt"})`, "level", map[string]float64{"info": 4, "warn": 2, "debug": 3}},
		{"mixed json by level", `sum by (level) (obsadapter_records_total{source="mixed",format="json"})`, "level", map[string]float64{"error": 2, "warn": 1}},
		{"mixed klog by level", `sum by (level) (obsadapter_records_total{source="mixed",format="klog"})`, "level", map[string]float64{"info": 1, "error": 1}},
		{"multiline records", `obsadapter_multiline_records_total{source="mixed"}`, "", one(1)},
		{"exceptions", `sum by (type) (obsadapter_exceptions_total{source="mixed"})`, "type", map[string]float64{"ValueError": 1}},
		{"requests by status class", `sum by (status_class) (obsadapter_http_requests_total{source="access"})`, "status_class", byClass},
		{"requests by method", `sum by (method) (obsadapter_http_requests_total{source="access"})`, "method", byMethod},
		{"request durations observed", `obsadapter_http_request_duration_seconds_count{source="access"}`, "", one(float64(accessTotal))},
		{"request duration p90", `histogram_quantile(0.9, sum by (le) (obsadapter_http_request_duration_seconds_bucket{source="access"}))`, "", one(accessP90)},
		{"rule counter by code", `sum by (code) (app_http_responses_total)`, "code", byCode},
		{"rule counter with field match", `app_http_server_errors_total`, "", one(serverErrors)},
		{"rule histogram count", `sum(app_job_duration_seconds_count)`, "", one(float64(len(jobSeconds)))},
		{"rule histogram sum", `sum(app_job_duration_seconds_sum)`, "", one(jobSum)},
		{"rule histogram median", `histogram_quantile(0.5, sum by (le) (app_job_duration_seconds_bucket))`, "", one(jobMedian)},
		{"rule gauge keeps the last value", `app_queue_depth`, "queue", map[string]float64{"emails": 9, "images": 4}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]float64
			_, err := p.WaitFor(ctx, tt.query, func(v promtest.Vector) bool {
				got = map[string]float64{}
				for _, s := range v {
					got[s.Metric[tt.by]] += s.Value
				}
				return sameValues(got, tt.want)
			})
			if err != nil {
				t.Fatalf("%s = %v, want %v (%v)", tt.query, got, tt.want, err)
			}
			t.Logf("%s = %v", tt.query, got)
		})
	}

	t.Run("promtool check metrics", func(t *testing.T) {
		promtool := testpeer.LookPath(t, "promtool", "install Debian's prometheus package; CI installs it")
		code, body := d.get("/metrics")
		if code != 200 {
			t.Fatalf("/metrics = %d %s", code, body)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	if code, ok := stopWithin(d, 20*time.Second); !ok || code != 0 {
		t.Errorf("stop: exit code %d, exited in time %v; want 0, true", code, ok)
	}
}

// classicQuantile is what PromQL's histogram_quantile returns for values
// observed into classic buckets (upper bounds, +Inf implied): the bucket
// holding rank q·count, linearly interpolated, the first bucket starting at 0.
func classicQuantile(q float64, bounds, values []float64) float64 {
	counts := make([]float64, len(bounds))
	for _, v := range values {
		for i, b := range bounds {
			if v <= b {
				counts[i]++
				break
			}
		}
	}
	rank := q * float64(len(values))
	below, lower := 0.0, 0.0
	for i, b := range bounds {
		if below+counts[i] >= rank {
			return lower + (b-lower)*(rank-below)/counts[i]
		}
		below, lower = below+counts[i], b
	}
	return bounds[len(bounds)-1] // the +Inf bucket answers its lower bound
}

func sameValues(got, want map[string]float64) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			return false
		}
	}
	return true
}
