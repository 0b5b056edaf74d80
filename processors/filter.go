package processors

import "github.com/obsadapter/obsadapter/record"

// FilterConfig keeps the records that match Keep, or drops those that match
// Drop; exactly one is set.
type FilterConfig struct {
	Keep *Condition `yaml:"keep"`
	Drop *Condition `yaml:"drop"`
}

type filter struct {
	match match
	keep  bool // keep what matches (else drop what matches)
	// kept, for a filter of levels only (match nil), says whether it keeps
	// a record of each severity: the chain looks it up in its record loop
	// rather than calling apply.
	kept *[256]bool
}

func newFilter(c *FilterConfig, p problems) processor {
	f := &filter{}
	var cond cond
	switch {
	case c.Keep != nil && c.Drop != nil:
		p.add("", "set keep or drop, not both")
	case c.Keep != nil:
		f.keep = true
		cond = compileCondition(c.Keep, p.at("keep"))
	case c.Drop != nil:
		cond = compileCondition(c.Drop, p.at("drop"))
	default:
		p.add("", "set keep (records to keep) or drop (records to drop)")
	}
	f.match = cond.m
	if t := cond.levels; t != nil {
		f.kept = new([256]bool)
		for s := range t {
			f.kept[s] = t[s] == f.keep
		}
	}
	return f
}

func (f *filter) apply(r *record.Record, _ *uint64) result {
	if f.kept != nil {
		if f.kept[r.Severity] {
			return resKept
		}
		return resDropped
	}
	if f.match(r) == f.keep {
		return resKept
	}
	return resDropped
}
