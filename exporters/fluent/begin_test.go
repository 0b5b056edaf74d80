package fluent

import (
	"context"
	"errors"
	"testing"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
)

// TestBeginKeepsOrder: batches begun one after another, before any is
// acknowledged, are held together and arrive in the order they were begun;
// each wait returns once its own chunks are acknowledged.
func TestBeginKeepsOrder(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	cfg := testConfig(s.Addr())
	cfg.Batch.MaxRecords = 10
	e := newTestExporter(t, cfg, "")
	var waits []func(context.Context) error
	for i := range 4 {
		w, err := e.Begin(context.Background(), numbered(i*25, 25))
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	if r, _ := e.mem().Depth(); r != 100 {
		t.Fatalf("%d records held, want 100", r)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	for i, w := range waits {
		if err := w(context.Background()); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	for i, r := range s.Records() {
		if v, _ := r.Lookup("seq"); v.Int64() != int64(i) {
			t.Fatalf("record %d arrived as #%d", v.Int64(), i)
		}
	}
	if n := len(s.Records()); n != 100 {
		t.Fatalf("%d records arrived, want 100", n)
	}
}

// TestBeginBackpressure: batches begun but not acknowledged count against
// the memory buffer; Begin blocks when it is full, and a wait that gives up
// withdraws its chunks.
func TestBeginBackpressure(t *testing.T) {
	s := forwardtest.Start(t, forwardtest.Options{})
	s.Stop()
	cfg := testConfig(s.Addr())
	cfg.Batch = BatchConfig{MaxRecords: 10, MaxBytes: 1 << 20}
	cfg.Buffer.MaxRecords, cfg.Buffer.MaxBytes = 30, 1<<20
	e := newTestExporter(t, cfg, "")
	var waits []func(context.Context) error
	for i := range 3 {
		w, err := e.Begin(context.Background(), numbered(i*10, 10))
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	blocked := make(chan error, 1)
	go func() {
		_, err := e.Begin(ctx, numbered(30, 10))
		blocked <- err
	}()
	waitFor(t, "the first chunk in flight", e.mem().Changes, e.mem().Sending)
	select {
	case err := <-blocked:
		t.Fatalf("Begin returned %v with the buffer full", err)
	default:
	}
	cancel()
	if err := <-blocked; !errors.Is(err, context.Canceled) {
		t.Fatalf("blocked Begin: %v", err)
	}

	// The third batch gives up waiting: its chunk leaves the buffer.
	if err := waits[2](ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("third wait: %v", err)
	}
	if r, _ := e.mem().Depth(); r != 20 {
		t.Fatalf("%d records held, want 20", r)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	for i, w := range waits[:2] {
		if err := w(context.Background()); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	requireAll(t, s, 20)
}
