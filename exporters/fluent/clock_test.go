package fluent

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
)

// TestBackoffIsSteppedByTheClock: with retry.initial an hour, the exporter
// waits on the injected timer for a jittered backoff in [30m, 1h] after the
// aggregator refused, and delivers as soon as the test steps the clock.
func TestBackoffIsSteppedByTheClock(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	clk := clocktest.New(baseTime)
	cfg := testConfig(s.Addr())
	cfg.Retry = RetryConfig{Initial: time.Hour, Max: 4 * time.Hour}
	e, err := New(cfg, Deps{Deps: exporters.Deps{Registerer: prometheus.NewRegistry(), Clock: clk}})
	if err != nil {
		t.Fatal(err)
	}
	ch := exportAsync(e, numbered(0, 5))
	if !clk.BlockUntil(1) {
		t.Fatal("the exporter never waited for a backoff")
	}
	d := clk.Deadlines()[0].Sub(clk.Now())
	if d < 30*time.Minute || d > time.Hour {
		t.Fatalf("first backoff %s, want within [30m, 1h]", d)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(d)
	wait(t, ch, "export after the backoff")
	if s.Stats().Entries != 5 {
		t.Fatalf("entries %d", s.Stats().Entries)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
