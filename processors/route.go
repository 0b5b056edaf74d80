package processors

import (
	"slices"

	"github.com/obsadapter/obsadapter/record"
)

// RouteConfig chooses the exporters a record goes to: the first rule whose
// condition matches names them; a record no rule matches goes to Default,
// or keeps its exporters when Default is empty. Routes narrow: a later
// route can only remove exporters an earlier one left.
type RouteConfig struct {
	Rules   []RouteRule `yaml:"rules"`
	Default []string    `yaml:"default"`
}

// RouteRule sends the records matching When to Exporters.
type RouteRule struct {
	When      Condition `yaml:"when"`
	Exporters []string  `yaml:"exporters"`
}

type route struct {
	matches []match
	masks   []uint64
	def     uint64 // all bits when no default is set
}

func newRoute(c *RouteConfig, env Env, p problems) processor {
	rt := &route{def: ^uint64(0)}
	if len(c.Rules) == 0 {
		p.add("rules", "a route needs at least one rule")
	}
	for i := range c.Rules {
		rp := p.at("rules").at(index(i))
		rule := &c.Rules[i]
		rt.matches = append(rt.matches, compileCondition(&rule.When, rp.at("when")).match())
		if len(rule.Exporters) == 0 {
			rp.add("exporters", "name at least one exporter (to drop records, use a filter)")
		}
		rt.masks = append(rt.masks, exporterMask(rule.Exporters, env, rp.at("exporters")))
	}
	if len(c.Default) > 0 {
		rt.def = exporterMask(c.Default, env, p.at("default"))
	}
	return rt
}

// exporterMask turns exporter names into a mask over env.Exporters.
func exporterMask(names []string, env Env, p problems) uint64 {
	var m uint64
	for i, n := range names {
		j := slices.Index(env.Exporters, n)
		if j < 0 || j >= maxExporters {
			p.at(index(i)).add("", "%q is not an enabled exporter (enabled: %v)", n, env.Exporters)
			continue
		}
		m |= 1 << j
	}
	return m
}

func (rt *route) apply(r *record.Record, mask *uint64) result {
	to := rt.def
	for i, m := range rt.matches {
		if m(r) {
			to = rt.masks[i]
			break
		}
	}
	next := *mask & to
	switch {
	case next == 0:
		*mask = 0
		return resDropped
	case next != *mask:
		*mask = next
		return resChanged
	}
	return resKept
}
