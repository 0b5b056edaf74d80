package processors

import "github.com/obsadapter/obsadapter/record"

// FilterConfig keeps the records that match Keep, or drops those that match
// Drop; exactly one is set.
type FilterConfig struct {
	Keep *Condition `yaml:"keep"`
	Drop *Condition `yaml:"drop"`
}

type filter struct {
	cond cond
	keep bool // keep what matches (else drop what matches)
}

func newFilter(c *FilterConfig, p problems) processor {
	f := &filter{}
	switch {
	case c.Keep != nil && c.Drop != nil:
		p.add("", "set keep or drop, not both")
	case c.Keep != nil:
		f.keep = true
		f.cond = compileCondition(c.Keep, p.at("keep"))
	case c.Drop != nil:
		f.cond = compileCondition(c.Drop, p.at("drop"))
	default:
		p.add("", "set keep (records to keep) or drop (records to drop)")
	}
	return f
}

func (f *filter) apply(r *record.Record, _ *uint64) result {
	var matched bool
	if t := f.cond.levels; t != nil {
		matched = t[r.Severity]
	} else {
		matched = f.cond.m(r)
	}
	if matched == f.keep {
		return resKept
	}
	return resDropped
}
