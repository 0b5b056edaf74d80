package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShutdownWithinOneDeadline: with Fluentd unreachable and batches
// stuck, SIGTERM to exit takes at most shutdown.grace_period +
// shutdown.drain_timeout, exporter close, final checkpoint and HTTP
// shutdown included (the fluent exporter's own shutdown_timeout is longer
// on purpose), and the log counts what was not delivered once.
func TestShutdownWithinOneDeadline(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	var lines strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&lines, "2026-12-03T07:14:05Z INFO line %d\n", i)
	}
	if err := os.WriteFile(logPath, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const grace, drain = time.Second, 3 * time.Second
	cfg := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf(`state_dir: %q
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, poll_interval: 100ms}
pipeline: {batch_records: 100, queue_batches: 2}
exporters:
  stdout: {enabled: false}
  fluent:
    enabled: true
    address: %q
    send_timeout: 1s
    ack_timeout: 1s
    shutdown_timeout: 10s
    retry: {initial: 100ms, max: 500ms}
procinfo: {enabled: false}
shutdown: {grace_period: %s, drain_timeout: %s}
`, filepath.Join(dir, "state"), logPath, freeAddr(t), grace, drain)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--config", cfg)
	waitFor(t, "the fluent exporter to be failing", func() bool {
		return strings.Contains(d.stderrText(), "fluent")
	})
	start := time.Now()
	code, ok := stopWithin(d, 30*time.Second)
	took := time.Since(start)
	if !ok || code != 0 {
		t.Fatalf("SIGTERM: exit %d after %s (clean: %v)\n%s", code, took, ok, d.stderrText())
	}
	// A second of slack for the signal's delivery and the process's exit.
	if bound := grace + drain + time.Second; took > bound {
		t.Errorf("SIGTERM to exit took %s, want at most grace_period + drain_timeout (%s + %s)", took.Round(time.Millisecond), grace, drain)
	}
	t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))
	stderr := d.stderrText()
	// One count of what fluent did not deliver: the pipeline's, not a
	// second one from the exporter's Close.
	reports := 0
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "not delivered") && strings.Contains(line, "fluent") && !strings.Contains(line, "retrying") {
			reports++
		}
	}
	if reports != 1 {
		t.Errorf("%d reports of fluent's undelivered records, want exactly one count:\n%s", reports, stderr)
	}
	if strings.Contains(stderr, "writing checkpoints") {
		t.Errorf("the last checkpoint was not written:\n%s", stderr)
	}
	if !strings.Contains(stderr, "obsadapter stopped") {
		t.Errorf("no clean stop in the log:\n%s", stderr)
	}
}
