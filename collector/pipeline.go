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
		p.batches.Add(1)
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
// exporters.Backoff until it is safe, permanently dropped, or ctx ends. This
// is the retry of batches an exporter refused; what an exporter accepted it
// retries itself (see exporters.Backoff). It reports whether the batch may be acknowledged: a permanent
// drop is counted and acknowledged, since retrying cannot help and holding
// the checkpoint back would re-send it forever.
func (r *runner) settle(ctx context.Context, b *batch, err error) bool {
	name, n := r.exp.Name(), float64(len(b.records))
	var lastLogged time.Time
	for failures := 1; ; failures++ {
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
		wait := exporters.Backoff(failures, r.minBackoff, r.maxBackoff, rand.Float64())
		if now := r.clock.Now(); now.Sub(lastLogged) > 10*time.Second {
			r.logger.Warn("export failed, retrying", "records", len(b.records), "backoff", wait, "err", err)
			lastLogged = now
		}
		clock.Sleep(ctx, r.clock, wait)
		if err = ctx.Err(); err == nil {
			err = r.exp.Export(ctx, b.records)
		}
	}
}
