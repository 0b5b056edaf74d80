package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	src := newFileSource(cfg, rig.deps("app"), nil, true)
	src.waker = manualWaker{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.run(ctx)
	waitUntil(t, "the whole backlog", func() bool { return gate.count() == lines })
}
