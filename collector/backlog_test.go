package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/clock/clocktest"
)

// A file larger than one pass's read budget is read to its end at once: a
// backlog (start_at: beginning, a restart behind) brings no file events, so
// waiting for the poll interval between passes would throttle it.
func TestBacklogReadWithoutWaiting(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	const lines = 150000 // ~10 MiB, several read budgets
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&b, "backlog line %d %s\n", i, strings.Repeat("x", 40))
	}
	os.WriteFile(filepath.Join(dir, "app.log"), []byte(b.String()), 0o644)
	gate := newGateExporter(true)
	rig := newPipelineRig(t, gate, 8)
	cfg := defaultSource()
	cfg.Name, cfg.Type, cfg.StartAt = "app", "file", "beginning"
	cfg.Include = []string{filepath.Join(dir, "*.log")}
	cfg.PollInterval = time.Hour // only the backlog rule may bring the next pass
	cfg.Config.Multiline.Mode = 1
	// A clock that never moves: no poll interval can pass, so the source
	// reaches its wait (a timer on this clock) only once a pass ended short
	// of the read budget. That wait, not a wall-clock deadline, is when
	// the file must have been read to its end, however slow the machine.
	clk := clocktest.New(time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))
	deps := rig.deps("app")
	deps.clock = clk
	src := newFileSource(cfg, deps, nil, true)
	src.waker = manualWaker{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.run(ctx)
	// Lines are counted as each batch is handed to the pipeline, all
	// before the wait. BlockUntil gives up after a minute; reading on
	// meanwhile is a slow machine, not a source stuck, so wait again.
	read := func() float64 { return testutil.ToFloat64(rig.metrics.linesRead.WithLabelValues("app")) }
	for before := read(); !clk.BlockUntil(1); before = read() {
		if read() == before {
			t.Fatalf("the source neither read on nor reached its wait in a minute: %v of %d lines read", before, lines)
		}
	}
	if got := read(); got != lines {
		t.Fatalf("waiting with %v of %d lines read", got, lines)
	}
	waitUntil(t, "the whole backlog at the exporter", func() bool { return gate.count() == lines })
}
