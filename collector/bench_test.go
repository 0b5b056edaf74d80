package collector

import (
	"github.com/obsadapter/obsadapter/clock"

	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/processors"
	"github.com/obsadapter/obsadapter/record"
)

// benchCorpus makes a mixed-format corpus with the shared generator (it is
// deterministic and never committed).
func benchCorpus(b *testing.B, lines string) string {
	b.Helper()
	gen := filepath.Join("..", "..", "shared", "bench", "gen_corpus.py")
	if _, err := os.Stat(gen); err != nil {
		b.Skipf("corpus generator %s not found (shared/ must be beside the repository)", gen)
	}
	out := filepath.Join(b.TempDir(), "mixed.log")
	cmd := exec.Command("python3", gen, "--lines", lines, "--seed", "1", "--format", "mixed", "--out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("python3 %s: %v\n%s", gen, err, msg)
	}
	return out
}

// discardExporter counts and drops: the exporters' cost is not measured here.
type discardExporter struct{ n atomic.Int64 }

func (d *discardExporter) Name() string { return "discard" }
func (d *discardExporter) Export(_ context.Context, b record.Batch) error {
	d.n.Add(int64(len(b)))
	return nil
}
func (d *discardExporter) Close(context.Context) error { return nil }

// BenchmarkPipeline reads a mixed-format file from its beginning through the
// real file source (framing, detection, parsing, batching, checkpoint marks)
// into the pipeline, whose one exporter discards.
func BenchmarkPipeline(b *testing.B) { benchPipeline(b, nil) }

// BenchmarkPipelineProcessors is BenchmarkPipeline with processors: a
// filter that keeps every record and the built-in redact.
func BenchmarkPipelineProcessors(b *testing.B) {
	var specs []processors.Spec
	if err := yaml.Unmarshal([]byte(`[{filter: {keep: {any: [{min_level: trace}, {not: {min_level: trace}}]}}}, {redact: {}}]`), &specs); err != nil {
		b.Fatal(err)
	}
	benchPipeline(b, specs)
}

func benchPipeline(b *testing.B, specs []processors.Spec) {
	corpus := benchCorpus(b, "200000")
	st, _ := os.Stat(corpus)
	var lines uint64
	tap := newTapHub(prometheus.NewRegistry()) // no subscriber: the cost of the offers alone
	b.ReportAllocs()
	for b.Loop() {
		exp := &discardExporter{}
		m := newSelfMetrics(prometheus.NewRegistry())
		p := newPipeline(DefaultConfig().Pipeline, []exporters.Exporter{exp}, m, slog.New(slog.DiscardHandler), clock.Real)
		pdone := make(chan struct{})
		go func() { p.run(context.Background()); close(pdone) }()
		cfg := defaultSource()
		cfg.Name, cfg.Type, cfg.StartAt = "bench", "file", "beginning"
		cfg.Include = []string{corpus}
		chain, err := buildChain(specs, nil, ExportersConfig{Stdout: StdoutConfig{Enabled: true}}, clock.Real)
		if err != nil {
			b.Fatal(err)
		}
		deps := sourceDeps{logger: slog.New(slog.DiscardHandler), metrics: m, clock: clock.Real, out: p.in,
			status: newSourceStatus("bench", "file"), batchRecords: 1024, tap: tap, chain: chain}
		src := newFileSource(cfg, deps, nil, true)
		src.waker = manualWaker{}
		src.pass(time.Now())
		src.finish(time.Now())
		close(p.in)
		<-pdone
		lines = 0
		for _, s := range src.stats {
			lines += s.Lines
		}
	}
	b.SetBytes(st.Size())
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkFrame reads a file from its beginning and frames it into lines,
// without parsing: the tailer's raw reading speed (MB/s via SetBytes).
func BenchmarkFrame(b *testing.B) {
	corpus := benchCorpus(b, "400000")
	st, _ := os.Stat(corpus)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f, err := os.Open(corpus)
		if err != nil {
			b.Fatal(err)
		}
		fr := newFramer(0, 1<<20)
		for {
			for {
				_, _, _, ok := fr.next()
				if !ok {
					break
				}
				n++
			}
			if _, err := fr.fill(f); err == io.EOF {
				break
			}
		}
		f.Close()
	}
	_ = n
}
