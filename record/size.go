package record

import (
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// JSONSize is len(r.AppendJSON(nil)), counted without encoding.
func (r *Record) JSONSize() int {
	n := len(`{"observed_time":"","message":}`) + timeSize(r.ObservedTime) + JSONStringSize(r.Message)
	if !r.Time.IsZero() {
		n += len(`"time":"",`) + timeSize(r.Time)
	}
	if r.Severity != 0 {
		n += len(`,"level":"","severity":`) + len(r.Severity.Level().String()) + uintSize(uint64(r.Severity))
	}
	n += optStringSize(`,"format":`, r.Format) + optStringSize(`,"source":`, r.Source) +
		optStringSize(`,"path":`, r.Path) + optStringSize(`,"stream":`, r.Stream)
	if k := r.Kubernetes; k != nil && *k != (Kubernetes{}) {
		n += len(`,"kubernetes":{}`)
		first := true
		for _, kv := range [...][2]string{{"namespace", k.Namespace}, {"pod", k.Pod}, {"container", k.Container}, {"node", k.Node}} {
			if kv[1] == "" {
				continue
			}
			if !first {
				n++
			}
			first = false
			n += JSONStringSize(kv[0]) + 1 + JSONStringSize(kv[1])
		}
	}
	if r.Truncated {
		n += len(`,"truncated":true`)
	}
	if len(r.Fields) > 0 {
		n += len(`,"fields":`) + fieldsSize(r.Fields)
	}
	return n
}

func optStringSize(key, s string) int {
	if s == "" {
		return 0
	}
	return len(key) + JSONStringSize(s)
}

func timeSize(t time.Time) int {
	var buf [64]byte
	return len(appendTime(buf[:0], t))
}

func uintSize(u uint64) int {
	n := 1
	for ; u >= 10; u /= 10 {
		n++
	}
	return n
}

func fieldsSize(fields []Field) int {
	n := 2 // {}
	for i := range fields {
		if i > 0 {
			n++
		}
		n += JSONStringSize(fields[i].Key) + 1 + fields[i].Value.JSONSize()
	}
	return n
}

// JSONSize is len(v.AppendJSON(nil)), counted without encoding strings.
func (v Value) JSONSize() int {
	switch v.Kind() {
	case KindString:
		return JSONStringSize(v.Str())
	case KindInt:
		i := v.Int64()
		if i < 0 {
			if i == math.MinInt64 {
				return len("-9223372036854775808")
			}
			return 1 + uintSize(uint64(-i))
		}
		return uintSize(uint64(i))
	case KindFloat:
		var buf [40]byte
		return len(v.AppendJSON(buf[:0]))
	case KindBool:
		if v.Bool() {
			return len("true")
		}
		return len("false")
	case KindObject:
		return fieldsSize(v.Object())
	case KindArray:
		items := v.Array()
		n := 2 // []
		for i, item := range items {
			if i > 0 {
				n++
			}
			n += item.JSONSize()
		}
		return n
	}
	return len("null")
}

// JSONStringSize is len(AppendJSONString(nil, s)), quotes included.
func JSONStringSize(s string) int { return 2 + escapedSize(s) }

// escapedSize is the size of s's escaped form, without quotes.
func escapedSize(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c, size := escapedChar(s, i)
		n += c
		i += size
	}
	return n
}

// escapedChar is the escaped size of the character at s[i] and its size in
// s, as AppendJSONString writes it.
func escapedChar(s string, i int) (escaped, size int) {
	b := s[i]
	if b < utf8.RuneSelf {
		switch {
		case b >= 0x20 && b != '"' && b != '\\':
			return 1, 1
		case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t':
			return 2, 1
		}
		return 6, 1 // \u00XX
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 {
		return len("\ufffd"), 1
	}
	return size, size
}

// CutJSONString is the longest prefix of s, cut at a character boundary,
// whose escaped form (quotes not counted) is at most max bytes.
func CutJSONString(s string, max int) string {
	n := 0
	for i := 0; i < len(s); {
		c, size := escapedChar(s, i)
		if n+c > max {
			return s[:i]
		}
		n += c
		i += size
	}
	return s
}

// FitJSON cuts the record so that its JSON form (AppendJSON) is at most
// limit bytes, and reports whether it had to; a cut record is marked
// Truncated. Strings are cut at character boundaries, the longest first:
// every string, the message and the field values at any depth, keeps up to
// a common escaped size chosen as large as the limit allows, so short
// fields stay whole while a huge message or value is cut. Keys, numbers and
// the record's own keys are never cut; should they alone exceed the limit,
// top-level fields are dropped from the last. Slices of fields and items
// that change are copied, never written in place. A record whose own keys
// (times, format, source, path, Kubernetes) exceed the limit keeps an empty
// message and no fields.
func (r *Record) FitJSON(limit int) bool {
	size := r.JSONSize()
	if size <= limit {
		return false
	}
	if !r.Truncated {
		r.Truncated = true
		size += len(`,"truncated":true`)
	}
	// strings is the escaped size of every string that may be cut; what
	// is left of size is the part that is never cut.
	strs := []int{escapedSize(r.Message)}
	strs = collectStrings(strs, r.Fields)
	total := 0
	for _, n := range strs {
		total += n
	}
	fixed := size - total
	if fixed > limit {
		// Drop top-level fields, last first, until keys and numbers fit.
		fields := r.Fields
		for len(fields) > 0 && fixed > limit {
			f := fields[len(fields)-1]
			fields = fields[:len(fields)-1]
			fs := JSONStringSize(f.Key) + 1 + f.Value.JSONSize()
			if len(fields) > 0 {
				fs++ // the comma
			} else {
				fs += len(`,"fields":{}`)
			}
			fixed -= fs - stringsSize(f.Value)
		}
		if len(fields) == 0 {
			fields = nil
		}
		r.Fields = fields[:len(fields):len(fields)]
		if fixed > limit {
			r.Message = ""
			r.Fields = nil
			return true
		}
		strs = append(strs[:0], escapedSize(r.Message))
		strs = collectStrings(strs, r.Fields)
	}
	c := waterLevel(strs, limit-fixed)
	r.Message = CutJSONString(r.Message, c)
	if fs, changed := cutFields(r.Fields, c); changed {
		r.Fields = fs
	}
	return true
}

// collectStrings appends the escaped size of every string value in fields,
// at any depth.
func collectStrings(dst []int, fields []Field) []int {
	for i := range fields {
		dst = collectValueStrings(dst, fields[i].Value)
	}
	return dst
}

func collectValueStrings(dst []int, v Value) []int {
	switch v.Kind() {
	case KindString:
		dst = append(dst, escapedSize(v.Str()))
	case KindObject:
		dst = collectStrings(dst, v.Object())
	case KindArray:
		for _, item := range v.Array() {
			dst = collectValueStrings(dst, item)
		}
	}
	return dst
}

// stringsSize is the escaped size of the string values in v, quotes not
// counted.
func stringsSize(v Value) int {
	n := 0
	for _, s := range collectValueStrings(nil, v) {
		n += s
	}
	return n
}

// waterLevel is the largest c such that the sizes, each capped at c, add
// up to at most budget.
func waterLevel(sizes []int, budget int) int {
	sorted := slices.Clone(sizes)
	slices.Sort(sorted)
	for i, s := range sorted {
		left := len(sorted) - i
		if s*left > budget {
			return budget / left
		}
		budget -= s
	}
	return math.MaxInt
}

// cutFields cuts every string value in fields to an escaped size of c,
// copying the slices that change.
func cutFields(fields []Field, c int) ([]Field, bool) {
	var out []Field
	for i := range fields {
		v, changed := cutValue(fields[i].Value, c)
		if !changed {
			continue
		}
		if out == nil {
			out = slices.Clone(fields)
		}
		out[i].Value = v
	}
	if out == nil {
		return fields, false
	}
	return out, true
}

func cutValue(v Value, c int) (Value, bool) {
	switch v.Kind() {
	case KindString:
		s := v.Str()
		if escapedSize(s) <= c {
			return v, false
		}
		return StringValue(CutJSONString(s, c)), true
	case KindObject:
		if fs, changed := cutFields(v.Object(), c); changed {
			return ObjectValue(fs), true
		}
	case KindArray:
		items := v.Array()
		var out []Value
		for i := range items {
			w, changed := cutValue(items[i], c)
			if !changed {
				continue
			}
			if out == nil {
				out = slices.Clone(items)
			}
			out[i] = w
		}
		if out != nil {
			return ArrayValue(out), true
		}
	}
	return v, false
}
