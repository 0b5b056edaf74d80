// Package exportertest is the conformance suite every exporter runs, as
// slogtest is for slog.Handler: it checks the exporters.Exporter and
// exporters.Pipeliner contracts against a real peer (or a stand-in) that the
// exporter's own test supplies in a Harness.
//
//	func TestConformance(t *testing.T) {
//		exportertest.Run(t, func(t *testing.T) *exportertest.Harness { ... })
//	}
package exportertest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// Harness is one fresh exporter under test and its peer. Run calls the
// factory once per check, so checks do not disturb each other; the factory
// registers its own cleanup (closing the exporter twice must be harmless).
type Harness struct {
	// Exporter is the exporter under test; Run also tests Begin and wait
	// when it is an exporters.Pipeliner.
	Exporter exporters.Exporter

	// Delivered returns every record the peer has received so far, in
	// arrival order, duplicates included (stdout: the lines written, parsed
	// back; fluent: what the forward receiver got).
	Delivered func() []record.Record
	// Count, for a peer that cannot give records back (prometheus: the
	// records counted in its metrics), returns how many it has seen. Set
	// exactly one of Delivered and Count.
	Count func() int
	// Changed, if set, returns a channel closed at the peer's next change,
	// so Run can wait for a Durable exporter's delivery without sleeping.
	Changed func() <-chan struct{}

	// Fail makes every delivery to the peer fail (refused connections, a
	// broken pipe) while on; nil if the peer cannot be made to fail.
	Fail func(on bool)
	// Hang makes the peer take data but never answer (no ack, a write that
	// blocks) while on; nil if it cannot.
	Hang func(on bool)
	// Undeliverable, if set, returns a batch the exporter must refuse with a
	// permanent error (larger than any bound).
	Undeliverable func() record.Batch

	// Ordered: records arrive in the order of Export (and of Begin).
	Ordered bool
	// Durable: Export's nil means "fsynced locally", not "received", so
	// Run waits for delivery (Changed is then required) instead of
	// requiring it at once.
	Durable bool
	// Slack is the time allowed past a ctx deadline for Export, wait and
	// Close to return; 0 means 2s (generous for -race on a busy machine).
	Slack time.Duration
}

func (h *Harness) slack() time.Duration {
	if h.Slack > 0 {
		return h.Slack
	}
	return 2 * time.Second
}

// Batch returns count records numbered from..from+count-1 in the field seq,
// as Run sends them. Exported for harnesses that need a batch of their own.
func Batch(from, count int) record.Batch {
	base := time.Date(2026, 11, 23, 20, 31, 2, 123456789, time.UTC)
	b := make(record.Batch, count)
	for i := range b {
		n := from + i
		b[i] = record.Record{
			Time: base.Add(time.Duration(n) * time.Millisecond), ObservedTime: base.Add(time.Second),
			Severity: record.SeverityInfo, Message: "exportertest record " + strconv.Itoa(n), Format: "json",
			Source: "app", Path: "/var/log/app/app.log", Stream: "stdout",
			Fields: []record.Field{{Key: "seq", Value: record.IntValue(int64(n))}},
		}
	}
	return b
}

// Run runs every check that the harness supports as a subtest of t.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	checks := []struct {
		name string
		run  func(t *testing.T, h *Harness)
	}{
		{"ExportNilMeansDelivered", testExportNilMeansDelivered},
		{"EmptyBatch", testEmptyBatch},
		{"Order", testOrder},
		{"PipelinerWaitNilMeansDelivered", testPipeliner},
		{"FailureIsRetryable", testFailureIsRetryable},
		{"Permanent", testPermanent},
		{"ExportHonoursCanceledContext", testCanceledContext},
		{"ExportHonoursDeadline", testExportDeadline},
		{"WaitHonoursDeadline", testWaitDeadline},
		{"CloseAfterDelivery", testCloseAfterDelivery},
		{"CloseHonoursDeadline", testCloseDeadline},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if (h.Delivered == nil) == (h.Count == nil) {
				t.Fatal("exportertest: set exactly one of Harness.Delivered and Harness.Count")
			}
			if h.Durable && h.Changed == nil {
				t.Fatal("exportertest: a Durable harness needs Changed")
			}
			c.run(t, h)
		})
	}
}

func seq(r record.Record) (int, bool) {
	v, ok := r.Lookup("seq")
	if !ok || v.Kind() != record.KindInt {
		return 0, false
	}
	return int(v.Int64()), true
}

// received reports which of the batch's records the peer has: for
// Delivered, each one by its seq with the same JSON form; for Count, only
// how many arrived since base.
func (h *Harness) missing(t *testing.T, b record.Batch, base int) string {
	t.Helper()
	if h.Count != nil {
		if got := h.Count() - base; got < len(b) {
			return strconv.Itoa(len(b)-got) + " records not counted"
		}
		return ""
	}
	got := map[int]string{}
	for _, r := range h.Delivered() {
		if n, ok := seq(r); ok {
			got[n] = string(r.AppendJSON(nil))
		}
	}
	for i := range b {
		n, _ := seq(b[i])
		js, ok := got[n]
		if !ok {
			return "record seq " + strconv.Itoa(n) + " not delivered"
		}
		if want := string(b[i].AppendJSON(nil)); js != want {
			return "record seq " + strconv.Itoa(n) + " delivered as\n" + js + "\nwant\n" + want
		}
	}
	return ""
}

func (h *Harness) count() int {
	if h.Count != nil {
		return h.Count()
	}
	return len(h.Delivered())
}

// requireDelivered fails unless every record of b is with the peer: at once,
// or for a Durable exporter within the slack-bounded wait for the peer.
func (h *Harness) requireDelivered(t *testing.T, b record.Batch, base int, what string) {
	t.Helper()
	if !h.Durable {
		if m := h.missing(t, b, base); m != "" {
			t.Fatalf("%s returned nil but the batch is not delivered: %s", what, m)
		}
		return
	}
	deadline := clock.Real.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		ch := h.Changed()
		m := h.missing(t, b, base)
		if m == "" {
			return
		}
		select {
		case <-ch:
		case <-deadline.C():
			t.Fatalf("%s returned nil (durable) but the batch never arrived: %s", what, m)
		}
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// timed runs f and fails if it takes longer than limit.
func timed(t *testing.T, what string, limit time.Duration, f func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		return err
	case <-clock.Real.NewTimer(limit).C():
		t.Fatalf("%s did not return within %s", what, limit)
		return nil
	}
}

func testExportNilMeansDelivered(t *testing.T, h *Harness) {
	for i := range 3 {
		b := Batch(i*10, 10)
		base := h.count()
		if err := h.Exporter.Export(ctxFor(t), b); err != nil {
			t.Fatalf("Export %d: %v", i, err)
		}
		h.requireDelivered(t, b, base, "Export")
	}
}

func testEmptyBatch(t *testing.T, h *Harness) {
	if err := h.Exporter.Export(ctxFor(t), record.Batch{}); err != nil {
		t.Fatalf("Export of an empty batch: %v", err)
	}
}

// inOrder checks that the first arrival of each seq is in increasing order
// and that seqs 0..n-1 all arrived.
func inOrder(t *testing.T, h *Harness, n int) {
	t.Helper()
	seen := map[int]bool{}
	last := -1
	for _, r := range h.Delivered() {
		s, ok := seq(r)
		if !ok || seen[s] {
			continue
		}
		seen[s] = true
		if s < last {
			t.Fatalf("record %d arrived after record %d", s, last)
		}
		last = s
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records arrived, want %d", len(seen), n)
	}
}

func testOrder(t *testing.T, h *Harness) {
	if !h.Ordered || h.Delivered == nil {
		t.Skip("the exporter does not promise order, or its peer cannot show it")
	}
	for i := range 5 {
		if err := h.Exporter.Export(ctxFor(t), Batch(i*7, 7)); err != nil {
			t.Fatalf("Export %d: %v", i, err)
		}
	}
	h.requireDelivered(t, Batch(0, 35), 0, "Export")
	inOrder(t, h, 35)
}

func testPipeliner(t *testing.T, h *Harness) {
	p, ok := h.Exporter.(exporters.Pipeliner)
	if !ok {
		t.Skip("not a Pipeliner")
	}
	// Hold the batches back, where the peer allows, so that they are all on
	// their way at once.
	hold := h.Fail
	if hold == nil {
		hold = h.Hang
	}
	if hold != nil {
		hold(true)
	}
	var waits []func(context.Context) error
	for i := range 4 {
		w, err := p.Begin(ctxFor(t), Batch(i*10, 10))
		if err != nil {
			t.Fatalf("Begin %d: %v", i, err)
		}
		waits = append(waits, w)
	}
	if hold != nil {
		hold(false)
	}
	for i, w := range waits {
		if err := w(ctxFor(t)); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
		h.requireDelivered(t, Batch(i*10, 10), 0, "wait")
	}
	if h.Ordered && h.Delivered != nil {
		inOrder(t, h, 40)
	}
}

func testFailureIsRetryable(t *testing.T, h *Harness) {
	if h.Fail == nil {
		t.Skip("the peer cannot be made to fail")
	}
	b := Batch(0, 10)
	h.Fail(true)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := timed(t, "Export to a failing peer", 200*time.Millisecond+h.slack(), func() error { return h.Exporter.Export(ctx, b) })
	switch {
	case err == nil && !h.Durable:
		t.Fatal("Export to a failing peer returned nil")
	case exporters.IsPermanent(err):
		t.Fatalf("a peer's failure is not permanent, got %v", err)
	}
	h.Fail(false)
	if err == nil {
		h.requireDelivered(t, b, 0, "Export (durable)")
		return
	}
	// The pipeline retries the same batch: it must get through now.
	if err := h.Exporter.Export(ctxFor(t), b); err != nil {
		t.Fatalf("retry after the peer recovered: %v", err)
	}
	h.requireDelivered(t, b, 0, "the retry")
}

func testPermanent(t *testing.T, h *Harness) {
	if h.Undeliverable == nil {
		t.Skip("no undeliverable batch")
	}
	err := h.Exporter.Export(ctxFor(t), h.Undeliverable())
	if !exporters.IsPermanent(err) {
		t.Fatalf("undeliverable batch: got %v, want an error wrapped with exporters.Permanent", err)
	}
	// The exporter is still usable.
	b := Batch(100, 5)
	base := h.count()
	if err := h.Exporter.Export(ctxFor(t), b); err != nil {
		t.Fatalf("Export after a permanent error: %v", err)
	}
	h.requireDelivered(t, b, base, "Export")
}

func testCanceledContext(t *testing.T, h *Harness) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := Batch(0, 5)
	base := h.count()
	err := timed(t, "Export with a canceled ctx", h.slack(), func() error { return h.Exporter.Export(ctx, b) })
	if err == nil {
		h.requireDelivered(t, b, base, "Export with a canceled ctx")
	} else if exporters.IsPermanent(err) {
		t.Fatalf("a canceled ctx is not a permanent failure: %v", err)
	}
}

// stall makes the peer hang, or else fail; it reports false if it can do
// neither. The peer recovers when the test ends.
func stall(t *testing.T, h *Harness) bool {
	switch {
	case h.Hang != nil:
		h.Hang(true)
		t.Cleanup(func() { h.Hang(false) })
	case h.Fail != nil:
		h.Fail(true)
		t.Cleanup(func() { h.Fail(false) })
	default:
		return false
	}
	return true
}

func testExportDeadline(t *testing.T, h *Harness) {
	if !stall(t, h) {
		t.Skip("the peer can neither hang nor fail")
	}
	const d = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	b := Batch(0, 5)
	err := timed(t, "Export to a stalled peer", d+h.slack(), func() error { return h.Exporter.Export(ctx, b) })
	switch {
	case err == nil && !h.Durable:
		t.Fatal("Export to a stalled peer returned nil")
	case exporters.IsPermanent(err):
		t.Fatalf("a deadline is not a permanent failure: %v", err)
	}
}

func testWaitDeadline(t *testing.T, h *Harness) {
	p, ok := h.Exporter.(exporters.Pipeliner)
	if !ok {
		t.Skip("not a Pipeliner")
	}
	if !stall(t, h) {
		t.Skip("the peer can neither hang nor fail")
	}
	w, err := p.Begin(ctxFor(t), Batch(0, 5))
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	const d = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	err = timed(t, "wait on a stalled peer", d+h.slack(), func() error { return w(ctx) })
	switch {
	case err == nil && !h.Durable:
		t.Fatal("wait on a stalled peer returned nil")
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("wait gave up with %v, want an error wrapping the ctx's", err)
	}
}

func testCloseAfterDelivery(t *testing.T, h *Harness) {
	b := Batch(0, 5)
	if err := h.Exporter.Export(ctxFor(t), b); err != nil {
		t.Fatalf("Export: %v", err)
	}
	h.requireDelivered(t, b, 0, "Export")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := timed(t, "Close", time.Second+h.slack(), func() error { return h.Exporter.Close(ctx) }); err != nil {
		t.Fatalf("Close with nothing pending: %v", err)
	}
}

func testCloseDeadline(t *testing.T, h *Harness) {
	if h.Hang == nil {
		t.Skip("the peer cannot hang")
	}
	h.Hang(true)
	t.Cleanup(func() { h.Hang(false) })
	var wait func(context.Context) error
	b := Batch(0, 5)
	if p, ok := h.Exporter.(exporters.Pipeliner); ok {
		// Leave a batch on its way, unacknowledged, for Close to give up.
		w, err := p.Begin(ctxFor(t), b)
		if err != nil {
			t.Fatalf("Begin: %v", err)
		}
		wait = w
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		timed(t, "Export to a hung peer", 100*time.Millisecond+h.slack(), func() error { return h.Exporter.Export(ctx, b) })
	}
	const d = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	timed(t, "Close with a hung peer", d+h.slack(), func() error { return h.Exporter.Close(ctx) })
	if wait != nil {
		err := timed(t, "wait after Close", h.slack(), func() error { return wait(ctxFor(t)) })
		if err == nil && !h.Durable {
			t.Fatal("wait returned nil for a batch the hung peer never acknowledged")
		}
	}
}
