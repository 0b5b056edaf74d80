package processors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"hash"
	"slices"
	"strings"

	"github.com/obsadapter/obsadapter/record"
	"github.com/obsadapter/obsadapter/secrets"
)

// secretFieldRule is the name reported when a field's value is masked
// because its key names a secret ({"password": "x"}).
const secretFieldRule = "secret-field"

// defaultReportField lists the rules that fired in a changed record.
const defaultReportField = "redacted"

type redact struct {
	set    *secrets.Set
	names  []string // by rule index in set
	mask   secrets.Mask
	fields bool
	report string  // "" adds no report
	keys   keyMemo // field keys that name a secret
	// line: the set's rules are ones secrets.LineClean answers for, so
	// what of a record lies in its clean line is clean.
	line bool
}

func newRedact(c *RedactConfig, env Env, p problems) processor {
	x := &redact{fields: c.Fields == nil || *c.Fields, report: c.ReportField}
	switch x.report {
	case "":
		x.report = defaultReportField
	case "-":
		x.report = ""
	}
	var rules []secrets.Rule
	names := c.Rules
	if len(names) == 0 {
		names = []string{"default"}
	}
	add := func(r secrets.Rule) {
		if !slices.ContainsFunc(rules, func(q secrets.Rule) bool { return q.Name == r.Name }) {
			rules = append(rules, r)
		}
	}
	for i, n := range names {
		if n == "default" {
			for _, r := range secrets.Rules {
				if !r.Optional {
					add(r)
				}
			}
			continue
		}
		r, ok := secrets.Lookup(n)
		if !ok {
			p.at("rules").at(index(i)).add("", "%q is not a rule (%s)", n, ruleNames())
			continue
		}
		add(r)
	}
	for i, pc := range c.Patterns {
		pp := p.at("patterns").at(index(i))
		switch _, builtin := secrets.Lookup(pc.Name); {
		case pc.Name == "":
			pp.add("name", "a pattern needs a name (it is reported in the record)")
		case builtin || pc.Name == "default" || pc.Name == secretFieldRule:
			pp.add("name", "%q is the name of a built-in rule", pc.Name)
		case slices.ContainsFunc(c.Patterns[:i], func(q PatternConfig) bool { return q.Name == pc.Name }):
			pp.add("name", "%q names another pattern too", pc.Name)
		}
		if pc.Regex == "" {
			pp.add("regex", "a pattern needs a regex")
			continue
		}
		if re := compileRegex(pc.Regex, pp.at("regex")); re != nil {
			if re.MatchString("") {
				pp.add("regex", "the pattern matches the empty string")
				continue
			}
			rules = append(rules, secrets.PatternRule(pc.Name, re))
		}
	}
	set, err := secrets.NewSet(rules)
	if err != nil {
		p.at("patterns").add("", "too many rules: at most %d built-in rules and patterns together", secrets.MaxSetRules)
		return x
	}
	x.set = set
	x.line = set.LineCleanCovers()
	for _, r := range set.Rules() {
		x.names = append(x.names, r.Name)
	}
	x.mask = buildMask(c, env, p)
	return x
}

func ruleNames() string {
	names := []string{"default"}
	for _, r := range secrets.Rules {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// minHashKey is the shortest hash key accepted: a short key lets anyone
// who guesses it confirm guessed secrets.
const minHashKey = 16

// buildMask returns what replaces a secret: the configured string, or a
// keyed hash so equal secrets stay correlatable without being readable.
func buildMask(c *RedactConfig, env Env, p problems) secrets.Mask {
	var key []byte
	switch {
	case c.HashKeyFile != "" && c.HashKeyEnv != "":
		p.add("hash_key_file", "set hash_key_file or hash_key_env, not both")
		return nil
	case c.HashKeyFile != "":
		if env.ReadFile == nil {
			p.add("hash_key_file", "reading key files is not available here")
			return nil
		}
		b, err := env.ReadFile(c.HashKeyFile)
		if err != nil {
			p.add("hash_key_file", "%v", err)
			return nil
		}
		key = []byte(strings.TrimRight(string(b), "\r\n"))
	case c.HashKeyEnv != "":
		v, ok := "", false
		if env.Getenv != nil {
			v, ok = env.Getenv(c.HashKeyEnv)
		}
		if !ok {
			p.add("hash_key_env", "the environment variable %s is not set", c.HashKeyEnv)
			return nil
		}
		key = []byte(v)
	default:
		if c.Mask == "" {
			return nil
		}
		m := c.Mask
		return func(string) string { return m }
	}
	if c.Mask != "" {
		p.add("mask", "a hash key masks with a hash: set mask or a hash key, not both")
	}
	if len(key) < minHashKey {
		p.add(map[bool]string{true: "hash_key_file", false: "hash_key_env"}[c.HashKeyFile != ""],
			"the hash key is %d bytes long, at least %d", len(key), minHashKey)
		return nil
	}
	h := hmac.New(sha256.New, key)
	return func(secret string) string {
		if isHashMask(secret) {
			return secret // masked already: by an earlier redact, or the same one's other rule
		}
		return hashMask(h, secret)
	}
}

const (
	hashPrefix  = "hmac:"
	hashMaskLen = len(hashPrefix) + 16
)

func isHashMask(s string) bool {
	if len(s) != hashMaskLen || !strings.HasPrefix(s, hashPrefix) {
		return false
	}
	for i := len(hashPrefix); i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// hashEncoding spells a hash in lower-case letters and digits 2-7, so a
// masked secret does not look like a number (or a card) to a later rule.
var hashEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// hashMask is "hmac:" and 80 bits of HMAC-SHA256(key, secret): enough that
// distinct secrets do not collide in practice, short enough to read.
func hashMask(h hash.Hash, secret string) string {
	h.Reset()
	h.Write([]byte(secret))
	var sum [sha256.Size]byte
	return hashPrefix + hashEncoding.EncodeToString(h.Sum(sum[:0])[:10])
}

func (x *redact) apply(r *record.Record, _ *uint64) result {
	var line, names string
	if x.line {
		var clean, only bool
		line, clean, only = r.CheckedLine(secrets.LineClean) // a record's first redact checks its line
		// A record of nothing but its clean line's parts and its parser's
		// constants, no field value starting with a '-' (only), needs no
		// look but at a message that starts with one, which InCleanLine
		// leaves out, and, when a part of its line may name a secret, at
		// its keys.
		if only && !dashFirst(r.Message) && (!x.fields || clean || x.cleanParts(r.Fields, line)) {
			return resKept
		}
		if clean {
			names = line
		}
	}
	// With a clean line, one walk that skips its parts and builds nothing
	// settles most records. Without one (no line, or one the check did
	// not pass: a secret, most likely), that walk would scan each text
	// that Redact below scans again, and Redact copies nothing where
	// nothing changes either.
	if line != "" && (secrets.InCleanLine(line, r.Message) || x.set.Clean(r.Message)) && (!x.fields || x.cleanFields(r.Fields, line, names)) {
		return resKept
	}
	msg, fired := x.set.Redact(r.Message, x.mask)
	var (
		fields          []record.Field
		byName, changed bool
	)
	if x.fields && len(r.Fields) > 0 {
		var f uint64
		fields, f, byName, changed = x.redactFields(r.Fields)
		fired |= f
	}
	if msg == r.Message && !changed {
		return resKept
	}
	r.Message = msg
	if changed {
		r.Fields = fields
	}
	if x.report != "" {
		r.Fields = x.addReport(r.Fields, fired, byName, changed)
	}
	return resChanged
}

// cleanFields reports whether redactFields would leave fields as they are:
// no value a rule could change, and no key naming a secret whose value it
// would mask. It may say no to fields redactFields then leaves (a secret
// key whose value is masked already), never yes to fields it changes.
//
// A text that is a part of the record's clean line (secrets.InCleanLine)
// is clean, and a key that is a part of names names no secret; each is ""
// when there is none, or redact's rules are not the ones it was checked
// for.
func (x *redact) cleanFields(fields []record.Field, line, names string) bool {
	for i := range fields {
		f := &fields[i]
		// Most values are parts of the line: a look at where they lie.
		if v, ok := f.Value.StrIn(line); ok && v[0] != '-' {
			if x.secretKey(f.Key, names) {
				return false
			}
			continue
		}
		switch s, k := f.Value.StrKind(); k {
		case record.KindString:
			if s != "" && (!x.set.Clean(s) || x.secretKey(f.Key, names)) {
				return false
			}
		case record.KindNull, record.KindBool:
		case record.KindObject:
			if !x.cleanFields(f.Value.Object(), line, names) {
				return false
			}
		case record.KindArray:
			if x.secretKey(f.Key, names) || !x.cleanItems(f.Value.Array(), line, names) {
				return false
			}
		default: // a number under a secret's name is masked
			if x.secretKey(f.Key, names) {
				return false
			}
		}
	}
	return true
}

// secretKey: key names a secret. A part of a line without name hints
// (names) does not.
func (x *redact) secretKey(key, names string) bool {
	return !secrets.InLine(names, key) && x.keys.secret(key)
}

// cleanItems is cleanFields for an array's items, which have no names.
func (x *redact) cleanItems(items []record.Value, line, names string) bool {
	for i := range items {
		switch v := &items[i]; v.Kind() {
		case record.KindString:
			if s := v.Str(); !secrets.InCleanLine(line, s) && !x.set.Clean(s) {
				return false
			}
		case record.KindObject:
			if !x.cleanFields(v.Object(), line, names) {
				return false
			}
		case record.KindArray:
			if !x.cleanItems(v.Array(), line, names) {
				return false
			}
		}
	}
	return true
}

// cleanParts is cleanFields for a record of nothing but its clean line's
// parts and its parser's constants, when a part of the line may name a
// secret: a value needs a look only when it starts with a '-', and a key
// only when it lies in the line (the parsers' own name none). It says no
// to arrays, which cleanFields then looks at.
func (x *redact) cleanParts(fields []record.Field, line string) bool {
	for i := range fields {
		f := &fields[i]
		switch s, k := f.Value.StrKind(); k {
		case record.KindString:
			if s == "" {
				continue
			}
			if s[0] == '-' {
				return false
			}
		case record.KindNull, record.KindBool:
			continue
		case record.KindObject:
			if !x.cleanParts(f.Value.Object(), line) {
				return false
			}
			continue
		case record.KindArray:
			return false
		}
		if secrets.InLine(line, f.Key) && x.keys.secret(f.Key) {
			return false
		}
	}
	return true
}

func dashFirst(s string) bool { return s != "" && s[0] == '-' }

// redactFields masks the values of fields, nested ones included. It never
// writes to fields: a changed list is a copy.
func (x *redact) redactFields(fields []record.Field) (out []record.Field, fired uint64, byName, changed bool) {
	for i := range fields {
		f := &fields[i]
		v, nf, nb, ch := x.redactValue(f.Key, f.Value)
		fired |= nf
		byName = byName || nb
		if !ch {
			continue
		}
		if !changed {
			out = make([]record.Field, len(fields), len(fields)+1)
			copy(out, fields)
			changed = true
		}
		out[i].Value = v
	}
	if !changed {
		out = fields
	}
	return out, fired, byName, changed
}

func (x *redact) redactValue(key string, v record.Value) (record.Value, uint64, bool, bool) {
	if key != "" && x.keys.secret(key) {
		switch v.Kind() {
		case record.KindNull, record.KindBool, record.KindObject:
			// Nothing to hide in null or a switch; an object's own keys
			// and values are looked at below.
		case record.KindString:
			s := v.Str()
			if s == "" {
				return v, 0, false, false
			}
			m := x.maskOf(s)
			if m == s {
				return v, 0, false, false
			}
			return record.StringValue(m), 0, true, true
		default:
			return record.StringValue(x.maskOf(v.String())), 0, true, true
		}
	}
	switch v.Kind() {
	case record.KindString:
		s, fired := x.set.Redact(v.Str(), x.mask)
		if fired == 0 {
			return v, 0, false, false
		}
		return record.StringValue(s), fired, false, true
	case record.KindObject:
		out, fired, byName, ch := x.redactFields(v.Object())
		if !ch {
			return v, fired, byName, false
		}
		return record.ObjectValue(out), fired, byName, true
	case record.KindArray:
		items := v.Array()
		var out []record.Value
		var fired uint64
		var byName bool
		for i, it := range items {
			nv, f, nb, ch := x.redactValue("", it)
			fired |= f
			byName = byName || nb
			if !ch {
				continue
			}
			if out == nil {
				out = slices.Clone(items)
			}
			out[i] = nv
		}
		if out == nil {
			return v, fired, byName, false
		}
		return record.ArrayValue(out), fired, byName, true
	}
	return v, 0, false, false
}

func (x *redact) maskOf(s string) string {
	if s == secrets.Masked {
		return s
	}
	if x.mask == nil {
		return secrets.Masked
	}
	return x.mask(s)
}

// addReport sets the report field to the names of the rules that fired,
// merged with a report an earlier redact left. fields is the record's own
// copy when owned is set, so it may be appended to.
func (x *redact) addReport(fields []record.Field, fired uint64, byName, owned bool) []record.Field {
	var names []record.Value
	at := -1
	for i := range fields {
		if fields[i].Key == x.report {
			at = i
			if fields[i].Value.Kind() == record.KindArray {
				names = slices.Clone(fields[i].Value.Array())
			}
			break
		}
	}
	has := func(n string) bool {
		return slices.ContainsFunc(names, func(v record.Value) bool { return v.Str() == n })
	}
	for i, n := range x.names {
		if fired&(1<<i) != 0 && !has(n) {
			names = append(names, record.StringValue(n))
		}
	}
	if byName && !has(secretFieldRule) {
		names = append(names, record.StringValue(secretFieldRule))
	}
	rep := record.Field{Key: x.report, Value: record.ArrayValue(names)}
	if !owned {
		// With room for the report: a clone and then an append would
		// allocate twice.
		fields = append(make([]record.Field, 0, len(fields)+1), fields...)
	}
	if at >= 0 {
		fields[at] = rep
		return fields
	}
	return append(fields, rep)
}
