package processors

import (
	"regexp"
	"slices"

	"github.com/obsadapter/obsadapter/record"
)

type parseProc struct {
	field  string // "" for the message
	parse  ParseFunc
	target string
}

func newParse(c *ParseConfig, env Env, p problems) processor {
	x := &parseProc{field: c.Field, target: c.Target}
	switch {
	case c.Parser != "" && c.Regex != "":
		p.add("parser", "set parser or regex, not both")
	case c.Parser != "":
		var ok bool
		if env.Parsers != nil {
			x.parse, ok = env.Parsers(c.Parser)
		}
		if !ok {
			p.add("parser", "%q is not a format name (see docs/formats.md)", c.Parser)
		}
	case c.Regex != "":
		re := compileRegex(c.Regex, p.at("regex"))
		if re == nil {
			break
		}
		if !slices.ContainsFunc(re.SubexpNames(), func(n string) bool { return n != "" }) {
			p.add("regex", "the regex has no named group ((?P<name>...)): it would find no field")
			break
		}
		x.parse = regexParser(re)
	default:
		p.add("", "set parser (a format name) or regex")
	}
	return x
}

// regexParser makes a parser of a regex: its named groups that took part
// become string fields.
func regexParser(re *regexp.Regexp) ParseFunc {
	names := re.SubexpNames()
	return func(text string) (record.Record, bool) {
		m := re.FindStringSubmatchIndex(text)
		if m == nil {
			return record.Record{}, false
		}
		var fields []record.Field
		for i, n := range names {
			if n == "" || m[2*i] < 0 {
				continue
			}
			fields = append(fields, record.Field{Key: n, Value: record.StringValue(text[m[2*i]:m[2*i+1]])})
		}
		return record.Record{Fields: fields}, true
	}
}

func (x *parseProc) apply(r *record.Record, _ *uint64) result {
	text := r.Message
	if x.field != "" {
		v, ok := r.Lookup(x.field)
		if !ok || v.Kind() != record.KindString {
			return resKept
		}
		text = v.Str()
	}
	if text == "" {
		return resKept
	}
	pr, ok := x.parse(text)
	if !ok {
		return resKept
	}
	changed := false
	if x.field == "" && pr.Message != "" && pr.Message != r.Message {
		r.Message, changed = pr.Message, true
	}
	if r.Severity == 0 && pr.Severity != 0 {
		r.Severity, changed = pr.Severity, true
	}
	if r.Time.IsZero() && !pr.Time.IsZero() {
		r.Time, changed = pr.Time, true
	}
	if len(pr.Fields) > 0 {
		r.Fields, changed = mergeFields(r.Fields, pr.Fields, x.target), true
	}
	if !changed {
		return resKept
	}
	return resChanged
}

// mergeFields returns fields with add merged in (under target, when set);
// an added key replaces the field that had it. fields is not written to.
func mergeFields(fields, add []record.Field, target string) []record.Field {
	if target != "" {
		add = []record.Field{{Key: target, Value: record.ObjectValue(add)}}
	}
	out := make([]record.Field, len(fields), len(fields)+len(add))
	copy(out, fields)
	for _, a := range add {
		if j := slices.IndexFunc(out, func(g record.Field) bool { return g.Key == a.Key }); j >= 0 {
			out[j].Value = a.Value
			continue
		}
		out = append(out, a)
	}
	return out
}
