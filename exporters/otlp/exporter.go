// Package otlp sends records to an OpenTelemetry Collector, or any receiver
// of the OpenTelemetry protocol, as OTLP logs over gRPC or HTTP/protobuf,
// with the fluent exporter's guarantees: batched requests in a bounded
// memory buffer or an fsynced disk spool, a batch safe only once the
// receiver answered success, retries with backoff for what may succeed
// later, and a count and a log line for what never will.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/record"
)

// Deps are the exporter's dependencies.
type Deps struct {
	exporters.Deps
	// StateDir is where the disk spool lives (StateDir/otlp); "" means no
	// disk, and buffer.type file is then an error.
	StateDir string
	// Resource is what the adapter knows about where it runs.
	Resource Resource
	// Version is the adapter's version, sent as the instrumentation scope's.
	Version string
}

// Resource is the adapter's own pod and host, named after the semantic
// conventions' resource attributes. Empty strings are left out. A record's
// own Kubernetes metadata (a pod source's) wins over these.
type Resource struct {
	Namespace   string // k8s.namespace.name
	PodName     string // k8s.pod.name
	PodUID      string // k8s.pod.uid
	NodeName    string // k8s.node.name
	Container   string // k8s.container.name
	HostName    string // host.name
	ServiceName string // service.name: the pod's app.kubernetes.io/name label, when known
}

// Exporter is the OTLP logs exporter.
type Exporter struct {
	cfg     Config
	deps    Deps
	metrics *metrics
	cl      *client

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

// New validates cfg, reads the header files, opens the spool (recovering
// what a previous run left) and starts the sender.
func New(cfg Config, deps Deps) (*Exporter, error) {
	deps.Deps = deps.Deps.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Buffer.Type == "file" && deps.StateDir == "" {
		return nil, errors.New(`buffer.type: "file" needs state_dir to be set`)
	}
	headers := maps.Clone(cfg.Headers)
	if headers == nil {
		headers = map[string]string{}
	}
	for name, path := range cfg.HeaderFiles {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("header_files.%s: %w", name, err)
		}
		v := strings.TrimSpace(string(b))
		if err := checkHeader(name, v); err != nil {
			return nil, fmt.Errorf("header_files.%s: %s: %w", name, path, err)
		}
		headers[name] = v
	}
	cl, err := newClient(cfg, headers, deps.Version, deps.Clock)
	if err != nil {
		return nil, err
	}
	e := &Exporter{cfg: cfg, deps: deps, cl: cl, done: make(chan struct{}), bl: newBuilder(cfg, deps.Resource, deps.Version)}
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
		if e.buf, recovered, err = buffer.OpenSpool(filepath.Join(deps.StateDir, "otlp"), opts); err != nil {
			return nil, err
		}
	} else {
		e.buf = buffer.NewMemory(opts)
	}
	e.metrics = m
	if recovered > 0 {
		deps.Logger.Info("otlp: resending records left in the spool", "records", recovered)
	}
	go e.run()
	return e, nil
}

func (e *Exporter) Name() string { return "otlp" }

// Export encodes the batch into requests and returns once every request is
// accepted by the receiver (memory buffer) or fsynced into the spool.
func (e *Exporter) Export(ctx context.Context, batch record.Batch) error {
	wait, err := e.Begin(ctx, batch)
	if err != nil {
		return err
	}
	return wait(ctx)
}

// Begin encodes the batch into requests and puts them into the buffer,
// behind those of earlier batches: the memory queue (blocking while it is
// full), or the spool, fsynced. wait returns once the requests are
// accepted; with the spool they are safe already.
func (e *Exporter) Begin(ctx context.Context, batch record.Batch) (func(context.Context) error, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("otlp: %w", errClosed)
	}
	if len(batch) == 0 {
		return safe, nil
	}
	e.bmu.Lock()
	items := e.bl.build(batch)
	e.bmu.Unlock()
	wait, err := e.buf.Put(ctx, items)
	if errors.Is(err, buffer.ErrTooLarge) {
		e.metrics.records.WithLabelValues("failed").Add(float64(len(batch)))
		return nil, exporters.Permanent(fmt.Errorf("otlp: %w (batch of %d records)", err, len(batch)))
	}
	if err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	if e.buf.Durable() {
		e.metrics.records.WithLabelValues("spooled").Add(float64(len(batch)))
		return safe, nil
	}
	return func(ctx context.Context) error {
		err := wait(ctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, buffer.ErrDropped) || exporters.IsPermanent(err):
			return exporters.Permanent(fmt.Errorf("otlp: %w", err))
		}
		return fmt.Errorf("otlp: %w", err)
	}, nil
}

func safe(context.Context) error { return nil }

// run is the sender goroutine: it sends requests in order, each until the
// receiver accepts it, refuses it for good, or the exporter stops.
func (e *Exporter) run() {
	defer close(e.done)
	defer e.cl.close()
	var failures int
	// Outages, refusals and partial successes are logged when they start
	// and then at most once a minute; the metrics count every one.
	var failingSince, lastWarned, lastPartial, lastRefused time.Time
	for {
		it, err := e.buf.Next(e.ctx)
		if err != nil {
			return
		}
		for {
			start := e.deps.Clock.Now()
			out, err := e.cl.send(e.ctx, it.Data, e.cfg.Timeout)
			now := e.deps.Clock.Now()
			e.metrics.latency.Observe(now.Sub(start).Seconds())
			if err != nil && e.ctx.Err() != nil {
				e.buf.Abandon(it)
				return
			}
			var se *sendError
			if err != nil && !errors.As(err, &se) {
				se = &sendError{retryable: true, err: err}
			}
			if err == nil {
				failures = 0
				e.metrics.requests.WithLabelValues("success").Inc()
				e.metrics.records.WithLabelValues("sent").Add(float64(it.Records))
				if !failingSince.IsZero() {
					e.deps.Logger.Info("otlp: delivering again", "after", now.Sub(failingSince).Round(time.Second))
					failingSince = time.Time{}
				}
				rejected := min(max(out.rejected, 0), int64(it.Records))
				if rejected > 0 || out.message != "" {
					e.metrics.records.WithLabelValues("rejected").Add(float64(rejected))
					if lastPartial.IsZero() || now.Sub(lastPartial) >= time.Minute {
						lastPartial = now
						e.deps.Logger.Warn("otlp: the receiver rejected part of a request (partial success); counted in obsadapter_otlp_records_total{result=\"rejected\"}, logged at most once a minute",
							"rejected", rejected, "records", it.Records, "message", out.message)
					}
				}
				e.metrics.records.WithLabelValues("acked").Add(float64(int64(it.Records) - rejected))
				e.metrics.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
				e.buf.Ack(it)
				break
			}
			if !se.retryable {
				e.metrics.requests.WithLabelValues("permanent").Inc()
				e.metrics.records.WithLabelValues("sent").Add(float64(it.Records))
				e.metrics.records.WithLabelValues("failed").Add(float64(it.Records))
				if lastRefused.IsZero() || now.Sub(lastRefused) >= time.Minute {
					lastRefused = now
					e.deps.Logger.Error("otlp: the receiver refused a request for good; its records are dropped and counted in obsadapter_otlp_records_total{result=\"failed\"}, logged at most once a minute",
						"records", it.Records, "err", se.err)
				}
				e.buf.Fail(it, exporters.Permanent(fmt.Errorf("refused by the receiver: %w", se.err)))
				break
			}
			failures++
			e.metrics.requests.WithLabelValues("retryable").Inc()
			e.metrics.records.WithLabelValues("retried").Add(float64(it.Records))
			wait := exporters.Backoff(failures, e.cfg.Retry.Initial, e.cfg.Retry.Max, rand.Float64())
			if se.delay > 0 {
				wait = min(se.delay, e.cfg.Retry.Max) // the receiver knows best when to come back
			}
			if failingSince.IsZero() || now.Sub(lastWarned) >= time.Minute {
				if failingSince.IsZero() {
					failingSince = now
				}
				lastWarned = now
				e.deps.Logger.Warn("otlp: request failed, retrying", "records", it.Records, "in", wait.Round(time.Millisecond),
					"failing_for", now.Sub(failingSince).Round(time.Second), "err", se.err)
			}
			if !clock.Sleep(e.ctx, e.deps.Clock, wait) {
				e.buf.Abandon(it)
				return
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
	kept, lost, err := e.buf.Close(fmt.Errorf("otlp: %w", errClosed))
	if err != nil {
		return fmt.Errorf("otlp: closing the spool: %w", err)
	}
	if kept > 0 {
		e.deps.Logger.Info("otlp: records kept in the spool for the next start", "records", kept)
	}
	if lost > 0 {
		e.metrics.records.WithLabelValues("failed").Add(float64(lost))
		return fmt.Errorf("otlp: %d %w before the shutdown deadline", lost, exporters.ErrUndelivered)
	}
	return nil
}
