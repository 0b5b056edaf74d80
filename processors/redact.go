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
	report string // "" adds no report
	keys   nameCache
	clean  cleanCache
	minLen int // the set's: shorter texts need no look
}

// text redacts s, unless it is a text the set found clean before.
func (x *redact) text(s string) (string, uint64) {
	if len(s) < minCachedText || len(s) > maxCachedText {
		return x.set.Redact(s, x.mask)
	}
	return x.clean.redact(x, s)
}

// cleanCache remembers texts the set left unchanged, so that a text seen
// again (a user agent, a referer, a templated message without variables)
// costs a compare rather than a scan. Values are the same in many records:
// in the performance corpus 9 user agents are 28 % of all field bytes. A
// text is copied in only when seen twice in a row at its slot, and only
// once the text there has not been found for as many such turns as it was
// found before (up to 3): unique values (trace IDs, addresses) cost no
// allocation, and two texts sharing a slot do not take turns. Exact
// equality with a text found clean is what skips the set, so a cache never
// hides a secret.
type cleanCache [1024]cleanSlot

type cleanSlot struct {
	text  string // a copy of a clean text
	seen  uint64 // the fingerprint of the last clean text that missed here
	score uint8  // hits of text, less the texts turned away since (at most 3)
}

// Shorter texts cost about as much to scan as to look up; longer ones
// would make the cache's memory (at most 1024 × 256 bytes) grow.
const (
	minCachedText = 16
	maxCachedText = 256
)

func (c *cleanCache) redact(x *redact, s string) (string, uint64) {
	h := fingerprint(s)
	e := &c[h>>54]
	if e.text == s {
		e.score = min(e.score+1, 3)
		return s, 0
	}
	out, fired := x.set.Redact(s, x.mask)
	switch {
	case fired != 0:
	case e.seen != h:
		e.seen = h
	case e.score > 0:
		e.score-- // the text in use was found lately: keep it a while
	default:
		e.text, e.seen, e.score = strings.Clone(s), 0, 1
	}
	return out, fired
}

// fingerprint hashes the length and four words of s (at least 16 long):
// its first, last and two middle 8 bytes. Constant time, and enough to
// spread texts that differ in a number anywhere over the slots (equality
// is checked in full).
func fingerprint(s string) uint64 {
	n := len(s)
	h := (le64(s) ^ uint64(n)) * 0x9e3779b97f4a7c15
	h = (h ^ le64(s[n/4:])) * 0xff51afd7ed558ccd
	h = (h ^ le64(s[n/2-4:])) * 0x9e3779b97f4a7c15
	h = (h ^ le64(s[n-8:])) * 0xff51afd7ed558ccd
	return h ^ h>>29
}

// le32 reads s's first 4 bytes as one load.
func le32(s string) uint32 {
	w := s[:4]
	return uint32(w[0]) | uint32(w[1])<<8 | uint32(w[2])<<16 | uint32(w[3])<<24
}

// le64 reads s's first 8 bytes as one load.
func le64(s string) uint64 {
	w := s[:8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// nameCache remembers whether field keys are secret names: a source's
// records repeat a few keys, and the name test costs as much as the scan
// of a short value. A chain belongs to one source's goroutine, so the
// cache needs no lock. It is two-way, so two frequent keys that share a
// slot do not evict each other, and a key of up to 16 bytes is told by
// its length and two words, without a call to compare strings.
type nameCache [512]nameEntry

type nameEntry struct {
	w0, w1 uint64 // see keyWords
	n      int    // the key's length; 0: empty entry
	key    string // a copy, kept for keys longer than 16 bytes
	secret bool
	used   bool // found since the last miss of its pair of slots
}

// maxCachedName bounds the keys kept (and so the cache's memory).
const maxCachedName = 64

// keyWords are two words that, with the length, are k when k is at most 16
// bytes long (they overlap for shorter keys).
func keyWords(k string) (w0, w1 uint64) {
	switch n := len(k); {
	case n >= 8:
		return le64(k), le64(k[n-8:])
	case n >= 4:
		return uint64(le32(k)), uint64(le32(k[n-4:]))
	default:
		for i := range n {
			w0 |= uint64(k[i]) << (8 * i)
		}
		return w0, 0
	}
}

// isSecret reports whether key is a secret name.
func (c *nameCache) isSecret(key string) bool {
	w0, w1 := keyWords(key)
	i := ((w0 ^ w1*0x9e3779b97f4a7c15 ^ uint64(len(key))) * 0xff51afd7ed558ccd) >> 55 &^ 1
	for _, e := range [2]*nameEntry{&c[i], &c[i+1]} {
		if e.n == len(key) && e.w0 == w0 && e.w1 == w1 && (len(key) <= 16 || e.key == key) {
			e.used = true
			return e.secret
		}
	}
	secret := secrets.IsSecretName(key)
	if len(key) <= maxCachedName {
		e := &c[i]
		if e.used {
			e = &c[i+1]
		}
		c[i].used, c[i+1].used = false, false
		*e = nameEntry{w0: w0, w1: w1, n: len(key), secret: secret}
		if len(key) > 16 {
			e.key = strings.Clone(key)
		}
	}
	return secret
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
	x.minLen = set.MinLen()
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
	msg, fired := x.text(r.Message)
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

// redactFields masks the values of fields, nested ones included. It never
// writes to fields: a changed list is a copy.
func (x *redact) redactFields(fields []record.Field) (out []record.Field, fired uint64, byName, changed bool) {
	for i := range fields {
		f := &fields[i]
		var (
			v      record.Value
			nf     uint64
			nb, ch bool
		)
		if f.Value.Kind() == record.KindString && (f.Key == "" || !x.keys.isSecret(f.Key)) {
			// Most fields: a string under a plain name, often too short
			// for any rule.
			s := f.Value.Str()
			if len(s) < x.minLen {
				continue
			}
			var r string
			if r, nf = x.text(s); nf != 0 {
				v, ch = record.StringValue(r), true
			}
		} else {
			v, nf, nb, ch = x.redactValue(f.Key, f.Value)
		}
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
	if key != "" && x.keys.isSecret(key) {
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
		s, fired := x.text(v.Str())
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
		fields = slices.Clone(fields)
	}
	if at >= 0 {
		fields[at] = rep
		return fields
	}
	return append(fields, rep)
}
