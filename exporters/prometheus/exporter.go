// Package prometheus turns records into Prometheus metrics: built-in log
// metrics that need no configuration, metrics derived from logs by rule, and
// the /metrics handler. Import it as promexp.
//
// The exporter is the one whose Export is never slow: it only updates
// in-memory metrics, and a scrape reads them.
package prometheus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// Exporter updates metrics from records. It is safe for concurrent use; the
// pipeline calls Export from one goroutine while scrapes collect.
type Exporter struct {
	mu      sync.Mutex // guards the series caches of builtin and rules
	now     func() time.Time
	reg     prometheus.Registerer
	builtin *builtin
	rules   []*rule
	buf     []byte // scratch for rule keys and field text
	// builtinElsewhere: the built-in metrics count what the function
	// BuiltinBefore returned is given, not what Export gets.
	builtinElsewhere bool

	registered []prometheus.Collector
}

var _ exporters.Exporter = (*Exporter)(nil)

// New builds the exporter and registers its metrics on deps.Registerer.
func New(cfg Config, deps exporters.Deps) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	deps = deps.WithDefaults()
	e := &Exporter{now: deps.Clock.Now, reg: deps.Registerer}

	overflow := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameSeriesOverflow,
		Help: "Updates dropped because a metric reached its series bound (max_series, or max_exception_types for obsadapter_exceptions_total, whose overflow counts as type other).",
	}, []string{"metric"})
	invalid := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: nameValueInvalid,
		Help: "Records matched by a metric rule whose value field was missing, not a number or duration, or negative for a counter.",
	}, []string{"metric"})
	e.builtin = newBuiltin(cfg, overflow)
	collectors := append([]prometheus.Collector{overflow, invalid}, e.builtin.collectors()...)
	for _, mr := range cfg.Metrics {
		r, err := newRule(mr, cfg.NativeHistogramBucketFactor, overflow, invalid, &e.mu, e.now)
		if err != nil {
			return nil, fmt.Errorf("prometheus exporter: %w", err)
		}
		e.rules = append(e.rules, r)
		collectors = append(collectors, r)
	}
	for _, c := range collectors {
		if err := e.reg.Register(c); err != nil {
			e.unregister()
			return nil, fmt.Errorf("prometheus exporter: registering metrics: %w", err)
		}
		e.registered = append(e.registered, c)
	}
	return e, nil
}

// Name implements exporters.Exporter.
func (e *Exporter) Name() string { return "prometheus" }

// Export updates the built-in and rule metrics from every record. It fails
// only when ctx is already done, so a retried batch is never counted twice.
func (e *Exporter) Export(ctx context.Context, batch record.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := e.now().UnixNano() // one clock read per batch: it only ages series
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range batch {
		rec := &batch[i]
		if !e.builtinElsewhere {
			e.builtin.observe(rec)
		}
		for _, r := range e.rules {
			r.observe(rec, now, &e.buf)
		}
	}
	e.builtin.flush()
	return nil
}

// BuiltinBefore moves the built-in log metrics from what Export gets to
// what the returned function is given, from any goroutine: with
// count_before_processors, the collector gives it each batch as parsed,
// before its processors, so a record a processor drops or routes elsewhere
// still counts by level. Rule metrics still count what Export gets. Call
// it before the first Export. The function keeps nothing of a batch.
func (e *Exporter) BuiltinBefore() func(record.Batch) {
	e.mu.Lock()
	e.builtinElsewhere = true
	e.mu.Unlock()
	return func(batch record.Batch) {
		e.mu.Lock()
		defer e.mu.Unlock()
		for i := range batch {
			e.builtin.observe(&batch[i])
		}
		e.builtin.flush()
	}
}

// Close unregisters the exporter's metrics so that a reloaded configuration
// can register its own on the same registry.
func (e *Exporter) Close(context.Context) error {
	e.unregister()
	return nil
}

func (e *Exporter) unregister() {
	for _, c := range e.registered {
		e.reg.Unregister(c)
	}
	e.registered = nil
}
