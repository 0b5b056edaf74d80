package collector

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// pipeline fans batches out to every exporter. Each exporter has its own
// goroutine and bounded queue; a full queue blocks the fan-out, which blocks
// the sources: backpressure, not loss.
type pipeline struct {
	in      chan *batch
	batches atomic.Uint64 // taken from in, for releaseWhenIdle
	runners []*runner
	metrics *selfMetrics
	logger  *slog.Logger
}

func newPipeline(cfg PipelineConfig, exps []exporters.Exporter, m *selfMetrics, logger *slog.Logger, clk clock.Clock) *pipeline {
	p := &pipeline{in: make(chan *batch, cfg.QueueBatches), metrics: m, logger: logger}
	for i, e := range exps {
		p.runners = append(p.runners, &runner{
			exp: e, bit: 1 << i, queue: make(chan *batch, cfg.QueueBatches), metrics: m, logger: logger.With("exporter", e.Name()),
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
		p.batches.Add(1)
		p.metrics.queueBatches.WithLabelValues("pipeline").Set(float64(len(p.in)))
		// An exporter that no record is routed to is done with the batch
		// at once: its marks (checkpoints) do not wait for it.
		n := 0
		for _, r := range p.runners {
			if b.wants(r.bit) {
				n++
			}
		}
		if n == 0 {
			b.finish()
			continue
		}
		b.remaining.Store(int32(n))
		for _, r := range p.runners {
			if !b.wants(r.bit) {
				continue
			}
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
	bit                    uint64 // the exporter's bit in a batch's route masks
	queue                  chan *batch
	spare                  []record.Batch // arrays for routed sub-batches, at most maxInFlight+1
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
		recs, owned := r.recordsOf(b)
		b.exporterDone(r.deliver(ctx, b, recs))
		r.release(recs, owned)
	}
}

// recordsOf is what of the batch goes to this exporter: the batch itself
// when every record does (always, without a route processor), else the
// records routed here, copied into one of the runner's arrays (owned).
// The array is free again once the exporter is done with it (release),
// since exporters keep nothing of a batch after Export or its wait. Once
// exporterDone is called the batch may be finished by another runner, so
// release must not look at it.
func (r *runner) recordsOf(b *batch) (recs record.Batch, owned bool) {
	if b.routes == nil || b.every&r.bit != 0 {
		return b.records, false
	}
	if n := len(r.spare); n > 0 {
		recs, r.spare = r.spare[n-1], r.spare[:n-1]
	}
	for i, m := range b.routes {
		if m&r.bit != 0 {
			recs = append(recs, b.records[i])
		}
	}
	return recs, true
}

// release takes back the array recordsOf copied into, if it did.
func (r *runner) release(recs record.Batch, owned bool) {
	if !owned || len(r.spare) > maxInFlight {
		return
	}
	clear(recs) // a spare array must not keep parsed strings alive
	r.spare = append(r.spare, recs[:0])
}

// begun is a batch handed over by Begin whose safety is not known yet.
type begun struct {
	b     *batch
	recs  record.Batch // what of it went to this exporter
	owned bool         // recs is the runner's array
	wait  func(context.Context) error
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
		f.b.exporterDone(r.settle(ctx, f.b, f.recs, f.wait(ctx)))
		r.release(f.recs, f.owned)
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
		recs, owned := r.recordsOf(b)
		if ctx.Err() != nil {
			b.exporterDone(r.settle(ctx, b, recs, ctx.Err()))
			r.release(recs, owned)
			continue
		}
		wait, err := p.Begin(ctx, recs)
		if err != nil {
			// Not handed over: settle the earlier batches first, so the retry
			// (Export) still comes after them.
			for len(flight) > 0 {
				settleOldest()
			}
			b.exporterDone(r.settle(ctx, b, recs, err))
			r.release(recs, owned)
			continue
		}
		flight = append(flight, begun{b, recs, owned, wait})
	}
}

// deliver exports the batch's records for this exporter and retries them
// until they are settled.
func (r *runner) deliver(ctx context.Context, b *batch, recs record.Batch) bool {
	if err := ctx.Err(); err != nil {
		return r.settle(ctx, b, recs, err)
	}
	return r.settle(ctx, b, recs, r.exp.Export(ctx, recs))
}

// settle takes the outcome of one attempt at the batch (recs, what of it
// goes to this exporter) and retries it with
// exporters.Backoff until it is safe, permanently dropped, or ctx ends. This
// is the retry of batches an exporter refused; what an exporter accepted it
// retries itself (see exporters.Backoff). It reports whether the batch may be acknowledged: a permanent
// drop is counted and acknowledged, since retrying cannot help and holding
// the checkpoint back would re-send it forever.
func (r *runner) settle(ctx context.Context, b *batch, recs record.Batch, err error) bool {
	name, n := r.exp.Name(), float64(len(recs))
	var lastLogged time.Time
	for failures := 1; ; failures++ {
		if err == nil {
			r.metrics.exporterRecords.WithLabelValues(name, "sent").Add(n)
			return true
		}
		if exporters.IsPermanent(err) {
			r.metrics.exporterRecords.WithLabelValues(name, "dropped").Add(n)
			r.logger.Error("batch dropped", "records", len(recs), "source", b.source, "err", err)
			return true
		}
		if ctx.Err() != nil {
			r.metrics.exporterRecords.WithLabelValues(name, "failed").Add(n)
			r.undelivered.Add(int64(len(recs)))
			return false
		}
		r.metrics.exporterRecords.WithLabelValues(name, "retried").Add(n)
		wait := exporters.Backoff(failures, r.minBackoff, r.maxBackoff, rand.Float64())
		if now := r.clock.Now(); now.Sub(lastLogged) > 10*time.Second {
			r.logger.Warn("export failed, retrying", "records", len(recs), "backoff", wait, "err", err)
			lastLogged = now
		}
		clock.Sleep(ctx, r.clock, wait)
		if err = ctx.Err(); err == nil {
			err = r.exp.Export(ctx, recs)
		}
	}
}
