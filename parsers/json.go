package parsers

import (
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/obsadapter/obsadapter/record"
)

// JSON lines from any logger: the level, message and time are found under
// the key names loggers use (zap, zerolog, logrus, slog, bunyan, pino,
// log4j2, Serilog, ECS, structlog …); every other key stays a field with its
// nesting and types.

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 64

// jsonRole says what a top-level key means; lower ranks win when a line has
// several keys of the same role.
type jsonRole uint8

const (
	roleNone jsonRole = iota
	roleLevel
	roleMessage
	roleTime
)

// jsonRoleOf is the role of a lower-case key and its rank.
func jsonRoleOf(k string) (jsonRole, int) {
	switch k {
	case "level", "log.level":
		return roleLevel, 0
	case "lvl", "severity", "loglevel", "log_level", "levelname", "@l", "severity_text", "severitytext", "@level":
		return roleLevel, 1
	case "msg", "message", "@m", "@message":
		return roleMessage, 0
	case "@mt", "event", "log", "text":
		return roleMessage, 1
	case "time", "ts", "timestamp", "@timestamp", "@t":
		return roleTime, 0
	case "datetime", "t", "date", "timemillis", "time_local", "eventtime", "instant", "timestamp_ms", "time_iso8601":
		return roleTime, 1
	}
	return roleNone, 0
}

// maxRoleKey is the length of the longest role key.
const maxRoleKey = len("severity_text")

// jsonKeyRole is the role of a key in any case; loggers write most in lower
// case, so the key is tried as it is before it is lower-cased.
func jsonKeyRole(k string) (jsonRole, int) {
	if len(k) > maxRoleKey {
		return roleNone, 0
	}
	if role, rank := jsonRoleOf(k); role != roleNone {
		return role, rank
	}
	var b [maxRoleKey]byte
	upper := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
			upper = true
		}
		b[i] = c
	}
	if !upper {
		return roleNone, 0
	}
	return jsonRoleOf(string(b[:len(k)]))
}

func parseJSON(p *parser, line string, r *record.Record) bool {
	mark := len(p.fields)
	j := jsonScanner{p: p, s: line}
	j.ws()
	// The top-level fields stay on the scratch stack until the role keys
	// are known, then the rest is copied out once.
	if _, ok := j.objectOn(0, true); !ok {
		p.popFields(mark)
		return false
	}
	j.ws()
	if j.i != len(j.s) {
		p.popFields(mark)
		return false
	}
	obj := p.fields[mark:]
	var idx [4]int
	var rank [4]int
	for i := range idx {
		idx[i], rank[i] = -1, 99
	}
	for i := range obj {
		role, rk := jsonKeyRole(obj[i].Key)
		if role != roleNone && rk < rank[role] {
			idx[role], rank[role] = i, rk
			if rank[roleLevel] == 0 && rank[roleMessage] == 0 && rank[roleTime] == 0 {
				// Nothing can beat a first-rank key of every role, and
				// loggers usually write them first: skip the other keys.
				break
			}
		}
	}
	used := 0
	if i := idx[roleLevel]; i >= 0 {
		if sev, ok := jsonLevel(obj[i].Value); ok {
			r.Severity = sev
			used++
		} else {
			idx[roleLevel] = -1
		}
	}
	if i := idx[roleMessage]; i >= 0 {
		if obj[i].Value.Kind() == record.KindString {
			r.Message = obj[i].Value.Str()
			used++
		} else {
			idx[roleMessage] = -1
		}
	}
	if i := idx[roleTime]; i >= 0 {
		if t, ok := jsonTime(p, obj[i].Value); ok {
			r.Time = t
			used++
		} else {
			idx[roleTime] = -1
		}
	}
	if used < len(obj) {
		// Copy the runs between the role keys (usually one run after
		// them) rather than field by field.
		fields := p.newFields(len(obj) - used)[:0]
		from := 0
		for i := range obj {
			if i == idx[roleLevel] || i == idx[roleMessage] || i == idx[roleTime] {
				fields = append(fields, obj[from:i]...)
				from = i + 1
			}
		}
		r.Fields = append(fields, obj[from:]...)
	}
	p.popFields(mark)
	return true
}

func jsonLevel(v record.Value) (record.Severity, bool) {
	switch v.Kind() {
	case record.KindString:
		return levelString(v.Str())
	case record.KindInt:
		return numericLevel(v.Int64())
	}
	return 0, false
}

func jsonTime(p *parser, v record.Value) (time.Time, bool) {
	switch v.Kind() {
	case record.KindString:
		return p.anyTime(v.Str())
	case record.KindInt:
		return epochInt(v.Int64())
	case record.KindFloat:
		return epochTime(v.Float64())
	case record.KindObject:
		// log4j2's JsonLayout: "instant":{"epochSecond":…,"nanoOfSecond":…}
		var sec, nsec int64
		found := false
		for _, f := range v.Object() {
			switch f.Key {
			case "epochSecond":
				sec, found = f.Value.Int64(), f.Value.Kind() == record.KindInt
			case "nanoOfSecond", "nanos":
				nsec = f.Value.Int64()
			case "seconds":
				// Google Cloud's {"seconds":…,"nanos":…}
				sec, found = f.Value.Int64(), f.Value.Kind() == record.KindInt
			}
		}
		if found && sec > 0 {
			return time.Unix(sec, nsec).UTC(), true
		}
	}
	return time.Time{}, false
}

// jsonScanner parses JSON text into record values, keeping key order and
// number types. Strings without escapes are substrings of the line; nested
// objects and arrays are built on the parser's scratch stack and copied out
// once at their exact size.
type jsonScanner struct {
	p *parser
	s string
	i int
}

func (j *jsonScanner) ws() {
	// Most calls find no space at all: one comparison says so.
	for j.i < len(j.s) && j.s[j.i] <= ' ' && (j.s[j.i] == ' ' || j.s[j.i] == '\t' || j.s[j.i] == '\r' || j.s[j.i] == '\n') {
		j.i++
	}
}

// object parses an object at j.i, building its fields on the scratch stack
// and copying them out at their exact size.
func (j *jsonScanner) object(depth int) ([]record.Field, bool) { return j.objectOn(depth, false) }

// objectOn is object; with onStack the fields are left on the scratch stack
// for the caller (and nil returned).
func (j *jsonScanner) objectOn(depth int, onStack bool) ([]record.Field, bool) {
	if depth > maxJSONDepth || j.i >= len(j.s) || j.s[j.i] != '{' {
		return nil, false
	}
	j.i++
	mark := len(j.p.fields)
	j.ws()
	if j.i < len(j.s) && j.s[j.i] == '}' {
		j.i++
		return []record.Field{}, true
	}
	// Duplicate keys: the last value wins, in the key's first position
	// (as jq, JavaScript and Python read them). seen has a bit per key
	// hash; only a key whose bit is already set is looked for among the
	// keys before it, so objects without duplicates pay a few operations a
	// key. Large objects look keys up in an index instead.
	var seen uint64
	var index map[string]int
	// Compact JSON has no spaces between tokens: ws is called only where
	// the next byte is not the expected one.
	for {
		if j.i < len(j.s) && j.s[j.i] != '"' {
			j.ws()
		}
		key, ok := j.str()
		if ok && j.i < len(j.s) && j.s[j.i] == ':' {
			j.i++
		} else if !ok || !j.expect(':') {
			j.p.popFields(mark)
			return nil, false
		}
		if j.i < len(j.s) && j.s[j.i] <= ' ' {
			j.ws()
		}
		v, ok := j.value(depth)
		if !ok {
			j.p.popFields(mark)
			return nil, false
		}
		bit := keyBit(key)
		if seen&bit == 0 && index == nil && len(j.p.fields)-mark < indexAbove {
			seen |= bit
			j.p.fields = append(j.p.fields, record.Field{Key: key, Value: v})
		} else if k := j.p.dupKey(mark, key, bit&seen != 0, &index); k >= 0 {
			j.p.fields[k].Value = v
		} else {
			seen |= bit
			j.p.fields = append(j.p.fields, record.Field{Key: key, Value: v})
		}
		if j.i < len(j.s) && j.s[j.i] <= ' ' {
			j.ws()
		}
		if j.i >= len(j.s) {
			j.p.popFields(mark)
			return nil, false
		}
		if j.s[j.i] == ',' {
			j.i++
			continue
		}
		if j.s[j.i] != '}' {
			j.p.popFields(mark)
			return nil, false
		}
		j.i++
		if onStack {
			return nil, true
		}
		return j.p.takeFields(mark), true
	}
}

// indexAbove is the number of keys above which an object's keys are
// looked up in a map: 64 keys fill the bits of seen, and a linear scan per
// key would make a hostile line of 100,000 keys quadratic.
const indexAbove = 64

// dupKey is the scratch-stack index of the earlier field of the object
// starting at mark whose key is key, or -1 when key is new; suspect says
// the key's bit was set. From indexAbove keys on, keys are looked up in
// *index, which a new key joins as the field about to be appended.
func (p *parser) dupKey(mark int, key string, suspect bool, index *map[string]int) int {
	if *index == nil && len(p.fields)-mark >= indexAbove {
		m := make(map[string]int, 2*indexAbove)
		for k := mark; k < len(p.fields); k++ {
			m[p.fields[k].Key] = k
		}
		*index = m
	}
	if *index != nil {
		if k, ok := (*index)[key]; ok {
			return k
		}
		(*index)[key] = len(p.fields)
		return -1
	}
	if suspect {
		for k := mark; k < len(p.fields); k++ {
			if p.fields[k].Key == key {
				return k
			}
		}
	}
	return -1
}

// keyBit is a bit chosen by a key's length and its first and last bytes,
// which tell apart most keys of one object.
func keyBit(k string) uint64 {
	if k == "" {
		return 1
	}
	x := uint32(len(k)) | uint32(k[0])<<8 | uint32(k[len(k)-1])<<16
	return 1 << (x * 0x9E3779B1 >> 26)
}

// expect consumes c, after spaces.
func (j *jsonScanner) expect(c byte) bool {
	if j.i < len(j.s) && j.s[j.i] == c {
		j.i++
		return true
	}
	j.ws()
	if j.i < len(j.s) && j.s[j.i] == c {
		j.i++
		return true
	}
	return false
}

func (j *jsonScanner) value(depth int) (record.Value, bool) {
	if j.i >= len(j.s) {
		return record.Value{}, false
	}
	switch c := j.s[j.i]; {
	case c == '"':
		s, ok := j.str()
		j.p.noteDash(s)
		return record.StringValue(s), ok
	case c == '{':
		fields, ok := j.object(depth + 1)
		return record.ObjectValue(fields), ok
	case c == '[':
		return j.array(depth + 1)
	case c == '-' || isDigit(c):
		return j.number()
	case c == 't':
		return record.BoolValue(true), j.lit("true")
	case c == 'f':
		return record.BoolValue(false), j.lit("false")
	case c == 'n':
		return record.NullValue(), j.lit("null")
	}
	return record.Value{}, false
}

func (j *jsonScanner) lit(w string) bool {
	if len(j.s)-j.i >= len(w) && j.s[j.i:j.i+len(w)] == w {
		j.i += len(w)
		return true
	}
	return false
}

func (j *jsonScanner) array(depth int) (record.Value, bool) {
	if depth > maxJSONDepth {
		return record.Value{}, false
	}
	j.i++
	j.ws()
	if j.i < len(j.s) && j.s[j.i] == ']' {
		j.i++
		return record.ArrayValue([]record.Value{}), true
	}
	// Items go on the scratch stack and are copied out once at their exact
	// size, rather than grown one append at a time.
	mark := len(j.p.vals)
	for {
		j.ws()
		v, ok := j.value(depth)
		if !ok {
			j.p.dropVals(mark)
			return record.Value{}, false
		}
		j.p.vals = append(j.p.vals, v)
		j.ws()
		if j.i >= len(j.s) {
			j.p.dropVals(mark)
			return record.Value{}, false
		}
		if j.s[j.i] == ',' {
			j.i++
			continue
		}
		if j.s[j.i] != ']' {
			j.p.dropVals(mark)
			return record.Value{}, false
		}
		j.i++
		items := j.p.newValues(len(j.p.vals) - mark)
		copy(items, j.p.vals[mark:])
		j.p.dropVals(mark)
		return record.ArrayValue(items), true
	}
}

func (j *jsonScanner) number() (record.Value, bool) {
	start := j.i
	if j.s[j.i] == '-' {
		j.i++
	}
	d := digits(j.s[j.i:])
	if d == 0 || (d > 1 && j.s[j.i] == '0') {
		return record.Value{}, false
	}
	j.i += d
	isInt := true
	if j.i < len(j.s) && j.s[j.i] == '.' {
		j.i++
		d = digits(j.s[j.i:])
		if d == 0 {
			return record.Value{}, false
		}
		j.i += d
		isInt = false
	}
	if j.i < len(j.s) && (j.s[j.i] == 'e' || j.s[j.i] == 'E') {
		j.i++
		if j.i < len(j.s) && (j.s[j.i] == '+' || j.s[j.i] == '-') {
			j.i++
		}
		d = digits(j.s[j.i:])
		if d == 0 {
			return record.Value{}, false
		}
		j.i += d
		isInt = false
	}
	text := j.s[start:j.i]
	if isInt && len(text) <= 18 {
		n, _ := atoi(text[len(text)-len(trimMinus(text)):])
		if text[0] == '-' {
			n = -n
		}
		return record.IntValue(int64(n)), true
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && f == 0 {
		return record.Value{}, false
	}
	return record.FloatValue(f), true
}

func trimMinus(s string) string {
	if len(s) > 0 && s[0] == '-' {
		return s[1:]
	}
	return s
}

// str parses a JSON string at j.i. Escaped strings are decoded into the
// parser's keep area. Control characters inside strings are tolerated: log
// lines are not always strict JSON and losing them would lose the line.
func (j *jsonScanner) str() (string, bool) {
	if j.i >= len(j.s) || j.s[j.i] != '"' {
		return "", false
	}
	start := j.i + 1
	i := quoteOrBackslash(j.s, start)
	if i < len(j.s) && j.s[i] == '"' {
		j.i = i + 1
		return j.s[start:i], true
	}
	return j.escapedStr(start)
}

// escapedStr finishes str for a string with escapes, whose content starts
// at start. One that a ':' follows is a key (keepKey).
func (j *jsonScanner) escapedStr(start int) (string, bool) {
	// Escapes: find the quote that is not escaped.
	for i := start; i < len(j.s); i++ {
		switch j.s[i] {
		case '\\':
			i++
		case '"':
			j.i = i + 1
			var tmp [128]byte
			dec, ok := unescapeJSON(tmp[:0], j.s[start:i])
			if !ok {
				return "", false
			}
			k := j.i
			for k < len(j.s) && j.s[k] <= ' ' {
				k++
			}
			if k < len(j.s) && j.s[k] == ':' {
				return j.p.keepKey(dec), true
			}
			return j.p.keep(dec), true
		}
	}
	return "", false
}

// unescapeJSON appends the decoded form of the inside of a JSON string.
// Unpaired surrogates become U+FFFD.
func unescapeJSON(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, i+3); ok && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			c = c | 0x20 - 'a' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
