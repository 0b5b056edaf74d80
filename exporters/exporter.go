// Package exporters defines what every exporter implements. Each exporter
// lives in its own subpackage (stdout, fluent, otlp, prometheus) and imports
// only this package (with the shared buffer, exporters/buffer) and record.
// The delivering exporters share Delivery: their buffer and sender loop.
package exporters

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/record"
)

// Exporter delivers batches of records somewhere.
//
// Export returns nil only once the batch is safe: acknowledged by the peer,
// fsynced into the exporter's own spool, or written. A plain error means "not
// safe, retry the same batch"; an error wrapped with Permanent means the batch
// was counted and dropped and must not be retried. The pipeline calls Export
// (and Begin, for a Pipeliner) from one goroutine per exporter, in order, and
// never mutates a batch after handing it over. Export must honour ctx and
// return when it is done. Once Export (or a Pipeliner's wait) has returned,
// the exporter keeps no reference into the batch: the pipeline reuses its
// array for later records, and the memory the records' strings and fields
// view for the text of later lines. A string kept longer (a label value, a
// map key) must be a copy (strings.Clone).
//
// Close flushes what the exporter still holds within ctx's deadline and
// releases its resources.
type Exporter interface {
	Name() string
	Export(ctx context.Context, batch record.Batch) error
	Close(ctx context.Context) error
}

// Pipeliner is an Exporter that can hold several batches on their way at
// once, so the pipeline can hand over the next batch while earlier ones
// still wait for their acknowledgement.
//
// Begin hands the batch over, in order after every batch handed over before
// (by Begin or Export), and returns once the exporter holds it; it blocks
// while the exporter's own bounds are full (backpressure). wait then returns
// nil once the batch is safe, or an error with Export's meaning; if its ctx
// ends first it gives the batch up and returns an error. wait is called
// exactly once. An error from Begin itself has Export's meaning too, and no
// wait follows. The pipeline calls the waits in the order of their Begins.
type Pipeliner interface {
	Exporter
	Begin(ctx context.Context, batch record.Batch) (wait func(ctx context.Context) error, err error)
}

// Deps carries what the composition root gives every exporter.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // the project's own registry, never the global one
	Clock      clock.Clock           // nil: the system clock
}

// WithDefaults fills unset dependencies so tests can pass a zero Deps.
func (d Deps) WithDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registerer == nil {
		d.Registerer = prometheus.NewRegistry()
	}
	d.Clock = clock.Or(d.Clock)
	return d
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as final: the batch was dropped (and counted by the
// exporter) and retrying cannot help.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was made by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// ErrUndelivered is wrapped by a Close error that reports records the
// exporter held but could not deliver before its deadline. Those records
// belong to batches the pipeline already counts as not safe, so the
// collector reports them once, from its own count.
var ErrUndelivered = errors.New("records not delivered")
