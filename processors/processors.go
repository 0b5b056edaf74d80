// Package processors shapes records between parsing and the exporters: an
// ordered list of filter, redact, sample, throttle, fields, parse and route
// steps, applied in the source's goroutine. It imports record/ and secrets/
// only; the collector injects what it needs (named parsers, exporter names,
// the environment, the clock) through Env.
//
// LEAD'S NOTE TO P1 (delete this paragraph once read): this file fixes the
// API that P2 (collector integration, same worktree) compiles against; the
// full brief, rules and API contract are in /tmp/common-rules.md — read it
// now if you have not. Replace the placeholder bodies below with the real
// implementation (split into one file per processor).
package processors

import (
	"errors"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Spec is one entry of a `processors:` list; exactly one kind key is set.
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

// Placeholder config types: P1 defines their keys.
type (
	FilterConfig   struct{}
	RedactConfig   struct{}
	SampleConfig   struct{}
	ThrottleConfig struct{}
	FieldsConfig   struct{}
	ParseConfig    struct{}
	RouteConfig    struct{}
)

// Problem is one configuration mistake; Key is the path below the list,
// e.g. "[2].filter.message_regex".
type Problem struct{ Key, Msg string }

// Env is what the collector injects.
type Env struct {
	Parsers   func(name string) (ParseFunc, bool) // named parsers ("json", "logfmt", "auto", ...)
	Exporters []string                          // enabled exporter names; route mask bit i = Exporters[i]
	Getenv    func(string) (string, bool)       // fields.add from env, the redact hash key
	ReadFile  func(string) ([]byte, error)      // the redact hash key file
	Now       func() time.Time                  // throttle windows; the collector passes its clock
}

// ParseFunc parses text as one line of a named format; ok is false when it
// does not fit.
type ParseFunc func(text string) (rec record.Record, ok bool)

// Stat is one processor's cumulative counts: every record it saw was
// dropped, changed (kept and modified) or kept unmodified.
type Stat struct {
	Name, Kind             string // Name defaults to Kind, or Kind_N (N = list index) when a kind repeats
	Kept, Dropped, Changed uint64
}

// Chain is a compiled list. A nil *Chain is valid and passes records
// through. Not safe for concurrent use: one Chain per source goroutine.
type Chain struct{}

// Validate reports every problem in a list, in list order.
func Validate(specs []Spec, env Env) []Problem { return nil }

// Build compiles a list; its error lists the same problems as Validate.
func Build(specs []Spec, env Env) (*Chain, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	return nil, errors.New("processors: not built yet")
}

// Process applies every processor in order to recs in place and returns the
// kept records (reusing recs' array where it can) with any due throttle
// summaries appended. routes[i] is the exporter mask of out[i] (bit j =
// Env.Exporters[j]); routes is nil when no route processor is in the chain
// (every exporter). A record whose mask becomes 0 is removed and counted as
// dropped by that route. routesBuf is reused when its capacity allows.
func (c *Chain) Process(recs []record.Record, routesBuf []uint64) (out []record.Record, routes []uint64) {
	return recs, nil
}

// Flush returns summaries still pending (throttle windows not yet
// reported). The collector calls it every second and when a source stops.
func (c *Chain) Flush() []record.Record { return nil }

// Stats returns cumulative counts per processor, in list order.
func (c *Chain) Stats() []Stat { return nil }
