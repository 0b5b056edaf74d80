package fluent

import (
	"context"
	"math"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

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

// TestBackoffGrowsAcrossConnectThenFail: a receiver that accepts every
// connection but answers each chunk with a wrong ack. Backoff must grow
// across these connect-then-fail cycles (a successful dial is not a
// success), so in 30 s of clock time the chunk is resent at most
// ⌈log2(30 s / retry.initial)⌉ + 2 times, not once per retry.initial.
func TestBackoffGrowsAcrossConnectThenFail(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					// {"ack": "wrong"}: well-formed, never the chunk's id.
					c.Write([]byte{0x81, 0xa3, 'a', 'c', 'k', 0xa5, 'w', 'r', 'o', 'n', 'g'})
				}
			}()
		}
	}()
	clk := clocktest.New(baseTime)
	cfg := testConfig(ln.Addr().String())
	cfg.Retry = RetryConfig{Initial: time.Second, Max: time.Minute}
	reg := prometheus.NewRegistry()
	e, err := New(cfg, Deps{Deps: exporters.Deps{Registerer: reg, Clock: clk}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Export(ctx, numbered(0, 5)) }()
	for clk.Now().Sub(baseTime) < 30*time.Second {
		if !clk.BlockUntil(1) {
			t.Fatal("the exporter never waited for a backoff")
		}
		clk.Advance(clk.Deadlines()[0].Sub(clk.Now()))
	}
	resends := int(conns.Load()) - 1
	if limit := int(math.Ceil(math.Log2(30))) + 2; resends > limit {
		t.Errorf("%d resends in 30s of clock time with retry.initial 1s, want at most %d", resends, limit)
	}
	t.Logf("%d resends in 30s of clock time", resends)
	if n := testutil.ToFloat64(e.metrics.connErrors.WithLabelValues(ln.Addr().String(), "ack")); n < 1 {
		t.Errorf("wrong acks not counted: %v", n)
	}
	cancel()
	<-done
	closeCtx, stop := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer stop()
	e.Close(closeCtx)
}
