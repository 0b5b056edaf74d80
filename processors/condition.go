package processors

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// Condition selects records; filter and route use it. Every key set must
// hold (they combine with "all"); all, any and not nest conditions.
type Condition struct {
	MinLevel        string   `yaml:"min_level"` // at or above this level; a record stating no level does not match
	Source          []string `yaml:"source"`    // one of these source names
	Format          []string `yaml:"format"`    // one of these format names
	MessageContains string   `yaml:"message_contains"`
	MessageRegex    string   `yaml:"message_regex"`

	// Field names a field by its dotted path; the keys below test it. With
	// none of them set, the field must exist.
	Field  string   `yaml:"field"`
	Equals *string  `yaml:"equals"` // the value's text (numbers as JSON spells them)
	Exists *bool    `yaml:"exists"`
	Regex  string   `yaml:"regex"`
	GT     *float64 `yaml:"gt"`
	GTE    *float64 `yaml:"gte"`
	LT     *float64 `yaml:"lt"`
	LTE    *float64 `yaml:"lte"`

	All []Condition `yaml:"all"`
	Any []Condition `yaml:"any"`
	Not *Condition  `yaml:"not"`
}

// match is a compiled condition.
type match func(r *record.Record) bool

// cond is a condition as compiled: one that tests nothing but the level
// (min_level, and all, any and not of such) is a table by severity, so
// that the commonest filter costs a load a record rather than a call a
// test; any other is a match. Neither is set for an empty one.
type cond struct {
	levels *[256]bool
	m      match
}

func (c cond) set() bool { return c.levels != nil || c.m != nil }

// match returns c as a match.
func (c cond) match() match {
	if t := c.levels; t != nil {
		return func(r *record.Record) bool { return t[r.Severity] }
	}
	return c.m
}

// maxConditionDepth bounds the nesting of all/any/not.
const maxConditionDepth = 16

func compileCondition(c *Condition, p problems) cond {
	return compileDepth(c, p, 0)
}

func compileDepth(c *Condition, p problems, depth int) cond {
	if depth > maxConditionDepth {
		p.add("", "conditions nest deeper than %d levels", maxConditionDepth)
		return cond{}
	}
	var tests []cond
	if c.MinLevel != "" {
		l, ok := record.LevelFromString(c.MinLevel)
		if !ok {
			p.add("min_level", "%q is not a level (trace, debug, info, warn, error, fatal)", c.MinLevel)
		}
		// A severity of the level's range or above: no level (0) is
		// below every one.
		least := l.Severity()
		t := new([256]bool)
		for s := range t {
			t[s] = record.Severity(s) >= least
		}
		tests = append(tests, cond{levels: t})
	}
	if len(c.Source) > 0 {
		names := c.Source
		tests = append(tests, cond{m: func(r *record.Record) bool { return slices.Contains(names, r.Source) }})
	}
	if len(c.Format) > 0 {
		names := c.Format
		tests = append(tests, cond{m: func(r *record.Record) bool { return slices.Contains(names, r.Format) }})
	}
	if c.MessageContains != "" {
		sub := c.MessageContains
		tests = append(tests, cond{m: func(r *record.Record) bool { return strings.Contains(r.Message, sub) }})
	}
	if c.MessageRegex != "" {
		if re := compileRegex(c.MessageRegex, p.at("message_regex")); re != nil {
			tests = append(tests, cond{m: func(r *record.Record) bool { return re.MatchString(r.Message) }})
		}
	}
	for _, m := range compileField(c, p) {
		tests = append(tests, cond{m: m})
	}
	for i := range c.All {
		if m := compileDepth(&c.All[i], p.at("all").at(index(i)), depth+1); m.set() {
			tests = append(tests, m)
		}
	}
	if len(c.Any) > 0 {
		var alts []cond
		for i := range c.Any {
			if m := compileDepth(&c.Any[i], p.at("any").at(index(i)), depth+1); m.set() {
				alts = append(alts, m)
			}
		}
		if len(alts) > 0 {
			tests = append(tests, anyOf(alts))
		}
	}
	if c.Not != nil {
		if m := compileDepth(c.Not, p.at("not"), depth+1); m.set() {
			tests = append(tests, notOf(m))
		}
	}
	if len(tests) == 0 {
		if c.empty() {
			p.add("", "the condition is empty: set min_level, source, format, message_contains, message_regex, field, all, any or not")
		}
		return cond{}
	}
	return allOf(tests)
}

// levelsOf returns the tables of cs, or nil unless each has one.
func levelsOf(cs []cond) []*[256]bool {
	ts := make([]*[256]bool, len(cs))
	for i, c := range cs {
		if ts[i] = c.levels; ts[i] == nil {
			return nil
		}
	}
	return ts
}

// combine is the table of a level-only any (or all) of ts.
func combine(ts []*[256]bool, any bool) cond {
	t := new([256]bool)
	for s := range t {
		t[s] = !any
		for _, u := range ts {
			if u[s] == any {
				t[s] = any
				break
			}
		}
	}
	return cond{levels: t}
}

// anyOf matches what one of cs matches; allOf what all of them do.
func anyOf(cs []cond) cond { return joined(cs, true) }
func allOf(cs []cond) cond { return joined(cs, false) }

// joined is anyOf (any) or allOf: a table when each of cs is one, else a
// match that stops at the first of cs that decides; two, the commonest
// count past one, get a closure without the loop.
func joined(cs []cond, any bool) cond {
	if len(cs) == 1 {
		return cs[0]
	}
	if ts := levelsOf(cs); ts != nil {
		return combine(ts, any)
	}
	ms := matches(cs)
	if len(ms) == 2 {
		a, b := ms[0], ms[1]
		if any {
			return cond{m: func(r *record.Record) bool { return a(r) || b(r) }}
		}
		return cond{m: func(r *record.Record) bool { return a(r) && b(r) }}
	}
	return cond{m: func(r *record.Record) bool {
		for _, m := range ms {
			if m(r) == any {
				return any
			}
		}
		return !any
	}}
}

func notOf(c cond) cond {
	if c.levels != nil {
		t := new([256]bool)
		for s := range t {
			t[s] = !c.levels[s]
		}
		return cond{levels: t}
	}
	m := c.m
	return cond{m: func(r *record.Record) bool { return !m(r) }}
}

func matches(cs []cond) []match {
	ms := make([]match, len(cs))
	for i, c := range cs {
		ms[i] = c.match()
	}
	return ms
}

func (c *Condition) empty() bool {
	return c.MinLevel == "" && len(c.Source) == 0 && len(c.Format) == 0 && c.MessageContains == "" && c.MessageRegex == "" &&
		c.Field == "" && c.Equals == nil && c.Exists == nil && c.Regex == "" && c.GT == nil && c.GTE == nil &&
		c.LT == nil && c.LTE == nil && len(c.All) == 0 && len(c.Any) == 0 && c.Not == nil
}

// compileField returns the tests of the field keys.
func compileField(c *Condition, p problems) []match {
	hasTest := c.Equals != nil || c.Exists != nil || c.Regex != "" || c.GT != nil || c.GTE != nil || c.LT != nil || c.LTE != nil
	if c.Field == "" {
		if hasTest {
			p.add("field", "equals, exists, regex, gt, gte, lt and lte test a field: set field")
		}
		return nil
	}
	path := c.Field
	if !hasTest {
		return []match{func(r *record.Record) bool { _, ok := r.Lookup(path); return ok }}
	}
	var tests []match
	if c.Exists != nil {
		want := *c.Exists
		tests = append(tests, func(r *record.Record) bool { _, ok := r.Lookup(path); return ok == want })
	}
	if c.Equals != nil {
		want := *c.Equals
		tests = append(tests, func(r *record.Record) bool {
			v, ok := r.Lookup(path)
			if !ok {
				return false
			}
			if v.Kind() == record.KindString {
				return v.Str() == want
			}
			return v.String() == want
		})
	}
	if c.Regex != "" {
		if re := compileRegex(c.Regex, p.at("regex")); re != nil {
			tests = append(tests, func(r *record.Record) bool {
				v, ok := r.Lookup(path)
				return ok && re.MatchString(v.String())
			})
		}
	}
	for _, cmp := range []struct {
		bound *float64
		ok    func(x, b float64) bool
	}{
		{c.GT, func(x, b float64) bool { return x > b }},
		{c.GTE, func(x, b float64) bool { return x >= b }},
		{c.LT, func(x, b float64) bool { return x < b }},
		{c.LTE, func(x, b float64) bool { return x <= b }},
	} {
		if cmp.bound == nil {
			continue
		}
		b, ok := *cmp.bound, cmp.ok
		tests = append(tests, func(r *record.Record) bool {
			v, found := r.Lookup(path)
			if !found {
				return false
			}
			x, num := v.Number()
			return num && ok(x, b)
		})
	}
	return tests
}

// maxRegex bounds a configured pattern's length; RE2 matching is linear in
// the input, and this keeps the compiled program small too.
const maxRegex = 4096

func compileRegex(expr string, p problems) *regexp.Regexp {
	if len(expr) > maxRegex {
		p.add("", "the pattern is %d bytes long, at most %d", len(expr), maxRegex)
		return nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		p.add("", "%v", err)
		return nil
	}
	return re
}

func index(i int) string { return "[" + strconv.Itoa(i) + "]" }
