package collector

import (
	"bytes"
	"net/http/httptest"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// gateExporter holds every Export until the gate opens: an aggregator that
// is down or stalled. It records what it was given.
type gateExporter struct {
	mu    sync.Mutex
	open  chan struct{}
	calls int
	recs  []record.Record
}

func newGateExporter(open bool) *gateExporter {
	g := &gateExporter{open: make(chan struct{})}
	if open {
		close(g.open)
	}
	return g
}

var _ exporters.Exporter = (*gateExporter)(nil)

func (g *gateExporter) Name() string { return "gate" }
func (g *gateExporter) Export(ctx context.Context, b record.Batch) error {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	g.recs = append(g.recs, b...)
	g.mu.Unlock()
	return nil
}
func (g *gateExporter) Close(context.Context) error { return nil }

func (g *gateExporter) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.recs)
}

func (g *gateExporter) messages() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, len(g.recs))
	for i, r := range g.recs {
		out[i] = r.Message
	}
	return out
}

// pipelineRig is a pipeline with one exporter, as the collector builds it.
type pipelineRig struct {
	p       *pipeline
	metrics *selfMetrics
	done    chan struct{}
	cancel  context.CancelFunc
}

func newPipelineRig(t *testing.T, exp exporters.Exporter, queue int) *pipelineRig {
	m := newSelfMetrics(prometheus.NewRegistry())
	p := newPipeline(PipelineConfig{BatchRecords: 100, QueueBatches: queue}, []exporters.Exporter{exp}, m, slog.New(slog.DiscardHandler), clock.Real)
	ctx, cancel := context.WithCancel(context.Background())
	r := &pipelineRig{p: p, metrics: m, done: make(chan struct{}), cancel: cancel}
	go func() { p.run(ctx); close(r.done) }()
	t.Cleanup(func() { cancel() })
	return r
}

func (r *pipelineRig) deps(name string) sourceDeps {
	return sourceDeps{
		logger: slog.New(slog.DiscardHandler), metrics: r.metrics, clock: clock.Real, out: r.p.in,
		status: newSourceStatus(name, "test"), batchRecords: 100,
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOutageBackpressure: while the exporter is down the file source stops
// reading (the file is the buffer) and memory holds only the bounded queues;
// once it is back, every line arrives exactly once.
func TestOutageBackpressure(t *testing.T) {
	const total = 200000
	dir := t.TempDir()
	var b strings.Builder
	for i := 1; i <= total; i++ {
		fmt.Fprintf(&b, "line %d of the outage test, padded to look like a log line\n", i)
	}
	os.WriteFile(filepath.Join(dir, "app.log"), []byte(b.String()), 0o644)

	gate := newGateExporter(false)
	rig := newPipelineRig(t, gate, 2)
	cfg := defaultSource()
	cfg.Name, cfg.Type, cfg.StartAt = "app", "file", "beginning"
	cfg.Include = []string{filepath.Join(dir, "*.log")}
	cfg.Config.Multiline.Mode = 1 // off: one line, one record
	deps := rig.deps("app")
	src := newFileSource(cfg, deps, nil, true)
	src.waker = manualWaker{}
	ctx, cancel := context.WithCancel(context.Background())
	srcDone := make(chan struct{})
	go func() { src.run(ctx); close(srcDone) }()

	waitUntil(t, "the source to block on the full pipeline", func() bool {
		gate.mu.Lock()
		called := gate.calls > 0
		gate.mu.Unlock()
		deps.status.mu.Lock()
		defer deps.status.mu.Unlock()
		return deps.status.sending && called
	})
	deps.status.mu.Lock()
	snap := deps.status.tracks
	deps.status.mu.Unlock()
	if len(snap) != 1 {
		t.Fatalf("%d files tracked", len(snap))
	}
	read := snap[0].snapshot().Read
	// Held in memory at most: the batch being built, the pipeline queue, the
	// exporter's queue and the batch in Export (6 × 100 records), plus the
	// framer's read-ahead chunk.
	bound := int64(6*100*70 + readChunk)
	if read > bound {
		t.Fatalf("read %d bytes of %d while the exporter was down; bound %d", read, len(b.String()), bound)
	}
	close(gate.open)
	waitUntil(t, "every line", func() bool { return gate.count() >= total })
	cancel()
	<-srcDone
	seen := map[string]bool{}
	for _, m := range gate.messages() {
		if seen[m] {
			t.Fatalf("%q delivered twice", m)
		}
		seen[m] = true
	}
	if len(seen) != total {
		t.Fatalf("%d of %d lines delivered", len(seen), total)
	}
}

func stdinInput(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "stdin line %d\n", i)
	}
	return b.String()
}

func TestStdinBufferPolicies(t *testing.T) {
	const total = 20000
	for _, policy := range []string{"block", "drop_oldest"} {
		t.Run(policy, func(t *testing.T) {
			gate := newGateExporter(false)
			rig := newPipelineRig(t, gate, 1)
			cfg := defaultSource()
			cfg.Name, cfg.Type = "in", "stdin"
			cfg.Config.Multiline.Mode = 1
			cfg.Buffer = BufferConfig{MaxLines: 500, MaxBytes: 1 << 20, OnFull: policy}
			src := &stdinSource{cfg: cfg, deps: rig.deps("in"), in: strings.NewReader(stdinInput(total))}
			done := make(chan struct{})
			go func() { src.run(context.Background()); close(done) }()
			dropped := func() float64 {
				return testutil.ToFloat64(rig.metrics.recordsDropped.WithLabelValues("in", "buffer_full"))
			}
			if policy == "drop_oldest" {
				waitUntil(t, "drops while the exporter is down", func() bool { return dropped() > 0 })
			} else {
				waitUntil(t, "the exporter to be called", func() bool { gate.mu.Lock(); defer gate.mu.Unlock(); return gate.calls > 0 })
			}
			close(gate.open)
			<-done
			close(rig.p.in)
			<-rig.done
			got, drops := gate.count(), int(dropped())
			if policy == "block" && (got != total || drops != 0) {
				t.Fatalf("block: %d delivered, %d dropped; want all %d, none dropped", got, drops, total)
			}
			if policy == "drop_oldest" && (got+drops != total || drops == 0) {
				t.Fatalf("drop_oldest: %d delivered + %d dropped != %d", got, drops, total)
			}
		})
	}
}

func TestExecSource(t *testing.T) {
	gate := newGateExporter(true)
	rig := newPipelineRig(t, gate, 4)
	cfg := defaultSource()
	cfg.Name, cfg.Type, cfg.Restart = "job", "exec", "never"
	cfg.Command = []string{"/bin/sh", "-c", "echo 'level=info msg=hello'; echo 'level=error msg=oops' >&2; exit 3"}
	src := &execSource{cfg: cfg, deps: rig.deps("job")}
	src.run(context.Background())
	close(rig.p.in)
	<-rig.done
	streams := map[string]string{}
	for _, r := range gate.recs {
		streams[r.Message] = r.Stream + "/" + r.Level().String()
	}
	if streams["hello"] != "stdout/info" || streams["oops"] != "stderr/error" {
		t.Fatalf("records by message = %v", streams)
	}
	if n := testutil.ToFloat64(rig.metrics.execExits.WithLabelValues("job", "failure")); n != 1 {
		t.Fatalf("failed exits counted = %v, want 1", n)
	}
}

func TestExecSourceRestartsOnFailure(t *testing.T) {
	gate := newGateExporter(true)
	rig := newPipelineRig(t, gate, 4)
	dir := t.TempDir()
	cfg := defaultSource()
	cfg.Name, cfg.Type, cfg.Restart, cfg.RestartBackoff = "job", "exec", "on_failure", time.Millisecond
	// fails twice, then succeeds: on_failure restarts it until it succeeds
	cfg.Command = []string{"/bin/sh", "-c", fmt.Sprintf(`n=$(cat %[1]s/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s/n; echo run $n; [ $n -ge 3 ]`, dir)}
	(&execSource{cfg: cfg, deps: rig.deps("job")}).run(context.Background())
	close(rig.p.in)
	<-rig.done
	if got := strings.Join(gate.messages(), ","); got != "run 1,run 2,run 3" {
		t.Fatalf("runs = %s", got)
	}
}

func TestPodSource(t *testing.T) {
	root := t.TempDir()
	podDir := filepath.Join(root, "shop_web-7d9f_0a1b2c")
	for _, c := range []string{"app", "sidecar-db", "obsadapter"} {
		os.MkdirAll(filepath.Join(podDir, c), 0o755)
	}
	write := func(path, content string) { os.WriteFile(filepath.Join(podDir, path), []byte(content), 0o644) }
	write("app/0.log", "2026-11-23T20:31:02.123456789Z stdout F {\"level\":\"info\",\"msg\":\"app line\"}\n"+
		"2026-11-23T20:31:02.2Z stderr P partial \n2026-11-23T20:31:02.3Z stderr F joined\n")
	write("app/0.log.20261123-203102.gz", "binary junk")
	write("sidecar-db/1.log", "2026-11-23T20:31:03Z stdout F db line\n")
	write("obsadapter/0.log", "2026-11-23T20:31:03Z stdout F my own output\n")

	cfg := defaultSource()
	cfg.Name, cfg.Type, cfg.LogsDir, cfg.StartAt = "pod", "pod", root, "beginning"
	h := &tailHarness{t: t, cfg: cfg, clk: clocktest.New(time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)), metrics: newSelfMetrics(prometheus.NewRegistry())}
	h.out = make(chan *batch, 100)
	h.status = newSourceStatus("pod", "pod")
	deps := sourceDeps{logger: slog.New(slog.DiscardHandler), metrics: h.metrics, clock: h.clk, out: h.out, status: h.status, batchRecords: 100}
	h.src = newPodSource(cfg, deps, KubernetesConfig{Namespace: "shop", Pod: "web-7d9f", UID: "0a1b2c"}, nil, true)
	h.src.waker = manualWaker{}
	h.src.pass(h.clk.Now())
	h.clk.Advance(5 * time.Second)
	h.src.pass(h.clk.Now())
	got := map[string]string{}
	for len(h.out) > 0 {
		for _, r := range (<-h.out).records {
			got[r.Message] = r.Kubernetes.Namespace + "/" + r.Kubernetes.Pod + "/" + r.Kubernetes.Container + "/" + r.Stream
		}
	}
	want := map[string]string{
		"app line":       "shop/web-7d9f/app/stdout",
		"partial joined": "shop/web-7d9f/app/stderr",
		"db line":        "shop/web-7d9f/sidecar-db/stdout",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records = %v\nwant %v", got, want)
	}

	// logs_dir may be the pod's own directory (a hostPath narrowed with subPathExpr)
	narrowed := cfg
	narrowed.LogsDir = podDir
	h.out = make(chan *batch, 100)
	deps.out = h.out
	h.src = newPodSource(narrowed, deps, KubernetesConfig{}, nil, true)
	h.src.waker = manualWaker{}
	h.src.pass(h.clk.Now())
	h.src.pass(h.clk.Now().Add(5 * time.Second))
	n := 0
	for len(h.out) > 0 {
		for _, r := range (<-h.out).records {
			n++
			if r.Kubernetes.Namespace != "shop" || r.Kubernetes.Pod != "web-7d9f" {
				t.Errorf("narrowed logs_dir: metadata %+v not taken from the directory name", r.Kubernetes)
			}
		}
	}
	if n != 3 {
		t.Fatalf("narrowed logs_dir: %d records, want 3", n)
	}

	// containers: selects which containers are read
	cfg.Containers = []string{"sidecar-db"}
	h.out = make(chan *batch, 100)
	deps.out = h.out
	h.src = newPodSource(cfg, deps, KubernetesConfig{Namespace: "shop", Pod: "web-7d9f", UID: "0a1b2c"}, nil, true)
	h.src.waker = manualWaker{}
	h.src.pass(h.clk.Now())
	h.src.pass(h.clk.Now().Add(5 * time.Second))
	var msgs []string
	for len(h.out) > 0 {
		for _, r := range (<-h.out).records {
			msgs = append(msgs, r.Message)
		}
	}
	if strings.Join(msgs, ",") != "db line" {
		t.Fatalf("with containers: [sidecar-db] got %q", msgs)
	}
}

// The pod's own directory mounted under any path (subPathExpr cannot name
// the mount point after the pod) is read as such; a pod source that finds
// nothing says so in the log, the sources API and readiness, and takes it
// back once files appear.
func TestPodSourceNarrowedMountAndNothingToRead(t *testing.T) {
	mount := filepath.Join(t.TempDir(), "pod") // as docs/kubernetes.md §7 mounts it
	cfg := defaultSource()
	cfg.Name, cfg.Type, cfg.LogsDir, cfg.StartAt = "pod", "pod", mount, "beginning"
	clk := clocktest.New(time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC))
	out := make(chan *batch, 100)
	status := newSourceStatus("pod", "pod")
	var logs bytes.Buffer
	deps := sourceDeps{logger: slog.New(slog.NewTextHandler(&logs, nil)), metrics: newSelfMetrics(prometheus.NewRegistry()), clock: clk, out: out, status: status, batchRecords: 100}
	src := newPodSource(cfg, deps, KubernetesConfig{Namespace: "shop", Pod: "web-7d9f", UID: "0a1b2c"}, nil, true)
	src.waker = manualWaker{}
	c := &Collector{sources: []*runningSource{{status: status}}}
	c.ready.Store(true)
	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		c.readyz(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}

	src.pass(clk.Now())
	if code, _ := readyz(); code != 200 {
		t.Fatalf("readyz %d before the source had time to find files", code)
	}
	clk.Advance(podEmptyAfter)
	src.pass(clk.Now())
	if code, body := readyz(); code != 503 || !strings.Contains(body, "no log files found") {
		t.Fatalf("readyz %d %q with nothing to read", code, body)
	}
	if !strings.Contains(logs.String(), "source reads nothing") {
		t.Fatalf("nothing logged:\n%s", logs.String())
	}
	rec := httptest.NewRecorder()
	c.sourcesAPI(rec, httptest.NewRequest("GET", "/api/v1/sources", nil))
	if !strings.Contains(rec.Body.String(), `"problem": "no log files found`) {
		t.Fatalf("sources API without the problem:\n%s", rec.Body.String())
	}

	os.MkdirAll(filepath.Join(mount, "app"), 0o755)
	os.WriteFile(filepath.Join(mount, "app", "0.log"), []byte("2026-11-23T20:31:02Z stdout F narrowed line\n"), 0o644)
	for range 3 {
		clk.Advance(5 * time.Second)
		src.pass(clk.Now())
	}
	var msgs []string
	for len(out) > 0 {
		for _, r := range (<-out).records {
			msgs = append(msgs, r.Message+" "+r.Kubernetes.Namespace+"/"+r.Kubernetes.Pod+"/"+r.Kubernetes.Container)
		}
	}
	if strings.Join(msgs, ",") != "narrowed line //app" && strings.Join(msgs, ",") != "narrowed line shop/web-7d9f/app" {
		t.Fatalf("narrowed mount read %q", msgs)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("readyz %d %q once files appeared", code, body)
	}
}
