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
	cl      client

	bmu sync.Mutex // the builder is not safe for concurrent Exports
	bl  *builder

	buf buffer.Buffer // in memory, or the disk spool
	d   *exporters.Delivery

	// The sender goroutine's own: how many requests failed in a row, and
	// how long to wait before the next attempt.
	failures    int
	wait        time.Duration
	lastPartial time.Time // partial successes are logged at most once a minute
}

var _ exporters.Pipeliner = (*Exporter)(nil)

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
		if err := checkHeader(cfg.Protocol, name, v); err != nil {
			return nil, fmt.Errorf("header_files.%s: %s: %w", name, path, err)
		}
		headers[name] = v
	}
	cl, err := newClient(cfg, headers, deps.Version, deps.Clock)
	if err != nil {
		return nil, err
	}
	e := &Exporter{cfg: cfg, deps: deps, cl: cl, bl: newBuilder(cfg, deps.Resource, deps.Version)}
	m, err := newMetrics(deps.Registerer,
		func() (int64, int64) { return buffer.MemoryDepth(e.buf) },
		func() (int64, int64, int) { return buffer.SpoolDepth(e.buf) })
	if err != nil {
		return nil, err
	}
	var recovered int64
	e.buf, recovered, err = exporters.OpenBuffer(cfg.Buffer, filepath.Join(deps.StateDir, "otlp"), buffer.Options{
		OnDrop:    func(n int) { m.records.WithLabelValues("dropped").Add(float64(n)) },
		OnCorrupt: func() { m.corrupt.Inc() },
		Release:   e.bl.pool.Put,
	})
	if err != nil {
		return nil, err
	}
	e.metrics = m
	if recovered > 0 {
		deps.Logger.Info("otlp: resending records left in the spool", "records", recovered)
	}
	e.d = exporters.NewDelivery(exporters.DeliveryOptions{
		Name: "otlp", Unit: "request", Buffer: e.buf, Deps: deps.Deps, Deliver: e.deliver,
		Count:     func(result string, n int) { m.records.WithLabelValues(result).Add(float64(n)) },
		Succeeded: func(now time.Time) { m.lastSuccess.Set(float64(now.UnixNano()) / 1e9) },
		Stopped:   cl.close,
	})
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
	if len(batch) == 0 {
		return e.d.Begin(ctx, nil, 0)
	}
	e.bmu.Lock()
	items := e.bl.build(batch)
	e.bmu.Unlock()
	return e.d.Begin(ctx, items, len(batch))
}

// deliver sends one request, first waiting out the backoff or the
// receiver's delay after a failure. It returns the records the receiver
// accepted, or an error: Permanent for a final refusal (see httpClient.send
// and grpcClient.send for which are), else the request is sent again.
func (e *Exporter) deliver(ctx context.Context, it *buffer.Item) (int, error) {
	clk := e.deps.Clock
	if e.wait > 0 {
		if !clock.Sleep(ctx, clk, e.wait) {
			return 0, ctx.Err()
		}
		e.wait = 0
	}
	start := clk.Now()
	sendCtx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	out, err := e.cl.send(sendCtx, it.Data)
	cancel()
	now := clk.Now()
	e.metrics.latency.Observe(now.Sub(start).Seconds())
	if err != nil && ctx.Err() != nil {
		return 0, err
	}
	var se *sendError
	if err != nil && !errors.As(err, &se) {
		se = &sendError{retryable: true, err: err}
	}
	switch {
	case err == nil:
		e.failures = 0
		e.metrics.requests.WithLabelValues("success").Inc()
		e.metrics.records.WithLabelValues("sent").Add(float64(it.Records))
		rejected := min(max(out.rejected, 0), int64(it.Records))
		if rejected > 0 || out.message != "" {
			e.metrics.records.WithLabelValues("rejected").Add(float64(rejected))
			if e.lastPartial.IsZero() || now.Sub(e.lastPartial) >= time.Minute {
				e.lastPartial = now
				e.deps.Logger.Warn("otlp: the receiver rejected part of a request (partial success); counted as rejected, logged at most once a minute",
					"rejected", rejected, "records", it.Records, "message", out.message)
			}
		}
		return it.Records - int(rejected), nil
	case !se.retryable:
		e.failures = 0 // an answer all the same: the receiver is up
		e.metrics.requests.WithLabelValues("permanent").Inc()
		e.metrics.records.WithLabelValues("sent").Add(float64(it.Records))
		return 0, exporters.Permanent(fmt.Errorf("refused by the receiver: %w", se.err))
	}
	e.failures++
	e.metrics.requests.WithLabelValues("retryable").Inc()
	e.wait = exporters.Backoff(e.failures, e.cfg.Retry.Initial, e.cfg.Retry.Max, rand.Float64())
	if se.delay > 0 {
		e.wait = min(se.delay, e.cfg.Retry.Max) // the receiver knows best when to come back
	}
	return 0, fmt.Errorf("%w (next attempt in %s)", se.err, e.wait.Round(time.Millisecond))
}

// Close flushes within ctx's deadline and shutdown_timeout, whichever comes
// first. With the spool, what is left stays on disk for the next start;
// with the memory buffer, it returns an error saying how many records were
// not delivered (they are counted as failed).
func (e *Exporter) Close(ctx context.Context) error { return e.d.Close(ctx, e.cfg.ShutdownTimeout) }
