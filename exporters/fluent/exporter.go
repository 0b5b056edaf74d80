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
	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/record"
)

// Deps are the exporter's dependencies.
type Deps struct {
	exporters.Deps
	// StateDir is where the disk spool lives (StateDir/fluent); "" means no
	// disk, and buffer.type file is then an error.
	StateDir string
}

// Exporter is the Fluentd forward exporter.
type Exporter struct {
	cfg     Config
	deps    Deps
	metrics *metrics
	snd     *sender

	bmu sync.Mutex // the builder is not safe for concurrent Exports
	bl  *builder

	buf buffer.Buffer // in memory, or the disk spool

	closed atomic.Bool
	stop   context.CancelFunc
	ctx    context.Context
	done   chan struct{}
}

var _ exporters.Pipeliner = (*Exporter)(nil)

var errClosed = buffer.ErrClosed

// New validates cfg, opens the spool (recovering what a previous run left)
// and starts the sender.
func New(cfg Config, deps Deps) (*Exporter, error) {
	deps.Deps = deps.Deps.WithDefaults()
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
			if e.buf == nil || e.buf.Durable() {
				return 0, 0
			}
			return e.buf.Depth()
		},
		func() (int64, int64, int) {
			if e.buf == nil || !e.buf.Durable() {
				return 0, 0, 0
			}
			r, b := e.buf.Depth()
			return r, b, e.buf.Segments()
		})
	if err != nil {
		return nil, err
	}
	opts := buffer.Options{
		MaxRecords: cfg.Buffer.MaxRecords, MaxBytes: cfg.Buffer.MaxBytes,
		DropOldest: cfg.Buffer.OnFull == "drop_oldest",
		OnDrop:     func(n int) { m.records.WithLabelValues("dropped").Add(float64(n)) },
		OnCorrupt:  func() { m.corrupt.Inc() },
		Release:    e.bl.pool.Put,
	}
	var recovered int64
	if cfg.Buffer.Type == "file" {
		if e.buf, recovered, err = buffer.OpenSpool(filepath.Join(deps.StateDir, "fluent"), opts); err != nil {
			return nil, err
		}
	} else {
		e.buf = buffer.NewMemory(opts)
	}
	e.metrics = m
	if e.snd, err = newSender(cfg, m, deps.Clock); err != nil {
		e.buf.Close(errClosed)
		return nil, err
	}
	if recovered > 0 {
		deps.Logger.Info("fluent: resending records left in the spool", "records", recovered)
	}
	go e.run()
	return e, nil
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
	wait, err := e.buf.Put(ctx, cs)
	if errors.Is(err, buffer.ErrTooLarge) {
		e.metrics.records.WithLabelValues("failed").Add(float64(len(batch)))
		return nil, exporters.Permanent(fmt.Errorf("fluent: %w (batch of %d records)", err, len(batch)))
	}
	if err != nil {
		return nil, fmt.Errorf("fluent: %w", err)
	}
	if e.buf.Durable() {
		e.metrics.records.WithLabelValues("spooled").Add(float64(len(batch)))
		return safe, nil
	}
	return func(ctx context.Context) error {
		err := wait(ctx)
		if errors.Is(err, buffer.ErrDropped) {
			return exporters.Permanent(fmt.Errorf("fluent: %w", err))
		}
		if err != nil {
			return fmt.Errorf("fluent: %w", err)
		}
		return nil
	}, nil
}

func safe(context.Context) error { return nil }

// run is the sender goroutine: it delivers chunks in order, each until it
// is acknowledged or the exporter stops.
func (e *Exporter) run() {
	defer close(e.done)
	defer e.snd.close()
	var failingSince, lastWarned time.Time // an outage is logged when it starts, every minute, and when it ends
	for {
		c, err := e.buf.Next(e.ctx)
		if err != nil {
			return
		}
		for {
			err := e.snd.send(e.ctx, c)
			if err == nil {
				if !failingSince.IsZero() {
					e.deps.Logger.Info("fluent: delivering again", "after", e.deps.Clock.Now().Sub(failingSince).Round(time.Second))
					failingSince = time.Time{}
				}
				e.buf.Ack(c)
				e.metrics.records.WithLabelValues("acked").Add(float64(c.Records))
				e.metrics.lastSuccess.Set(float64(e.deps.Clock.Now().UnixNano()) / 1e9)
				break
			}
			if e.ctx.Err() != nil {
				e.buf.Abandon(c)
				return
			}
			e.metrics.records.WithLabelValues("retried").Add(float64(c.Records))
			if now := e.deps.Clock.Now(); failingSince.IsZero() || now.Sub(lastWarned) >= time.Minute {
				if failingSince.IsZero() {
					failingSince = now
				}
				lastWarned = now
				e.deps.Logger.Warn("fluent: chunk not delivered, retrying", "records", c.Records, "failing_for", now.Sub(failingSince).Round(time.Second), "err", err)
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
		ch := e.buf.Changes()
		if r, _ := e.buf.Depth(); r == 0 {
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
	kept, lost, err := e.buf.Close(fmt.Errorf("fluent: %w", errClosed))
	if err != nil {
		return fmt.Errorf("fluent: closing the spool: %w", err)
	}
	if kept > 0 {
		e.deps.Logger.Info("fluent: records kept in the spool for the next start", "records", kept)
	}
	if lost > 0 {
		e.metrics.records.WithLabelValues("failed").Add(float64(lost))
		return fmt.Errorf("fluent: %d %w before the shutdown deadline", lost, exporters.ErrUndelivered)
	}
	return nil
}
