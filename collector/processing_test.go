package collector

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/processors"
	"github.com/obsadapter/obsadapter/record"
)

// mustChain builds a chain from a YAML processors list, for a pipeline of
// the stdout exporter alone.
func mustChain(t *testing.T, clk clock.Clock, list string) *processors.Chain {
	t.Helper()
	var specs []processors.Spec
	if err := yaml.Unmarshal([]byte(list), &specs); err != nil {
		t.Fatal(err)
	}
	c, err := buildChain(specs, nil, ExportersConfig{Stdout: StdoutConfig{Enabled: true}}, clk)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parsersOff() parsers.Multiline { return parsers.Multiline{Mode: parsers.MultilineOff} }

// TestCheckpointsWithProcessors: a record a processor drops was handled, so
// its file's checkpoint advances without waiting for any exporter (here:
// one that is down); a record kept advances it only once exported.
func TestCheckpointsWithProcessors(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string // exported once the exporter is back
	}{
		{name: "every record dropped: acknowledged while the exporter is down", lines: []string{"drop 1", "drop 2"}},
		{name: "a record kept: the checkpoint waits for its ack", lines: []string{"drop 1", "keep 2", "drop 3"}, want: []string{"keep 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			appendLines(t, log, tt.lines...)
			st, _ := os.Stat(log)
			gate := newGateExporter(false)
			rig := newPipelineRig(t, gate, 4)
			deps := rig.deps("app")
			deps.chain = mustChain(t, clock.Real, `[{filter: {drop: {message_contains: "drop"}}}]`)
			cfg := defaultSource()
			cfg.Name, cfg.Type, cfg.StartAt, cfg.Include = "app", "file", "beginning", []string{log}
			cfg.Multiline = parsersOff()
			src := newFileSource(cfg, deps, nil, true)
			src.waker = manualWaker{}
			src.pass(time.Now())
			acked := func() int64 {
				cps := deps.status.checkpoints()
				if len(cps) != 1 {
					return -1
				}
				return cps[0].Offset
			}
			if len(tt.want) == 0 {
				waitUntil(t, "the checkpoint at the end of the file", func() bool { return acked() == st.Size() })
				gate.mu.Lock()
				calls := gate.calls
				gate.mu.Unlock()
				if calls != 0 {
					t.Errorf("the exporter was called %d times with nothing to export", calls)
				}
				return
			}
			waitUntil(t, "the batch at the exporter", func() bool { gate.mu.Lock(); defer gate.mu.Unlock(); return gate.calls > 0 })
			if got := acked(); got != 0 {
				t.Fatalf("checkpoint at %d before the kept record was acknowledged", got)
			}
			close(gate.open)
			waitUntil(t, "the checkpoint at the end of the file", func() bool { return acked() == st.Size() })
			if got := gate.messages(); !slices.Equal(got, tt.want) {
				t.Errorf("exported %q, want %q", got, tt.want)
			}
		})
	}
}

// TestChainFlush: throttle summaries do not wait for the next record: a
// source flushes its chain every second by its clock, and when it stops.
func TestChainFlush(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Multiline = parsersOff() })
	h.src.shaping.chain = mustChain(t, h.clk, `[{throttle: {limit: 2, window: 1m}}]`)
	appendLines(t, log, seq("line", 1, 5)...)
	h.src.pass(h.clk.Now())
	expectLines(t, h.collect(), []string{"line 1", "line 2"})
	h.clk.Advance(500 * time.Millisecond)
	h.src.pass(h.clk.Now())
	expectLines(t, h.collect(), nil)
	h.clk.Advance(500 * time.Millisecond)
	h.src.pass(h.clk.Now()) // a second after the first pass: no record came, the summary does
	expectLines(t, h.collect(), []string{"3 records dropped by throttle for key app"})
	appendLines(t, log, seq("more", 1, 2)...)
	h.src.pass(h.clk.Now())
	expectLines(t, h.collect(), nil)
	expectLines(t, h.stop(), []string{"2 records dropped by throttle for key app"})
	if got := testutil.ToFloat64(h.metrics.processorRecords.WithLabelValues("app", "throttle", "dropped")); got != 5 {
		t.Errorf("dropped by throttle = %v, want 5", got)
	}
	if got := testutil.ToFloat64(h.metrics.processorRecords.WithLabelValues("app", "throttle", "kept")); got != 2 {
		t.Errorf("kept by throttle = %v, want 2", got)
	}
}

// TestProcessorMetrics: a source's steps count per result, and the
// built-in per-level counts see records before the processors unless
// count_before_processors is off.
func TestProcessorMetrics(t *testing.T) {
	tests := []struct {
		name        string
		countBefore bool
		wantDebug   float64 // obsadapter_records_total{level="debug"}
	}{
		{name: "counted before the processors (default)", countBefore: true, wantDebug: 2},
		{name: "counted as exported", countBefore: false, wantDebug: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			appendLines(t, log,
				`{"level":"debug","msg":"d1"}`, `{"level":"info","msg":"i1"}`,
				`{"level":"debug","msg":"d2"}`, `{"level":"info","msg":"i2 token=hunter2hunter2"}`)
			cfgPath := filepath.Join(dir, "config.yaml")
			os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
sources:
  - name: app
    type: file
    include: [%q]
    start_at: beginning
    processors:
      - filter: {keep: {min_level: info}}
processors:
  - name: secrets
    redact: {}
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: true, count_before_processors: %v}
procinfo: {enabled: false}
http: {listen: "127.0.0.1:0"}
`, log, tt.countBefore)), 0o644)
			c, out, stop := runCollector(t, cfgPath)
			want := map[string]float64{
				`obsadapter_processor_records_total{processor="filter",result="dropped",source="app"}`:  2,
				`obsadapter_processor_records_total{processor="filter",result="kept",source="app"}`:     2,
				`obsadapter_processor_records_total{processor="secrets",result="changed",source="app"}`: 1,
				`obsadapter_processor_records_total{processor="secrets",result="kept",source="app"}`:    1,
				`obsadapter_records_total{format="json",level="debug",source="app"}`:                    tt.wantDebug,
				`obsadapter_records_total{format="json",level="info",source="app"}`:                     2,
			}
			var got map[string]float64
			waitUntil(t, "the info records at both exporters", func() bool {
				// Stdout first, then the registry: a batch's steps are counted
				// before it is sent, so once stdout has i2 its counts are in.
				// Read the other way round, counted before the processors
				// could reach 2 between the two reads with i2's steps not
				// yet counted.
				if len(out.messages(t)) != 2 {
					return false
				}
				got = gathered(t, c)
				return got[`obsadapter_records_total{format="json",level="info",source="app"}`] == 2
			})
			for series, w := range want {
				if got[series] != w {
					t.Errorf("%s = %v, want %v", series, got[series], w)
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if m := out.messages(t); !slices.Equal(m, []string{"app:i1", "app:i2 token=***"}) {
				t.Errorf("stdout got %q", m)
			}
		})
	}
}

// gathered is every counter and gauge of the collector's registry, by
// series name with its sorted labels.
func gathered(t *testing.T, c *Collector) map[string]float64 {
	t.Helper()
	mfs, err := c.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// TestReloadProcessors: a reload that changes only processors (the
// global list here) keeps the source running: lines written before,
// during and after it arrive exactly once, and every line written after
// the reload returned carries the new step's change.
func TestReloadProcessors(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	cfgPath := filepath.Join(dir, "config.yaml")
	writeCfg := func(version string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, multiline: "off"}
processors:
  - fields: {add: {version: %s}}
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: false}
procinfo: {enabled: false}
http: {listen: "127.0.0.1:0"}
`, log, version)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("one")
	appendLines(t, log, seq("before", 1, 100)...)
	c, out, stop := runCollector(t, cfgPath)
	var written atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	go func() { // lines keep coming while the reload happens
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if _, err := fmt.Fprintf(f, "during %d\n", i); err != nil {
				t.Error(err)
				return
			}
			written.Store(int64(i))
			time.Sleep(time.Millisecond)
		}
	}()
	waitUntil(t, "some lines", func() bool { return written.Load() > 50 })
	writeCfg("two")
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	appendLines(t, log, seq("after", 1, 100)...)
	during := int(written.Load())
	waitUntil(t, "every line", func() bool { return len(stdoutRecords(t, out)) >= 200+during })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	recs := stdoutRecords(t, out)
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.Message]++
		v, _ := r.Lookup("version")
		if strings.HasPrefix(r.Message, "after") && v.Str() != "two" {
			t.Errorf("%q has version %q, want the reloaded step's \"two\"", r.Message, v.Str())
		}
	}
	want := slices.Concat(seq("before", 1, 100), seq("during", 1, during), seq("after", 1, 100))
	for _, m := range want {
		if seen[m] != 1 {
			t.Errorf("%q delivered %d times", m, seen[m])
		}
	}
	if len(recs) != len(want) {
		t.Errorf("%d records, want %d", len(recs), len(want))
	}
	if got := testutil.ToFloat64(c.metrics.reloads.WithLabelValues("success")); got != 1 {
		t.Errorf("reloads = %v, want 1", got)
	}
}

// stdoutRecords decodes the stdout exporter's NDJSON.
func stdoutRecords(t *testing.T, s *syncBuffer) []record.Record {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []record.Record
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var r record.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad stdout line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestNamedParser: a parse step's named parsers parse one line each and
// say when it does not fit.
func TestNamedParser(t *testing.T) {
	tests := []struct {
		name, format, text string
		missing            bool // no parser of that name
		ok                 bool
		wantMsg            string
	}{
		{name: "json", format: "json", text: `{"msg":"hi","user":"bob"}`, ok: true, wantMsg: "hi"},
		{name: "json given text", format: "json", text: "not json", ok: false},
		{name: "logfmt", format: "logfmt", text: `level=warn msg="disk low" pct=91`, ok: true, wantMsg: "disk low"},
		{name: "auto finds a format", format: "auto", text: `{"msg":"hi"}`, ok: true, wantMsg: "hi"},
		{name: "auto with plain text only", format: "auto", text: "just words", ok: false},
		{name: "an envelope is not a parser", format: "cri", missing: true},
		{name: "unknown name", format: "nope", missing: true},
	}
	parsersOf := namedParser(clock.Real)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse, found := parsersOf(tt.format)
			if found == tt.missing {
				t.Fatalf("parser %q found = %v", tt.format, found)
			}
			if !found {
				return
			}
			r, ok := parse(tt.text)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v (record %+v)", ok, tt.ok, r)
			}
			if ok && r.Message != tt.wantMsg {
				t.Errorf("message = %q, want %q", r.Message, tt.wantMsg)
			}
		})
	}
}
