package collector

import (
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/processors"
	"github.com/obsadapter/obsadapter/record"
)

// Processors in the collector: each source's goroutine owns one
// processors.Chain (its own list, then the global one), applied to a batch
// as it is sealed (batcher.shape), so no stage has a goroutine of its own.
// What a route leaves an exporter is picked out by that exporter's runner
// (pipeline.go); a batch's checkpoint marks travel with it whatever its
// records became, so dropped records still advance their files.

// chainFlushEvery is how often a source asks its chain for the summaries
// it holds (throttle windows), so one does not wait for the next record.
const chainFlushEvery = time.Second

// exporterNames are the enabled exporters in the pipeline's order (New
// builds them in this order): route mask bit i is exporter i.
func exporterNames(e ExportersConfig) []string {
	var names []string
	if e.Stdout.Enabled {
		names = append(names, "stdout")
	}
	if e.Prometheus.Enabled {
		names = append(names, "prometheus")
	}
	if e.Fluent.Enabled {
		names = append(names, "fluent")
	}
	return names
}

// processorEnv is what processors get from the collector.
func processorEnv(e ExportersConfig, clk clock.Clock) processors.Env {
	return processors.Env{
		Parsers:   namedParser(clk),
		Exporters: exporterNames(e),
		Getenv:    os.LookupEnv,
		ReadFile:  os.ReadFile,
		Now:       clk.Now,
	}
}

// parserNames are the formats a parse processor may name: every format a
// source may force except the container envelopes, which wrap lines rather
// than parse them, and auto.
func parserNames() []string {
	names := []string{"auto"}
	for _, f := range parsers.Formats() {
		if f != "cri" && f != "docker" {
			names = append(names, f)
		}
	}
	return names
}

// namedParser makes one ParseFunc per call: a stream of its own (the
// parsers keep per-stream state, and a chain runs in one goroutine), with
// multiline off so that one text is one record. A forced format fits when
// the stream counts no parse failure; auto fits unless only plain text
// matched.
func namedParser(clk clock.Clock) func(string) (processors.ParseFunc, bool) {
	return func(name string) (processors.ParseFunc, bool) {
		if !slices.Contains(parserNames(), name) {
			return nil, false
		}
		cfg := parsers.DefaultConfig()
		cfg.Format = name
		cfg.Multiline = parsers.Multiline{Mode: parsers.MultilineOff}
		st, err := parsers.NewStream(cfg, parsers.Meta{})
		if err != nil {
			return nil, false
		}
		return func(text string) (record.Record, bool) {
			failed := st.Stats().ParseFailures
			now := clk.Now()
			recs := st.Feed([]byte(text), record.Position{}, false, now)
			if len(recs) == 0 {
				recs = st.FlushAll(now)
			}
			if len(recs) == 0 || st.Stats().ParseFailures != failed {
				return record.Record{}, false
			}
			r := recs[0]
			if name == "auto" && r.Format == "plain" {
				return record.Record{}, false
			}
			return r, true
		}, true
	}
}

// buildChain compiles a source's processors: its own list, then the
// global one.
func buildChain(own, global []processors.Spec, e ExportersConfig, clk clock.Clock) (*processors.Chain, error) {
	specs := slices.Concat(own, global)
	if len(specs) == 0 {
		return nil, nil
	}
	return processors.Build(specs, processorEnv(e, clk))
}

// chainSwap hands a source a chain built by a reload; the source takes it
// when it next seals a batch. chain nil: the reload removed every step.
type chainSwap struct{ chain *processors.Chain }

// shaping is a source's processors state, owned by its goroutine.
type shaping struct {
	chain     *processors.Chain
	next      *atomic.Pointer[chainSwap] // set by a reload
	stats     []processors.Stat          // as last counted
	counters  []statCounters             // obsadapter_processor_records_total children, per step
	flushed   []record.Record            // summaries of a chain a reload replaced
	flushNow  bool                       // the next seal takes the chain's held summaries
	nextFlush time.Time
	spare     chan []uint64 // finished batches' route arrays
}

type statCounters struct{ kept, dropped, changed prometheus.Counter }

// take installs a chain a reload handed over, keeping what the old one
// still held.
func (b *batcher) takeChain() {
	if b.shaping.next == nil {
		return
	}
	sw := b.shaping.next.Swap(nil)
	if sw == nil {
		return
	}
	sh := &b.shaping
	if sh.chain != nil {
		sh.flushed = append(sh.flushed, sh.chain.Flush()...)
		b.countSteps()
	}
	sh.chain, sh.stats, sh.counters = sw.chain, nil, nil
	sh.nextFlush = time.Time{}
	b.checkLines = sw.chain.ChecksLines()
}

// flushDeadline is when the chain's held summaries are next due, if it
// has steps.
func (b *batcher) flushDeadline(now time.Time) (time.Time, bool) {
	b.takeChain()
	sh := &b.shaping
	if sh.chain == nil {
		return time.Time{}, false
	}
	if sh.nextFlush.IsZero() {
		return now.Add(chainFlushEvery), true
	}
	return sh.nextFlush, true
}

// flushChain has the next seal take the chain's held summaries when they
// are due, or at once when final (the source is stopping). The first call
// starts the clock.
func (b *batcher) flushChain(now time.Time, final bool) {
	b.takeChain()
	sh := &b.shaping
	if sh.chain == nil {
		return
	}
	due := !sh.nextFlush.IsZero() && !now.Before(sh.nextFlush)
	if sh.nextFlush.IsZero() || due {
		sh.nextFlush = now.Add(chainFlushEvery)
	}
	sh.flushNow = sh.flushNow || due || final
}

// shape is where a sealed batch's records pass the processors: b.recs
// holds them as parsed before it and as exported after it. A tap that shows
// records before or after the processors hooks here.
func (b *batcher) shape(out *batch) {
	b.takeChain()
	sh := &b.shaping
	if b.deps.countBefore != nil && len(b.recs) > 0 {
		b.deps.countBefore(b.recs)
	}
	var routes []uint64
	counted := len(b.recs) > 0 || len(sh.flushed) > 0
	if sh.chain != nil && len(b.recs) > 0 {
		var buf []uint64
		select {
		case buf = <-sh.spare:
		default:
		}
		b.recs, routes = sh.chain.Process(b.recs, buf)
	}
	if sh.flushNow && sh.chain != nil {
		sh.flushed = append(sh.flushed, sh.chain.Flush()...)
		counted = true
	}
	sh.flushNow = false
	if len(sh.flushed) > 0 {
		b.recs = append(b.recs, sh.flushed...)
		if routes != nil {
			for range sh.flushed {
				routes = append(routes, allExporters)
			}
		}
		clear(sh.flushed)
		sh.flushed = sh.flushed[:0]
	}
	out.records = b.recs
	if routes != nil {
		out.setRoutes(routes)
		if sh.spare == nil {
			sh.spare = make(chan []uint64, spareBatches)
		}
		out.routesBack = sh.spare
	}
	if sh.chain != nil && counted {
		b.countSteps()
	}
}

// allExporters is the route mask of a record every exporter gets.
const allExporters = ^uint64(0)

// countSteps adds what each step did since the last count to
// obsadapter_processor_records_total.
func (b *batcher) countSteps() {
	sh := &b.shaping
	cur := sh.chain.Stats()
	if len(sh.counters) != len(cur) {
		sh.counters = make([]statCounters, len(cur))
		vec := b.deps.metrics.processorRecords
		for i, st := range cur {
			sh.counters[i] = statCounters{
				kept:    vec.WithLabelValues(b.source, st.Name, "kept"),
				dropped: vec.WithLabelValues(b.source, st.Name, "dropped"),
				changed: vec.WithLabelValues(b.source, st.Name, "changed"),
			}
		}
		sh.stats = make([]processors.Stat, len(cur))
	}
	for i, st := range cur {
		prev, c := sh.stats[i], sh.counters[i]
		addDelta(c.kept, st.Kept, prev.Kept)
		addDelta(c.dropped, st.Dropped, prev.Dropped)
		addDelta(c.changed, st.Changed, prev.Changed)
	}
	sh.stats = append(sh.stats[:0], cur...)
}

func addDelta(c prometheus.Counter, cur, prev uint64) {
	if cur > prev {
		c.Add(float64(cur - prev))
	}
}

// errChain wraps a chain that failed to build (a key file gone since the
// config was validated) with its source.
func errChain(source string, err error) error {
	return fmt.Errorf("sources: %s: processors: %w", source, err)
}
