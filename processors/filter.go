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

// apply is for a filter of any other condition: the chain looks a filter
// of levels only up itself (keptBySeverity), with no call a record.
func (f *filter) apply(r *record.Record, _ *uint64) result {
	if f.cond.m(r) == f.keep {
		return resKept
	}
	return resDropped
}

// keptBySeverity returns, for a filter of levels only, whether it keeps a
// record of each severity; nil for any other.
func (f *filter) keptBySeverity() *[256]bool {
	if f.cond.levels == nil {
		return nil
	}
	t := new([256]bool)
	for s := range t {
		t[s] = f.cond.levels[s] == f.keep
	}
	return t
}
