package collector

import (
	"github.com/obsadapter/obsadapter/clock"

	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// batch is what a source hands to the pipeline: records plus the checkpoint
// marks they carry. Once every exporter is done with it, each mark is
// acknowledged on its file, and the file's low-water mark may advance.
type batch struct {
	records record.Batch
	marks   []markRef
	source  string
	// recycle takes the records' array back once every exporter is done
	// with it (nil: not recycled). Exporters keep nothing of a batch after
	// Export returns or its wait settles.
	recycle chan<- record.Batch

	remaining atomic.Int32 // exporters still working on it
	unsafe    atomic.Bool  // some exporter gave up without delivering it
}

// markRef points at one pending checkpoint mark of one file.
type markRef struct {
	file *fileTrack
	seq  uint64
}

func (b *batch) exporterDone(delivered bool) {
	if !delivered {
		b.unsafe.Store(true)
	}
	if b.remaining.Add(-1) == 0 {
		b.finish()
	}
}

func (b *batch) finish() {
	safe := !b.unsafe.Load()
	for _, m := range b.marks {
		m.file.ack(m.seq, safe)
	}
	if b.recycle != nil {
		clear(b.records) // the spare array must not keep parsed strings alive
		select {
		case b.recycle <- b.records[:0]:
		default:
		}
		b.records = nil
	}
}

// fileTrack is the delivery state of one file: the offsets read and safely
// delivered, and the marks still in flight, acknowledged strictly in order so
// the checkpoint never passes a record that is not safe in every exporter.
type fileTrack struct {
	source string
	id     record.FileID

	mu      sync.Mutex
	path    string
	fp      []byte // the file's first bytes, up to fingerprintSize
	base    uint64 // sequence number of pending[0]
	pending []mark // in send order
	acked   int64  // low-water mark: every byte below is safe
	read    atomic.Int64
	size    atomic.Int64
	closed  bool
	idle    chan struct{} // closed when nothing is left in flight; made by drained
}

type mark struct {
	offset int64
	done   bool
	safe   bool
}

// push records that everything below offset has been handed over in the
// batch being sealed, and returns the mark's sequence number.
func (t *fileTrack) push(offset int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, mark{offset: offset})
	return t.base + uint64(len(t.pending)-1)
}

func (t *fileTrack) ack(seq uint64, safe bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := seq - t.base
	if i >= uint64(len(t.pending)) {
		return
	}
	t.pending[i].done, t.pending[i].safe = true, safe
	n := 0
	for n < len(t.pending) && t.pending[n].done && t.pending[n].safe {
		if t.pending[n].offset > t.acked {
			t.acked = t.pending[n].offset
		}
		n++
	}
	if n > 0 {
		t.pending = append(t.pending[:0], t.pending[n:]...)
		t.base += uint64(n)
	}
	if len(t.pending) == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// drained is closed once no batch with the file's lines is in flight.
func (t *fileTrack) drained() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return closedChan
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	return t.idle
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *fileTrack) pathNow() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.path
}

func (t *fileTrack) setPath(p string) {
	t.mu.Lock()
	t.path = p
	t.mu.Unlock()
}

func (t *fileTrack) fpNow() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fp
}

func (t *fileTrack) setFP(fp []byte) {
	t.mu.Lock()
	t.fp = fp
	t.mu.Unlock()
}

// snapshot is a consistent view for checkpoints and the sources API.
func (t *fileTrack) snapshot() fileSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fileSnapshot{
		Source: t.source, Path: t.path, ID: t.id, FP: append([]byte(nil), t.fp...),
		Acked: t.acked, Read: t.read.Load(), Size: t.size.Load(), InFlight: len(t.pending), Closed: t.closed,
	}
}

type fileSnapshot struct {
	Source   string
	Path     string
	ID       record.FileID
	FP       []byte
	Acked    int64
	Read     int64
	Size     int64
	InFlight int
	Closed   bool
}

// pipeline fans batches out to every exporter. Each exporter has its own
// goroutine and bounded queue; a full queue blocks the fan-out, which blocks
// the sources: backpressure, not loss.
type pipeline struct {
	in      chan *batch
	runners []*runner
	metrics *selfMetrics
	logger  *slog.Logger
}

func newPipeline(cfg PipelineConfig, exps []exporters.Exporter, m *selfMetrics, logger *slog.Logger, clk clock.Clock) *pipeline {
	p := &pipeline{in: make(chan *batch, cfg.QueueBatches), metrics: m, logger: logger}
	for _, e := range exps {
		p.runners = append(p.runners, &runner{
			exp: e, queue: make(chan *batch, cfg.QueueBatches), metrics: m, logger: logger.With("exporter", e.Name()),
			minBackoff: 100 * time.Millisecond, maxBackoff: 30 * time.Second, clock: clock.Or(clk),
		})
	}
	return p
}

// run fans out until in is closed, then closes the exporter queues and waits
// for the runners. Runners deliver until exportCtx ends, then give up on what
// is left (those batches stay unacknowledged, so files re-read them).
func (p *pipeline) run(exportCtx context.Context) {
	var wg sync.WaitGroup
	for _, r := range p.runners {
		wg.Add(1)
		go func() { defer wg.Done(); r.run(exportCtx) }()
	}
	for b := range p.in {
		p.metrics.queueBatches.WithLabelValues("pipeline").Set(float64(len(p.in)))
		if len(p.runners) == 0 || len(b.records) == 0 {
			b.finish()
			continue
		}
		b.remaining.Store(int32(len(p.runners)))
		for _, r := range p.runners {
			r.queue <- b
			p.metrics.queueBatches.WithLabelValues(r.exp.Name()).Set(float64(len(r.queue)))
		}
	}
	for _, r := range p.runners {
		close(r.queue)
	}
	wg.Wait()
}

// maxInFlight bounds the batches a runner has handed to a Pipeliner and not
// yet seen safe. A few are enough to overlap encoding the next batch with the
// aggregator's work on the last one; the exporter's own buffer bounds
// (records, bytes) still apply to them, since Begin blocks while they are
// full.
const maxInFlight = 4

type runner struct {
	exp                    exporters.Exporter
	queue                  chan *batch
	metrics                *selfMetrics
	logger                 *slog.Logger
	minBackoff, maxBackoff time.Duration
	undelivered            atomic.Int64
	clock                  clock.Clock
}

func (r *runner) run(ctx context.Context) {
	if p, ok := r.exp.(exporters.Pipeliner); ok {
		r.runPipelined(ctx, p)
		return
	}
	for b := range r.queue {
		b.exporterDone(r.deliver(ctx, b))
	}
}

// begun is a batch handed over by Begin whose safety is not known yet.
type begun struct {
	b    *batch
	wait func(context.Context) error
}

// runPipelined hands batches over in queue order and settles them in the
// same order, with up to maxInFlight begun and not settled. It settles the
// oldest whenever the window is full or no batch is waiting, so batches are
// acknowledged promptly when the queue runs dry. A batch whose wait fails
// goes the way of a failed Export (retry with backoff, or counted as
// dropped or failed); its file marks are acknowledged only when it is safe,
// so checkpoints never pass it.
func (r *runner) runPipelined(ctx context.Context, p exporters.Pipeliner) {
	var flight []begun // oldest first
	settleOldest := func() {
		f := flight[0]
		flight[0] = begun{}
		flight = flight[1:]
		f.b.exporterDone(r.settle(ctx, f.b, f.wait(ctx)))
	}
	for {
		var b *batch
		ok := true
		switch {
		case len(flight) == 0:
			b, ok = <-r.queue
		case len(flight) < maxInFlight:
			select {
			case b, ok = <-r.queue:
			default:
				settleOldest()
				continue
			}
		default:
			settleOldest()
			continue
		}
		if !ok {
			for len(flight) > 0 {
				settleOldest()
			}
			return
		}
		if ctx.Err() != nil {
			b.exporterDone(r.settle(ctx, b, ctx.Err()))
			continue
		}
		wait, err := p.Begin(ctx, b.records)
		if err != nil {
			// Not handed over: settle the earlier batches first, so the retry
			// (Export) still comes after them.
			for len(flight) > 0 {
				settleOldest()
			}
			b.exporterDone(r.settle(ctx, b, err))
			continue
		}
		flight = append(flight, begun{b, wait})
	}
}

// deliver exports the batch and retries it until it is settled.
func (r *runner) deliver(ctx context.Context, b *batch) bool {
	if err := ctx.Err(); err != nil {
		return r.settle(ctx, b, err)
	}
	return r.settle(ctx, b, r.exp.Export(ctx, b.records))
}

// settle takes the outcome of one attempt at the batch and retries it with
// exponential backoff and jitter until it is safe, permanently dropped, or
// ctx ends. It reports whether the batch may be acknowledged: a permanent
// drop is counted and acknowledged, since retrying cannot help and holding
// the checkpoint back would re-send it forever.
func (r *runner) settle(ctx context.Context, b *batch, err error) bool {
	name, n := r.exp.Name(), float64(len(b.records))
	backoff := r.minBackoff
	var lastLogged time.Time
	for {
		if err == nil {
			r.metrics.exporterRecords.WithLabelValues(name, "sent").Add(n)
			return true
		}
		if exporters.IsPermanent(err) {
			r.metrics.exporterRecords.WithLabelValues(name, "dropped").Add(n)
			r.logger.Error("batch dropped", "records", len(b.records), "source", b.source, "err", err)
			return true
		}
		if ctx.Err() != nil {
			r.metrics.exporterRecords.WithLabelValues(name, "failed").Add(n)
			r.undelivered.Add(int64(len(b.records)))
			return false
		}
		r.metrics.exporterRecords.WithLabelValues(name, "retried").Add(n)
		if now := r.clock.Now(); now.Sub(lastLogged) > 10*time.Second {
			r.logger.Warn("export failed, retrying", "records", len(b.records), "backoff", backoff, "err", err)
			lastLogged = now
		}
		clock.Sleep(ctx, r.clock, backoff/2+rand.N(backoff/2+1))
		backoff = min(backoff*2, r.maxBackoff)
		if err = ctx.Err(); err == nil {
			err = r.exp.Export(ctx, b.records)
		}
	}
}
