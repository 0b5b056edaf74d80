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
	d   *exporters.Delivery
}

var _ exporters.Pipeliner = (*Exporter)(nil)

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
	e := &Exporter{cfg: cfg, deps: deps,
		bl: newBuilder(tags, cfg.Compress == "gzip", cfg.Batch.MaxRecords, cfg.Batch.MaxBytes)}
	m, err := newMetrics(deps.Registerer,
		func() (int64, int64) { return buffer.MemoryDepth(e.buf) },
		func() (int64, int64, int) { return buffer.SpoolDepth(e.buf) })
	if err != nil {
		return nil, err
	}
	var recovered int64
	e.buf, recovered, err = exporters.OpenBuffer(cfg.Buffer, filepath.Join(deps.StateDir, "fluent"), buffer.Options{
		OnDrop:    func(n int) { m.records.WithLabelValues("dropped").Add(float64(n)) },
		OnCorrupt: func() { m.corrupt.Inc() },
		Release:   e.bl.pool.Put,
	})
	if err != nil {
		return nil, err
	}
	e.metrics = m
	if e.snd, err = newSender(cfg, m, deps.Clock); err != nil {
		e.buf.Close(buffer.ErrClosed)
		return nil, err
	}
	if recovered > 0 {
		deps.Logger.Info("fluent: resending records left in the spool", "records", recovered)
	}
	e.d = exporters.NewDelivery(exporters.DeliveryOptions{
		Name: "fluent", Unit: "chunk", Buffer: e.buf, Deps: deps.Deps,
		Deliver:   func(ctx context.Context, c *chunk) (int, error) { return c.Records, e.snd.send(ctx, c) },
		Count:     func(result string, n int) { m.records.WithLabelValues(result).Add(float64(n)) },
		Succeeded: func(now time.Time) { m.lastSuccess.Set(float64(now.UnixNano()) / 1e9) },
		Stopped:   e.snd.close,
	})
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
	if len(batch) == 0 {
		return e.d.Begin(ctx, nil, 0)
	}
	e.bmu.Lock()
	cs := e.bl.build(batch)
	e.bmu.Unlock()
	return e.d.Begin(ctx, cs, len(batch))
}

// Close flushes within ctx's deadline and shutdown_timeout, whichever comes
// first. With the spool, what is left stays on disk for the next start;
// with the memory buffer, it returns an error saying how many records were
// not delivered (they are counted as failed).
func (e *Exporter) Close(ctx context.Context) error { return e.d.Close(ctx, e.cfg.ShutdownTimeout) }
