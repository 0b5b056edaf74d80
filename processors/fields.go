package processors

import (
	"slices"
	"sort"
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

type fieldsProc struct {
	rename      map[string]string
	add         []record.Field // sorted by key: the order is stable across reloads
	messageFrom string
	levelFrom   string
	remove      []string
}

func newFields(c *FieldsConfig, env Env, p problems) processor {
	f := &fieldsProc{rename: c.Rename, messageFrom: c.MessageFrom, levelFrom: c.LevelFrom, remove: c.Remove}
	for from, to := range c.Rename {
		if from == "" || to == "" {
			p.at("rename").add("", "rename %q to %q: both keys must be non-empty", from, to)
		}
	}
	for k, v := range c.Add {
		if k == "" {
			p.at("add").add("", "an added field needs a key")
		}
		f.add = append(f.add, record.Field{Key: k, Value: record.StringValue(v)})
	}
	for k, name := range c.AddFromEnv {
		if k == "" {
			p.at("add_from_env").add("", "an added field needs a key")
			continue
		}
		if _, dup := c.Add[k]; dup {
			p.at("add_from_env").at(k).add("", "%q is also in add", k)
			continue
		}
		v, ok := "", false
		if env.Getenv != nil {
			v, ok = env.Getenv(name)
		}
		if !ok {
			p.at("add_from_env").at(k).add("", "the environment variable %s is not set", name)
			continue
		}
		f.add = append(f.add, record.Field{Key: k, Value: record.StringValue(v)})
	}
	sort.Slice(f.add, func(i, j int) bool { return f.add[i].Key < f.add[j].Key })
	for i, k := range c.Remove {
		if k == "" {
			p.at("remove").at(index(i)).add("", "an empty key")
		}
	}
	if len(c.Rename)+len(f.add)+len(c.Remove) == 0 && c.MessageFrom == "" && c.LevelFrom == "" && len(c.AddFromEnv) == 0 {
		p.add("", "nothing to do: set rename, add, add_from_env, message_from, level_from or remove")
	}
	return f
}

func (f *fieldsProc) apply(r *record.Record, _ *uint64) result {
	// fields is r.Fields until the first change, then this processor's copy.
	fields, owned := r.Fields, false
	own := func() {
		if !owned {
			fields = append(make([]record.Field, 0, len(fields)+len(f.add)), fields...)
			owned = true
		}
	}
	changed := false
	if len(f.rename) > 0 {
		// Renames apply at once ({a: b, b: c} loses nothing); a renamed
		// field replaces a field that already had its new key.
		var targets []string
		var renamed []bool
		for i := range fields {
			to, ok := f.rename[fields[i].Key]
			if !ok || to == fields[i].Key {
				continue
			}
			own()
			if renamed == nil {
				renamed = make([]bool, len(fields))
			}
			fields[i].Key, renamed[i] = to, true
			targets = append(targets, to)
		}
		if renamed != nil {
			changed = true
			w := 0
			for i := range fields {
				if !renamed[i] && slices.Contains(targets, fields[i].Key) {
					continue
				}
				fields[w] = fields[i]
				w++
			}
			fields = fields[:w]
		}
	}
	for _, a := range f.add {
		j := slices.IndexFunc(fields, func(g record.Field) bool { return g.Key == a.Key })
		if j >= 0 && fields[j].Value.Equal(a.Value) {
			continue
		}
		own()
		if j >= 0 {
			fields[j].Value = a.Value
		} else {
			fields = append(fields, a)
		}
		changed = true
	}
	if f.messageFrom != "" {
		if v, ok := lookup(fields, f.messageFrom); ok {
			if s := v.String(); s != r.Message {
				r.Message = s
				changed = true
			}
		}
	}
	if f.levelFrom != "" {
		if v, ok := lookup(fields, f.levelFrom); ok {
			if sev, ok := severityOf(v); ok && sev != r.Severity {
				r.Severity = sev
				changed = true
			}
		}
	}
	for _, k := range f.remove {
		j := slices.IndexFunc(fields, func(g record.Field) bool { return g.Key == k })
		if j < 0 {
			continue
		}
		own()
		fields = slices.Delete(fields, j, j+1)
		changed = true
	}
	if !changed {
		return resKept
	}
	r.Fields = fields
	return resChanged
}

// lookup finds a dotted path in fields, as record.Record.Lookup does.
func lookup(fields []record.Field, path string) (record.Value, bool) {
	r := record.Record{Fields: fields}
	return r.Lookup(path)
}

// levelWords are level spellings beyond record's own six words.
var levelWords = map[string]record.Level{
	"warning": record.LevelWarn, "err": record.LevelError, "critical": record.LevelFatal, "crit": record.LevelFatal,
	"alert": record.LevelFatal, "emerg": record.LevelFatal, "emergency": record.LevelFatal, "panic": record.LevelFatal,
	"notice": record.LevelInfo, "informational": record.LevelInfo, "information": record.LevelInfo,
	"verbose": record.LevelDebug, "dbg": record.LevelDebug, "trc": record.LevelTrace,
	"wrn": record.LevelWarn, "inf": record.LevelInfo, "eror": record.LevelError, "ftl": record.LevelFatal,
}

// severityOf reads a level from a field: a level word in any case, or an
// OpenTelemetry severity number (1–24).
func severityOf(v record.Value) (record.Severity, bool) {
	if n, ok := v.Number(); ok {
		if n >= 1 && n <= 24 && n == float64(int(n)) {
			return record.Severity(n), true
		}
		return 0, false
	}
	w := strings.ToLower(strings.TrimSpace(v.Str()))
	if l, ok := record.LevelFromString(w); ok {
		return l.Severity(), true
	}
	if l, ok := levelWords[w]; ok {
		return l.Severity(), true
	}
	return 0, false
}
