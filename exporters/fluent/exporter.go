// Package fluent sends records to Fluentd or Fluent Bit over the forward
// protocol v1: PackedForward chunks (optionally gzip-compressed) of plain
// [EventTime, record] entries, each acknowledged by the aggregator, with
// failover, TLS, the shared-key handshake, a bounded memory buffer or an
// fsynced disk spool, and retries with exponential backoff and jitter.
package fluent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// Deps are the exporter's dependencies.
type Deps struct {
	exporters.Deps
	// StateDir is where the disk spool lives (StateDir/fluent); "" means no
	// disk, and buffer.type file is then an error.
	StateDir string
	// After waits for backoff; nil means time.After. Tests step it.
	After func(time.Duration) <-chan time.Time
}

// Exporter is the Fluentd forward exporter.
type Exporter struct {
	cfg     Config
	deps    Deps
	metrics *metrics
	snd     *sender

	bmu sync.Mutex // the builder is not safe for concurrent Exports
	bl  *builder

	mem   *memQueue // exactly one of mem and spool is set
	spool *spool
	buf   buffer

	closed atomic.Bool
	stop   context.CancelFunc
	ctx    context.Context
	done   chan struct{}
}

var _ exporters.Pipeliner = (*Exporter)(nil)

// New validates cfg, opens the spool (recovering what a previous run left)
// and starts the sender.
func New(cfg Config, deps Deps) (*Exporter, error) {
	deps.Deps = deps.Deps.WithDefaults()
	if deps.After == nil {
		deps.After = time.After
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Buffer.Type == "file" && deps.StateDir == "" {
		return nil, errors.New(`buffer.type: "file" needs state_dir to be set`)
	}
	tags, err := newTagger(cfg.Tag)
	if err != nil {
		return nil, fmt.Errorf("tag: %w", err)
	}
	e := &Exporter{cfg: cfg, deps: deps, done: make(chan struct{}),
		bl: newBuilder(tags, cfg.Compress == "gzip", cfg.Batch.MaxRecords, cfg.Batch.MaxBytes)}
	e.ctx, e.stop = context.WithCancel(context.Background())
	m, err := newMetrics(deps.Registerer,
		func() (int64, int64) {
			if e.mem == nil {
				return 0, 0
			}
			return e.mem.depth()
		},
		func() (int64, int64, int) {
			if e.spool == nil {
				return 0, 0, 0
			}
			r, b := e.spool.depth()
			return r, b, e.spool.segments()
		})
	if err != nil {
		return nil, err
	}
	dropOldest := cfg.Buffer.OnFull == "drop_oldest"
	onDrop := func(n int) { m.records.WithLabelValues("dropped").Add(float64(n)) }
	onCorrupt := func() { m.corrupt.Inc() }
	var recovered int64
	if cfg.Buffer.Type == "file" {
		e.spool, recovered, err = openSpool(filepath.Join(deps.StateDir, "fluent"), cfg.Buffer.MaxRecords, cfg.Buffer.MaxBytes, dropOldest, onDrop, onCorrupt)
		if err != nil {
			return nil, err
		}
		e.buf = e.spool
	} else {
		e.mem = newMemQueue(cfg.Buffer.MaxRecords, cfg.Buffer.MaxBytes, dropOldest, onDrop)
		e.buf = e.mem
	}
	e.metrics = m
	if e.snd, err = newSender(cfg, m, deps.Now, deps.After); err != nil {
		e.closeBuffer()
		return nil, err
	}
	if recovered > 0 {
		deps.Logger.Info("fluent: resending records left in the spool", "records", recovered)
	}
	go e.run()
	return e, nil
}

func (e *Exporter) closeBuffer() {
	if e.spool != nil {
		e.spool.close()
	}
}

func (e *Exporter) Name() string { return "fluent" }

// Export encodes the batch into chunks and returns once every chunk is
// acknowledged by the aggregator (memory buffer) or fsynced into the spool.
func (e *Exporter) Export(ctx context.Context, batch record.Batch) error {
	wait, err := e.Begin(ctx, batch)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// Begin encodes the batch into chunks and puts them into the buffer, behind
// the chunks of earlier batches: the memory queue (blocking while it is
// full), or the spool, fsynced. wait returns once the chunks are
// acknowledged; with the spool they are safe already.
func (e *Exporter) Begin(ctx context.Context, batch record.Batch) (func(context.Context) error, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("fluent: %w", errClosed)
	}
	if len(batch) == 0 {
		return safe, nil
	}
	e.bmu.Lock()
	cs := e.bl.build(batch)
	e.bmu.Unlock()
	err := e.buf.put(ctx, cs)
	if errors.Is(err, errTooLarge) {
		if e.mem != nil {
			e.mem.cancel(cs)
		}
		e.metrics.records.WithLabelValues("failed").Add(float64(len(batch)))
		return nil, exporters.Permanent(fmt.Errorf("fluent: %w (batch of %d records)", err, len(batch)))
	}
	if e.spool != nil {
		if err != nil {
			return nil, fmt.Errorf("fluent: %w", err)
		}
		for _, c := range cs {
			e.bl.release(c.msg) // the sender reads the spool, not these
		}
		e.metrics.records.WithLabelValues("spooled").Add(float64(len(batch)))
		return safe, nil
	}
	if err != nil {
		e.mem.cancel(cs)
		return nil, fmt.Errorf("fluent: %w", err)
	}
	return func(ctx context.Context) error { return e.waitAcks(ctx, cs) }, nil
}

func safe(context.Context) error { return nil }

// waitAcks waits for the chunks of one batch; if ctx ends first, the chunks
// the sender has not taken yet are withdrawn.
func (e *Exporter) waitAcks(ctx context.Context, cs []*chunk) error {
	var first error
	for _, c := range cs {
		select {
		case err := <-c.done:
			if err != nil && first == nil {
				first = err
			}
		case <-ctx.Done():
			e.mem.cancel(cs)
			return fmt.Errorf("fluent: waiting for the ack: %w", ctx.Err())
		}
	}
	if errors.Is(first, errDropped) {
		return exporters.Permanent(fmt.Errorf("fluent: %w", first))
	}
	if first != nil {
		return fmt.Errorf("fluent: %w", first)
	}
	return nil
}

// run is the sender goroutine: it delivers chunks in order, each until it
// is acknowledged or the exporter stops.
func (e *Exporter) run() {
	defer close(e.done)
	defer e.snd.close()
	var failingSince, lastWarned time.Time // an outage is logged when it starts, every minute, and when it ends
	for {
		c, err := e.buf.next(e.ctx)
		if err != nil {
			return
		}
		for {
			err := e.snd.send(e.ctx, c)
			if err == nil {
				if !failingSince.IsZero() {
					e.deps.Logger.Info("fluent: delivering again", "after", e.deps.Now().Sub(failingSince).Round(time.Second))
					failingSince = time.Time{}
				}
				e.buf.ack(c)
				if e.mem != nil {
					e.bl.release(c.msg) // its wait only needs done
				}
				e.metrics.records.WithLabelValues("acked").Add(float64(c.records))
				e.metrics.lastSuccess.Set(float64(e.deps.Now().UnixNano()) / 1e9)
				break
			}
			if e.ctx.Err() != nil {
				if e.spool != nil {
					e.spool.release(c)
				}
				return
			}
			e.metrics.records.WithLabelValues("retried").Add(float64(c.records))
			if now := e.deps.Now(); failingSince.IsZero() || now.Sub(lastWarned) >= time.Minute {
				if failingSince.IsZero() {
					failingSince = now
				}
				lastWarned = now
				e.deps.Logger.Warn("fluent: chunk not delivered, retrying", "records", c.records, "failing_for", now.Sub(failingSince).Round(time.Second), "err", err)
			}
		}
	}
}

// Close flushes within ctx's deadline and shutdown_timeout, whichever comes
// first. With the spool, what is left stays on disk for the next start;
// with the memory buffer, it returns an error saying how many records were
// not delivered (they are counted as failed).
func (e *Exporter) Close(ctx context.Context) error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ShutdownTimeout)
	defer cancel()
	for {
		ch := e.buf.changes()
		if r, _ := e.buf.depth(); r == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		break
	}
	e.stop()
	<-e.done
	if e.spool != nil {
		left, _ := e.spool.depth()
		if err := e.spool.close(); err != nil {
			return fmt.Errorf("fluent: closing the spool: %w", err)
		}
		if left > 0 {
			e.deps.Logger.Info("fluent: records kept in the spool for the next start", "records", left)
		}
		return nil
	}
	if left := e.mem.abort(fmt.Errorf("fluent: %w", errClosed)); left > 0 {
		e.metrics.records.WithLabelValues("failed").Add(float64(left))
		return fmt.Errorf("fluent: %d records not delivered before the shutdown deadline", left)
	}
	return nil
}
