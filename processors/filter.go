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
}

func newFilter(c *FilterConfig, p problems) processor {
	f := &filter{}
	switch {
	case c.Keep != nil && c.Drop != nil:
		p.add("", "set keep or drop, not both")
	case c.Keep != nil:
		f.keep = true
		f.match = compileCondition(c.Keep, p.at("keep"))
	case c.Drop != nil:
		f.match = compileCondition(c.Drop, p.at("drop"))
	default:
		p.add("", "set keep (records to keep) or drop (records to drop)")
	}
	return f
}

func (f *filter) apply(r *record.Record, _ *uint64) result {
	if f.match(r) == f.keep {
		return resKept
	}
	return resDropped
}
