package fluent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
)

// fakeClock is stepped by the test: After records the wait and returns a
// channel the test fires after moving Now forward.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan time.Duration
	fire  chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

func (c *fakeClock) step(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	c.fire <- now
}

// TestBackoffIsSteppedByTheClock: with retry.initial an hour, the exporter
// waits on the injected timer for a jittered backoff in [30m, 1h] after the
// aggregator refused, and delivers as soon as the test steps the clock.
func TestBackoffIsSteppedByTheClock(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	clk := &fakeClock{now: baseTime, waits: make(chan time.Duration), fire: make(chan time.Time)}
	cfg := testConfig(s.Addr())
	cfg.Retry = RetryConfig{Initial: time.Hour, Max: 4 * time.Hour}
	e, err := New(cfg, Deps{Deps: exporters.Deps{Registerer: prometheus.NewRegistry(), Now: clk.Now}, After: clk.After})
	if err != nil {
		t.Fatal(err)
	}
	ch := exportAsync(e, numbered(0, 5))
	var d time.Duration
	select {
	case d = <-clk.waits:
	case <-time.After(20 * time.Second):
		t.Fatal("the exporter never waited for a backoff")
	}
	if d < 30*time.Minute || d > time.Hour {
		t.Fatalf("first backoff %s, want within [30m, 1h]", d)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	clk.step(d)
	wait(t, ch, "export after the backoff")
	if s.Stats().Entries != 5 {
		t.Fatalf("entries %d", s.Stats().Entries)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
