// Package processors is the stage between parsing and the exporters: an
// ordered list of filter, redact, sample, throttle, fields, parse and route
// processors compiled into a Chain and applied in the source's goroutine.
// Every record a processor sees is counted as kept, dropped or changed.
//
// It imports record/, secrets/ and the standard library only; what it needs
// from the rest of the adapter (named parsers, exporter names, the clock,
// the environment) the collector injects through Env.
package processors

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Spec is one entry of a `processors:` list in YAML; exactly one kind key is
// set:
//
//	processors:
//	  - filter: {...}
//	  - redact: {...}
//	    name: mask-secrets        # optional metric label
type Spec struct {
	Name     string          `yaml:"name"`
	Filter   *FilterConfig   `yaml:"filter"`
	Redact   *RedactConfig   `yaml:"redact"`
	Sample   *SampleConfig   `yaml:"sample"`
	Throttle *ThrottleConfig `yaml:"throttle"`
	Fields   *FieldsConfig   `yaml:"fields"`
	Parse    *ParseConfig    `yaml:"parse"`
	Route    *RouteConfig    `yaml:"route"`
}

// Problem is one configuration mistake; Key is the path below the list, e.g.
// "[2].filter.keep.message_regex".
type Problem struct{ Key, Msg string }

func (p Problem) String() string { return p.Key + ": " + p.Msg }

// Env is what the collector injects.
type Env struct {
	Parsers   func(name string) (ParseFunc, bool) // named parsers ("json", "logfmt", "auto", ...)
	Exporters []string                            // enabled exporter names; route mask bit i = Exporters[i]
	Getenv    func(string) (string, bool)         // for fields.add_from_env and the redact hash key
	ReadFile  func(string) ([]byte, error)        // for the redact hash key file
	Now       func() time.Time                    // throttle windows; the collector passes its clock
}

// ParseFunc parses text as one line of a named format; ok=false when it does
// not fit.
type ParseFunc func(text string) (rec record.Record, ok bool)

// Stat is the cumulative count of one processor.
type Stat struct {
	Name, Kind             string // Name defaults to Kind, or Kind_N (N = list index) when a kind repeats
	Kept, Dropped, Changed uint64 // per record seen: dropped, or changed (kept and modified), or kept unmodified
}

// result is what one processor did to one record.
type result uint8

const (
	resKept result = iota
	resDropped
	resChanged
)

// A processor applies to one record at a time. It may replace r's Message
// and Fields (never mutating what it did not allocate itself) and narrow
// *mask, the exporters the record goes to.
type processor interface {
	apply(r *record.Record, mask *uint64) result
}

// summarizer is a processor that makes records of its own (throttle
// summaries): summaries appends those queued, and at a flush every pending
// one.
type summarizer interface {
	summaries(out []record.Record, flush bool) []record.Record
}

// Chain is a compiled list. A nil *Chain is valid: Process returns its input
// unchanged. Not safe for concurrent use, except Stats: one Chain per source
// goroutine (Build one per source).
type Chain struct {
	procs []processor
	// keeps[j] is step j's kept table, when it is a filter of levels only:
	// the record loop looks it up rather than calling the step, the
	// commonest filter then costing a load a record.
	keeps []*[256]bool
	// lead is how many steps lead the list as filters of levels only, and
	// leadDrop, by level, the first of them that drops it (kept: none):
	// the record loop looks a record's level up once for all of them, and
	// calls the steps after them.
	lead     int
	leadDrop *[256]uint8
	// one is the only step after them, when it is no filter of levels
	// only (the commonest chain: a redact after a level filter): called
	// without the loop over steps.
	one    processor
	names  []string
	kinds  []string
	counts []counts
	local  [][3]uint64 // per Process call, added to counts once
	routed bool
	all    uint64 // the mask of every exporter
	mask   uint64 // the record's in Process (a field: a local would escape)
	// routes is Process's result while it runs: a field, so that the
	// record loop keeps fewer values in registers across each step's call.
	routes []uint64
}

// counts are read by Stats from the metrics goroutine while the source's
// goroutine adds to them.
type counts struct{ kept, dropped, changed atomic.Uint64 }

// Validate reports every problem in a list (not just the first), in list
// order.
func Validate(specs []Spec, env Env) []Problem {
	_, probs := compile(specs, env)
	return probs
}

// Build compiles a list; its error lists the same problems as Validate.
func Build(specs []Spec, env Env) (*Chain, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	c, probs := compile(specs, env)
	if len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = errors.New(p.String())
		}
		return nil, fmt.Errorf("processors: %w", errors.Join(errs...))
	}
	return c, nil
}

// maxExporters is how many exporters a route mask can name.
const maxExporters = 64

// problems collects mistakes under a key prefix.
type problems struct {
	list *[]Problem
	pre  string
}

func (p problems) add(key, format string, args ...any) {
	k := p.pre
	if key != "" {
		k += "." + key
	}
	*p.list = append(*p.list, Problem{Key: k, Msg: fmt.Sprintf(format, args...)})
}

// at returns the collector for the keys below key.
func (p problems) at(key string) problems {
	if strings.HasPrefix(key, "[") {
		return problems{list: p.list, pre: p.pre + key}
	}
	return problems{list: p.list, pre: p.pre + "." + key}
}

func compile(specs []Spec, env Env) (*Chain, []Problem) {
	var list []Problem
	if len(env.Exporters) > maxExporters {
		list = append(list, Problem{Key: "", Msg: fmt.Sprintf("at most %d exporters can be routed, %d are enabled", maxExporters, len(env.Exporters))})
	}
	c := &Chain{all: allMask(len(env.Exporters))}
	kinds := map[string]int{}
	for i := range specs {
		if k := specs[i].kind(); k != "" {
			kinds[k]++
		}
	}
	seen := map[string]int{}
	for i := range specs {
		s := &specs[i]
		p := problems{list: &list, pre: fmt.Sprintf("[%d]", i)}
		kind := s.kind()
		if n := s.kindCount(); n != 1 {
			p.add("", "exactly one of filter, redact, sample, throttle, fields, parse, route must be set, found %d", n)
			continue
		}
		name := s.Name
		if name == "" {
			name = kind
			if kinds[kind] > 1 {
				name = fmt.Sprintf("%s_%d", kind, i)
			}
		}
		if j, dup := seen[name]; dup {
			p.add("name", "%q is also the name of processor [%d]; names label metrics and must differ", name, j)
		}
		seen[name] = i
		var proc processor
		switch kind {
		case "filter":
			proc = newFilter(s.Filter, p.at("filter"))
		case "redact":
			proc = newRedact(s.Redact, env, p.at("redact"))
		case "sample":
			proc = newSample(s.Sample, p.at("sample"))
		case "throttle":
			proc = newThrottle(name, s.Throttle, env, p.at("throttle"))
		case "fields":
			proc = newFields(s.Fields, env, p.at("fields"))
		case "parse":
			proc = newParse(s.Parse, env, p.at("parse"))
		case "route":
			proc = newRoute(s.Route, env, p.at("route"))
			c.routed = true
		}
		c.procs = append(c.procs, proc)
		var keep *[256]bool
		if f, ok := proc.(*filter); ok {
			keep = f.kept
		}
		c.keeps = append(c.keeps, keep)
		c.names = append(c.names, name)
		c.kinds = append(c.kinds, kind)
	}
	if len(list) > 0 {
		return nil, list
	}
	c.counts = make([]counts, len(c.procs))
	c.local = make([][3]uint64, len(c.procs))
	c.foldLead()
	return c, nil
}

// keptByLead marks a level no leading filter drops, in Chain.leadDrop.
const keptByLead = 255

// foldLead sets lead and leadDrop from the leading filters of levels only.
func (c *Chain) foldLead() {
	for c.lead < len(c.procs) && c.lead < keptByLead && c.keeps[c.lead] != nil {
		c.lead++
	}
	if c.lead == len(c.procs)-1 && c.keeps[c.lead] == nil {
		c.one = c.procs[c.lead]
	}
	if c.lead == 0 {
		return
	}
	c.leadDrop = new([256]uint8)
	for level := range c.leadDrop {
		c.leadDrop[level] = keptByLead
		for j := range c.lead {
			if !c.keeps[j][level] {
				c.leadDrop[level] = uint8(j)
				break
			}
		}
	}
}

func allMask(n int) uint64 {
	if n >= maxExporters {
		return ^uint64(0)
	}
	return 1<<n - 1
}

func (s *Spec) kindCount() int {
	n := 0
	for _, set := range []bool{s.Filter != nil, s.Redact != nil, s.Sample != nil, s.Throttle != nil,
		s.Fields != nil, s.Parse != nil, s.Route != nil} {
		if set {
			n++
		}
	}
	return n
}

func (s *Spec) kind() string {
	switch {
	case s.Filter != nil:
		return "filter"
	case s.Redact != nil:
		return "redact"
	case s.Sample != nil:
		return "sample"
	case s.Throttle != nil:
		return "throttle"
	case s.Fields != nil:
		return "fields"
	case s.Parse != nil:
		return "parse"
	case s.Route != nil:
		return "route"
	}
	return ""
}

// Process applies every processor in order, in the caller's goroutine, to
// recs in place. It returns the kept records (reusing recs' array) with any
// due throttle summaries appended, and routes: routes[i] is the exporter mask
// of out[i] (bit j = Env.Exporters[j]); routes is nil when no route processor
// is in the chain (all exporters). A record whose mask becomes 0 is removed
// and counted as dropped by that route processor. routesBuf is reused for the
// returned routes when its capacity allows.
func (c *Chain) Process(recs []record.Record, routesBuf []uint64) (out []record.Record, routes []uint64) {
	if c == nil || len(c.procs) == 0 {
		return recs, nil
	}
	if c.routed {
		c.routes = routesBuf[:0]
	}
	n := 0
	for i := range recs {
		if c.lead > 0 {
			if j := c.leadDrop[recs[i].Severity]; j != keptByLead {
				c.local[j][resDropped]++
				continue
			}
		}
		c.mask = c.all
		if c.one != nil {
			if res := c.one.apply(&recs[i], &c.mask); res != resKept {
				c.local[c.lead][res]++
				if res == resDropped {
					continue
				}
				recs[i].DropCleanLine()
			}
		} else if !c.steps(&recs[i]) {
			continue
		}
		if n != i {
			recs[n] = recs[i]
		}
		n++
		if c.routed {
			c.routes = append(c.routes, c.mask)
		}
	}
	routes, c.routes = c.routes, nil
	// Dropped records' slots are cleared so the array does not keep their
	// messages alive while the batch is in flight.
	clear(recs[n:])
	out = recs[:n]
	out, routes = c.summaries(out, routes, false)
	c.publish(uint64(len(recs)))
	return out, routes
}

// steps applies the steps after the leading filters to r, in order, and
// reports whether r is kept.
func (c *Chain) steps(r *record.Record) bool {
	for j := c.lead; j < len(c.procs); j++ {
		res := resKept
		if keep := c.keeps[j]; keep == nil {
			res = c.procs[j].apply(r, &c.mask)
		} else if !keep[r.Severity] {
			res = resDropped
		}
		// Only drops and changes are counted here: a processor kept the
		// records that reached it and it neither dropped nor changed
		// (publish).
		if res != resKept {
			c.local[j][res]++
			if res == resDropped {
				return false
			}
			// A changed record's texts are not its line's parts.
			r.DropCleanLine()
		}
	}
	return true
}

// Flush returns summaries still pending (throttle windows not yet reported);
// the collector calls it when a source stops and periodically (every second)
// so a summary does not wait for the next record. Summaries go to every
// exporter.
func (c *Chain) Flush() []record.Record {
	if c == nil {
		return nil
	}
	out, _ := c.summaries(nil, nil, true)
	return out
}

// summaries appends the throttle summaries that are due (all pending ones
// when all is set). They skip the processors after the one that made them:
// a summary is that processor's own report, sent to every exporter.
func (c *Chain) summaries(out []record.Record, routes []uint64, all bool) ([]record.Record, []uint64) {
	for _, p := range c.procs {
		s, ok := p.(summarizer)
		if !ok {
			continue
		}
		before := len(out)
		out = s.summaries(out, all)
		if routes != nil || c.routed {
			for range out[before:] {
				routes = append(routes, c.all)
			}
		}
	}
	return out, routes
}

// publish adds a Process call's counts, of n records, to the cumulative
// ones Stats reads.
func (c *Chain) publish(n uint64) {
	for j := range c.local {
		l := &c.local[j]
		// n records reached processor j: all but those dropped before it.
		if kept := n - l[resDropped] - l[resChanged]; kept != 0 {
			c.counts[j].kept.Add(kept)
		}
		if l[resDropped] != 0 {
			c.counts[j].dropped.Add(l[resDropped])
		}
		if l[resChanged] != 0 {
			c.counts[j].changed.Add(l[resChanged])
		}
		n -= l[resDropped]
		*l = [3]uint64{}
	}
}

// Stats returns cumulative counts per processor, in list order. It may be
// called from any goroutine.
func (c *Chain) Stats() []Stat {
	if c == nil {
		return nil
	}
	out := make([]Stat, len(c.procs))
	for j := range c.procs {
		out[j] = Stat{Name: c.names[j], Kind: c.kinds[j],
			Kept: c.counts[j].kept.Load(), Dropped: c.counts[j].dropped.Load(), Changed: c.counts[j].changed.Load()}
	}
	return out
}

// ChecksLines reports whether a redact step of c skips the texts that lie
// in a record's clean line: then the source should check its lines
// (secrets.LineClean) and set it.
func (c *Chain) ChecksLines() bool {
	if c == nil {
		return false
	}
	for _, p := range c.procs {
		if x, ok := p.(*redact); ok && x.line {
			return true
		}
	}
	return false
}
