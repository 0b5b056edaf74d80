// Package collector is the daemon and composition root: it builds sources,
// the pipeline and exporters from the config, serves HTTP, keeps checkpoints
// and runs the lifecycle (start, reload, graceful stop).
package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/fluent"
	"github.com/obsadapter/obsadapter/exporters/otlp"
	promexp "github.com/obsadapter/obsadapter/exporters/prometheus"
	"github.com/obsadapter/obsadapter/exporters/stdout"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/processors"
	"github.com/obsadapter/obsadapter/procinfo"
	"github.com/obsadapter/obsadapter/record"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what the CLI hands the collector besides the config.
type Options struct {
	Version, Revision string
	Logger            *slog.Logger
	Stdin             io.Reader     // read by stdin sources
	Stdout            io.Writer     // written by the stdout exporter
	ConfigPath        string        // reloaded on SIGHUP and POST /-/reload; "" = the embedded default
	Override          func(*Config) // the CLI's flags, applied again to a reloaded config
	Clock             clock.Clock   // nil: the system clock
}

// Collector runs one configuration until its context ends or every source
// that can end has ended.
type Collector struct {
	cfg     Config
	opts    Options
	logger  *slog.Logger
	reg     *prometheus.Registry
	metrics *selfMetrics

	exporters []exporters.Exporter
	pipeline  *pipeline
	// countBefore counts the built-in log metrics before the processors
	// (exporters.prometheus.count_before_processors); nil when it is off.
	countBefore func(record.Batch)
	procinfo    *procinfo.Provider
	kube        *record.Kubernetes
	tap         *tapHub
	// releaseMemory gives free heap back to the OS (releaseWhenIdle).
	releaseMemory func()

	reloadMu sync.Mutex // one reload at a time
	mu       sync.Mutex
	sources  []*runningSource
	restored []checkpointEntry
	first    bool
	// what the last checkpoint written showed: each source's changes and
	// how many entries of removed sources were carried
	written         map[*sourceStatus]uint64
	writtenRestored int

	ready      atomic.Bool
	stopped    chan struct{}
	procEvents chan record.Record
}

// source is one running input: it reads until ctx ends (or its input ends)
// and hands everything it read to the pipeline before returning.
type source interface {
	name() string
	run(ctx context.Context) error
}

type runningSource struct {
	cfg    SourceConfig
	src    source
	status *sourceStatus
	cancel context.CancelFunc
	done   chan struct{}
	finite bool // stdin, exec: the adapter ends when all of these have ended
	// nextChain hands the source's goroutine the chain a reload built.
	nextChain *atomic.Pointer[chainSwap]
	blocks    *parsers.BlockPool
}

// sourceDeps is what the collector gives each source.
type sourceDeps struct {
	logger        *slog.Logger
	metrics       *selfMetrics
	clock         clock.Clock
	out           chan<- *batch
	status        *sourceStatus
	batchRecords  int
	kubernetes    *record.Kubernetes
	exposeSamples bool
	tap           *tapHub
	// chain is the source's processors (nil: none); nextChain is where a
	// reload hands it another.
	chain     *processors.Chain
	nextChain *atomic.Pointer[chainSwap]
	// countBefore updates the built-in log metrics from records as parsed,
	// before the processors (nil: the prometheus exporter counts what it
	// gets, or is off).
	countBefore func(record.Batch)
	// blocks is the pool the source's streams carve records from, refilled
	// as its batches finish.
	blocks *parsers.BlockPool
}

// New builds the collector: exporters and the pipeline are created here, so
// a config they reject fails before anything runs.
func New(cfg Config, opts Options) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	opts.Clock = clock.Or(opts.Clock)
	c := &Collector{cfg: cfg, opts: opts, logger: opts.Logger, reg: prometheus.NewRegistry(), stopped: make(chan struct{}), procEvents: make(chan record.Record, 1024), releaseMemory: debug.FreeOSMemory}
	c.metrics = newSelfMetrics(c.reg)
	c.tap = newTapHub(c.reg)
	c.kube = kubernetesMeta(cfg.Kubernetes)
	promexp.RegisterBuildInfo(c.reg, opts.Version, opts.Revision)
	deps := exporters.Deps{Logger: c.logger, Registerer: c.reg, Clock: opts.Clock}
	if cfg.Exporters.Stdout.Enabled {
		c.exporters = append(c.exporters, stdout.New(opts.Stdout))
	}
	if cfg.Exporters.Prometheus.Enabled {
		e, err := promexp.New(cfg.Exporters.Prometheus, deps)
		if err != nil {
			return nil, fmt.Errorf("exporters.prometheus: %w", err)
		}
		c.exporters = append(c.exporters, e)
		if cfg.Exporters.Prometheus.CountBeforeProcessors {
			c.countBefore = e.BuiltinBefore()
		}
	}
	if cfg.Exporters.Fluent.Enabled {
		e, err := fluent.New(cfg.Exporters.Fluent, fluent.Deps{Deps: deps, StateDir: cfg.StateDir})
		if err != nil {
			c.closeExporters(context.Background())
			return nil, fmt.Errorf("exporters.fluent: %w", err)
		}
		c.exporters = append(c.exporters, e)
	}
	if cfg.Exporters.OTLP.Enabled {
		e, err := otlp.New(cfg.Exporters.OTLP, otlp.Deps{Deps: deps, StateDir: cfg.StateDir, Resource: otlpResource(cfg.Kubernetes), Version: opts.Version})
		if err != nil {
			c.closeExporters(context.Background())
			return nil, fmt.Errorf("exporters.otlp: %w", err)
		}
		c.exporters = append(c.exporters, e)
	}
	c.pipeline = newPipeline(cfg.Pipeline, c.exporters, c.metrics, c.logger, opts.Clock)
	if cfg.Procinfo.Enabled {
		p, err := procinfo.New(cfg.Procinfo, procinfo.Deps{Logger: c.logger, Registerer: c.reg, Clock: opts.Clock, Sink: c.procinfoSink})
		if err != nil {
			c.closeExporters(context.Background())
			return nil, fmt.Errorf("procinfo: %w", err)
		}
		c.procinfo = p
	}
	return c, nil
}

// Registry is the collector's own Prometheus registry (never the global one).
func (c *Collector) Registry() *prometheus.Registry { return c.reg }

func kubernetesMeta(k KubernetesConfig) *record.Kubernetes {
	k = k.resolved()
	m := &record.Kubernetes{Namespace: k.Namespace, Pod: k.Pod, Node: k.Node}
	if *m == (record.Kubernetes{}) {
		return nil
	}
	return m
}

// resolved fills the keys left empty from the downward-API environment.
func (k KubernetesConfig) resolved() KubernetesConfig {
	pick := func(v *string, env string) {
		if *v == "" {
			*v = os.Getenv(env)
		}
	}
	pick(&k.Namespace, "POD_NAMESPACE")
	pick(&k.Pod, "POD_NAME")
	pick(&k.UID, "POD_UID")
	pick(&k.Node, "NODE_NAME")
	pick(&k.Container, "OBSADAPTER_CONTAINER")
	pick(&k.AppName, "POD_APP_NAME")
	return k
}

// otlpResource is where the adapter runs, as the OTLP exporter's resource
// attributes. The adapter's own container is not the one whose logs it
// reads, so k8s.container.name is left to the records that know it (the
// pod source's) and to exporters.otlp.resource.
func otlpResource(k KubernetesConfig) otlp.Resource {
	k = k.resolved()
	host, _ := os.Hostname()
	return otlp.Resource{Namespace: k.Namespace, PodName: k.Pod, PodUID: k.UID, NodeName: k.Node, HostName: host, ServiceName: k.AppName}
}

// Run starts everything and blocks until ctx ends (then stops gracefully) or
// every finite source has ended (then drains and returns nil).
func (c *Collector) Run(ctx context.Context) error {
	entries, exists, err := loadCheckpoints(c.cfg.StateDir)
	if err != nil {
		c.logger.Error("ignoring the checkpoint file", "err", err)
	}
	c.restored, c.first = entries, !exists

	// Every chain is built before anything runs: a source must not start
	// without the processors its config names (a redaction, say).
	chains := make([]*processors.Chain, len(c.cfg.Sources))
	for i, sc := range c.cfg.Sources {
		if chains[i], err = buildChain(sc.Processors, c.cfg.Processors, c.cfg.Exporters, c.opts.Clock); err != nil {
			c.closeExporters(context.Background())
			return errChain(sc.Name, err)
		}
	}
	srv, err := c.startHTTP()
	if err != nil {
		c.closeExporters(context.Background())
		return err
	}
	// Each part runs under its own context, derived from ctx without its
	// cancellation: ctx ending starts the shutdown, and the shutdown ends
	// the parts one by one, in order.
	base := context.WithoutCancel(ctx)
	r := &running{srv: srv}
	r.exports = start(base, c.pipeline.run)
	r.procinfo = start(base, func(ctx context.Context) { <-c.startProcinfo(ctx) })
	for i, sc := range c.cfg.Sources {
		c.startSourceAt(sc, c.first, chains[i])
	}
	r.checkpoints = start(base, c.checkpointLoop)
	r.memory = start(base, c.releaseWhenIdle)
	c.ready.Store(true)
	c.logger.Info("obsadapter running", "sources", len(c.cfg.Sources), "exporters", len(c.exporters), "listen", c.cfg.HTTP.Listen)

	select {
	case <-ctx.Done():
		c.ready.Store(false)
		if g := c.cfg.Shutdown.GracePeriod; g > 0 {
			c.logger.Info("stopping: still reading for the grace period", "grace_period", g)
			grace := c.opts.Clock.NewTimer(g)
			c.waitFinite(grace.C())
			grace.Stop()
		}
	case <-c.allFiniteEnded():
		c.ready.Store(false)
		c.logger.Info("every input has ended; draining")
	}
	c.shutdown(r)
	close(c.stopped)
	c.logger.Info("obsadapter stopped")
	return nil
}

// running is what Run started, for shutdown to stop in order.
type running struct {
	srv                                    *httpServers
	exports, procinfo, checkpoints, memory task
}

// task is a goroutine with its own context.
type task struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func start(base context.Context, run func(context.Context)) task {
	ctx, cancel := context.WithCancel(base)
	t := task{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(t.done); run(ctx) }()
	return t
}

// shutdown stops everything within one deadline, shutdown.drain_timeout
// from now (the grace period has passed before it), in stages named as the
// logs name them. Sources first, so everything they read reaches the
// pipeline; then the pipeline drains; then exporters close, the last
// checkpoint is written and the HTTP server stops. The drain may use the
// deadline less a reserve (a quarter, at most 2 s) that the last stages
// share: a source may be blocked handing a batch to a pipeline that a down
// aggregator keeps full, and only cancelling the exports frees it, and the
// final checkpoint must not race the pod's SIGKILL. What is given up stays
// unacknowledged, so files are read again after a restart.
func (c *Collector) shutdown(r *running) {
	total := c.cfg.Shutdown.DrainTimeout
	reserve := min(2*time.Second, total/4)
	deadline := c.opts.Clock.Now().Add(total)
	left := func(keep time.Duration) time.Duration {
		return max(deadline.Sub(c.opts.Clock.Now())-keep, 0)
	}
	drain := c.opts.Clock.NewTimer(total - reserve)
	defer drain.Stop()
	expired := false
	withinDrain := func(done <-chan struct{}) {
		if !expired {
			select {
			case <-done:
				return
			case <-drain.C():
				expired = true
				c.logger.Warn("drain deadline reached, giving up on undelivered batches", "drain_timeout", total)
				r.exports.cancel()
			}
		}
		<-done
	}
	stages := []struct {
		name string
		run  func()
	}{
		{"stop sources", func() { withinDrain(c.stopSources()) }},
		{"stop process sampling", func() { r.procinfo.cancel(); withinDrain(r.procinfo.done) }},
		{"stop the idle memory release", func() { r.memory.cancel(); <-r.memory.done }},
		{"drain the pipeline", func() { close(c.pipeline.in); withinDrain(r.exports.done); r.exports.cancel() }},
		{"close exporters", func() {
			// Half the reserve stays for the checkpoint and the HTTP server.
			ctx, cancel := context.WithTimeout(context.Background(), left(reserve/2))
			defer cancel()
			c.closeExporters(ctx)
		}},
		{"write the last checkpoint", func() {
			r.checkpoints.cancel()
			<-r.checkpoints.done
			c.writeCheckpoints()
			for _, rn := range c.pipeline.runners {
				if n := rn.undelivered.Load(); n > 0 {
					c.logger.Error("records not delivered at shutdown; file sources re-read them after a restart", "exporter", rn.exp.Name(), "records", n)
				}
			}
		}},
		{"stop the HTTP server", func() {
			ctx, cancel := context.WithTimeout(context.Background(), left(0))
			defer cancel()
			r.srv.shutdown(ctx)
		}},
	}
	for _, st := range stages {
		c.logger.Debug("shutdown", "stage", st.name)
		st.run()
	}
}

// closeExporters closes every exporter within ctx. An exporter's own count
// of records it could not deliver (exporters.ErrUndelivered) is not logged
// again: the pipeline's count of unsafe records, logged once at the end of
// the shutdown, already holds them, so the log gives one number.
func (c *Collector) closeExporters(ctx context.Context) {
	for _, e := range c.exporters {
		if err := e.Close(ctx); err != nil && !errors.Is(err, exporters.ErrUndelivered) {
			c.logger.Error("closing exporter", "exporter", e.Name(), "err", err)
		}
	}
}

// startSourceAt builds and starts one source; fresh says whether start_at
// applies (the first start with no checkpoint, or a source new in a reload).
// chain is its processors, built by buildChain. Callers hold no lock.
func (c *Collector) startSourceAt(sc SourceConfig, fresh bool, chain *processors.Chain) {
	status := newSourceStatus(sc.Name, sc.Type)
	next := new(atomic.Pointer[chainSwap])
	deps := sourceDeps{
		logger: c.logger, metrics: c.metrics, clock: c.opts.Clock, out: c.pipeline.in, status: status,
		batchRecords: c.cfg.Pipeline.BatchRecords, kubernetes: c.kube, exposeSamples: c.cfg.HTTP.ExposeSamples,
		tap: c.tap, chain: chain, nextChain: next, countBefore: c.countBefore,
		blocks: &parsers.BlockPool{},
	}
	var src source
	finite := false
	switch sc.Type {
	case "file":
		restored := c.takeRestored(sc.Name)
		src = newFileSource(sc, deps, restored, fresh && len(restored) == 0)
	case "pod":
		restored := c.takeRestored(sc.Name)
		src = newPodSource(sc, deps, c.cfg.Kubernetes, restored, fresh && len(restored) == 0)
	case "stdin":
		src, finite = &stdinSource{cfg: sc, deps: deps, in: c.opts.Stdin}, true
	case "exec":
		src, finite = &execSource{cfg: sc, deps: deps}, true
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningSource{cfg: sc, src: src, status: status, cancel: cancel, done: make(chan struct{}), finite: finite, nextChain: next, blocks: deps.blocks}
	go func() {
		defer close(rs.done)
		if err := src.run(ctx); err != nil {
			c.logger.Error("source stopped", "source", sc.Name, "err", err)
		}
		status.mu.Lock()
		status.ended = true
		status.mu.Unlock()
	}()
	c.mu.Lock()
	c.sources = append(c.sources, rs)
	c.mu.Unlock()
}

func (c *Collector) takeRestored(source string) []checkpointEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var mine, rest []checkpointEntry
	for _, e := range c.restored {
		if e.Source == source {
			mine = append(mine, e)
		} else {
			rest = append(rest, e)
		}
	}
	c.restored = rest
	return mine
}

// stopSources tells every source to stop; the channel closes when all have
// handed over their last batch.
func (c *Collector) stopSources() <-chan struct{} {
	c.mu.Lock()
	srcs := c.sources
	c.mu.Unlock()
	for _, s := range srcs {
		s.cancel()
	}
	done := make(chan struct{})
	go func() {
		for _, s := range srcs {
			<-s.done
		}
		close(done)
	}()
	return done
}

// allFiniteEnded is closed when every stdin and exec source has ended; with
// none configured it never is (file sources follow their files forever).
func (c *Collector) allFiniteEnded() <-chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	var finite []*runningSource
	for _, s := range c.sources {
		if s.finite {
			finite = append(finite, s)
		}
	}
	c.mu.Unlock()
	if len(finite) == 0 {
		return ch
	}
	go func() {
		for _, s := range finite {
			<-s.done
		}
		close(ch)
	}()
	return ch
}

// waitFinite waits for the grace period, or less when every source that can
// end has already ended.
func (c *Collector) waitFinite(grace <-chan time.Time) {
	select {
	case <-grace:
	case <-c.allFiniteEnded():
	}
}

// procinfoSink turns process lifecycle events into records on the pipeline.
// It never blocks procinfo: when the small queue is full the event is counted
// and dropped.
func (c *Collector) procinfoSink(r record.Record) {
	select {
	case c.procEvents <- r:
	default:
		c.metrics.recordsDropped.WithLabelValues("procinfo", "buffer_full").Inc()
	}
}

func (c *Collector) startProcinfo(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if c.procinfo == nil {
		close(done)
		return done
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.procinfo.Run(ctx) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case r := <-c.procEvents:
				recs := record.Batch{r}
				for len(recs) < 256 {
					select {
					case r := <-c.procEvents:
						recs = append(recs, r)
						continue
					default:
					}
					break
				}
				if c.countBefore != nil {
					c.countBefore(recs)
				}
				select {
				case c.pipeline.in <- &batch{records: recs, source: "procinfo"}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(done) }()
	return done
}
