package secrets

import "strings"

// The text rules are byte scanners rather than regular expressions: a
// case-insensitive alternation costs microseconds per argument, and procinfo
// redacts every new command line of a snapshot.

// splice builds s with the spans [lo, hi) masked by m; spans are ascending
// and disjoint.
type splice struct {
	b    strings.Builder
	s    string
	m    Mask
	last int
	used bool
}

func (p *splice) mask(lo, hi int) {
	if hi <= lo || p.s[lo:hi] == Masked {
		return
	}
	r := p.m.of(p.s[lo:hi])
	if r == p.s[lo:hi] {
		return
	}
	if !p.used {
		p.b.Grow(len(p.s))
		p.used = true
	}
	p.b.WriteString(p.s[p.last:lo])
	p.b.WriteString(r)
	p.last = hi
}

func (p *splice) result() string {
	if !p.used {
		return p.s
	}
	p.b.WriteString(p.s[p.last:])
	return p.b.String()
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// maskAssignments masks the value of every NAME=value, NAME: value,
// "NAME":"value" and NAME = value in s whose name is secret (see classify):
// flags, environment assignments, -D properties, query strings, JSON and
// YAML, headers, shell scripts.
func maskAssignments(s string, m Mask) string {
	if !strings.ContainsAny(s, "=:") {
		return s
	}
	p := splice{s: s, m: m}
	braced := false // a '{' or '[' came before: '}' and ']' end bare values
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '{' || c == '[' {
			braced = true
			continue
		}
		if c != '=' && c != ':' {
			continue
		}
		start, end, quote := assignmentName(s, i)
		if start == end || quote != 0 && (start == 0 || s[start-1] != quote) {
			continue
		}
		kind := nameKindOf(s[start:end])
		if kind == notSecret {
			continue
		}
		v := i + 1
		for v < len(s) && isBlank(s[v]) {
			v++
		}
		if v >= len(s) {
			continue
		}
		lo, hi, next := valueSpan(s, v, kind, braced || quote != 0)
		p.mask(lo, hi)
		i = next - 1
	}
	return p.result()
}

// assignmentName finds the name before the '=' or ':' at s[i], in
// s[start:end], and the quote around it, if any; blanks may stand between
// them.
func assignmentName(s string, i int) (start, end int, quote byte) {
	end = i
	for end > 0 && isBlank(s[end-1]) {
		end--
	}
	if end > 0 && (s[end-1] == '"' || s[end-1] == '\'') {
		quote = s[end-1]
		end--
	}
	start = end
	for start > 0 && end-start < maxName && isNameChar(s[start-1]) {
		start--
	}
	return start, end, quote
}

// valueSpan finds the value starting at v: the text to mask [lo, hi) and
// where scanning resumes.
func valueSpan(s string, v int, kind nameKind, braced bool) (lo, hi, next int) {
	switch c := s[v]; {
	case c == '"' || c == '\'':
		e := closingQuote(s, v+1, c)
		if e < len(s) {
			return v + 1, e, e + 1
		}
		return v + 1, len(s), len(s)
	case c == '[':
		// An array of scalars is masked whole ("tokens":[***]); one of
		// objects or arrays is left to the scan of its own keys.
		x := v + 1
		for x < len(s) && isBlank(s[x]) {
			x++
		}
		if x < len(s) && s[x] != '{' && s[x] != '[' {
			if e := arrayEnd(s, x); e < len(s) {
				return v + 1, e, e + 1
			}
		}
		return v, v, v
	case c == '{':
		return v, v, v // a nested object: its own keys are scanned
	}
	switch kind {
	case cookieHeader:
		e := lineEnd(s, v)
		return v, e, e
	case authHeader:
		w := v
		for w < len(s) && (isAlnum(s[w]) || s[w] == '-') {
			w++
		}
		if w > v && w < len(s) && isBlank(s[w]) {
			x := w
			for x < len(s) && isBlank(s[x]) {
				x++
			}
			if x < len(s) && !isLineEnd(s[x]) {
				e := lineEnd(s, x)
				return x, e, e
			}
		}
	}
	e := v
	for e < len(s) && !isValueEnd(s[e], braced) {
		e++
	}
	return v, e, e
}

func isValueEnd(c byte, braced bool) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '&', ';', ',', '\'', '"':
		return true
	case '}', ']':
		return braced
	}
	return false
}

func isLineEnd(c byte) bool { return c == '\n' || c == '\r' || c == '\'' || c == '"' }

func lineEnd(s string, i int) int {
	for i < len(s) && !isLineEnd(s[i]) {
		i++
	}
	for i > 0 && isBlank(s[i-1]) {
		i--
	}
	return i
}

// arrayEnd returns the index of the ']' closing an array of scalars whose
// content starts at i, or len(s) (not closed, or holding an object).
func arrayEnd(s string, i int) int {
	for ; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			i = closingQuote(s, i+1, c)
		case ']':
			return i
		case '{', '[':
			return len(s)
		}
	}
	return len(s)
}

// closingQuote returns the index of the quote q closing a string whose
// content starts at i (a backslash escapes the next byte), or len(s).
func closingQuote(s string, i int, q byte) int {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return len(s)
}

// maskURLCredentials masks the password of scheme://user:password@host,
// up to the last '@' of the authority, so a password holding '@' is masked
// whole.
func maskURLCredentials(s string, m Mask) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	p := splice{s: s, m: m}
	from := 0
	for {
		k := strings.Index(s[from:], "://")
		if k < 0 {
			break
		}
		k += from
		a := k + 3
		from = a
		if k == 0 || !isAlnum(s[k-1]) {
			continue
		}
		e := a
		for e < len(s) && !strings.ContainsRune("/?# \t\n\r'\"<>", rune(s[e])) {
			e++
		}
		at := strings.LastIndexByte(s[a:e], '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[a:a+at], ':')
		if colon < 0 {
			continue
		}
		if a+colon+1 > p.last {
			p.mask(a+colon+1, a+at)
		}
		from = e
	}
	return p.result()
}

// tokenByte: the bytes of a bearer token (RFC 6750's b64token) or a JWT.
func tokenByte(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~+/=", c) >= 0
}

// minBareToken is the shortest token masked after a bare "Bearer": shorter
// words are prose ("uses bearer tokens").
const minBareToken = 8

// maskBearer masks the token after "Bearer " anywhere (any case).
func maskBearer(s string, m Mask) string {
	p := splice{s: s, m: m}
	for i := 0; i+6 < len(s); i++ {
		if (s[i] != 'b' && s[i] != 'B') || i > 0 && isAlnum(s[i-1]) || !strings.EqualFold(s[i:i+6], "bearer") {
			continue
		}
		v := i + 6
		if !isBlank(s[v]) {
			continue
		}
		for v < len(s) && isBlank(s[v]) {
			v++
		}
		e := v
		for e < len(s) && tokenByte(s[e]) {
			e++
		}
		if e-v >= minBareToken && v >= p.last {
			p.mask(v, e)
			i = e - 1
		}
	}
	return p.result()
}

// maskJWTs masks any JSON Web Token (eyJ….eyJ….sig) standing on its own.
func maskJWTs(s string, m Mask) string {
	p := splice{s: s, m: m}
	for i := 0; i+3 <= len(s); i++ {
		if s[i:i+3] != "eyJ" || i > 0 && tokenByte(s[i-1]) {
			continue
		}
		e, dots := i, 0
		for e < len(s) && (isAlnum(s[e]) || s[e] == '-' || s[e] == '_' || s[e] == '.') {
			if s[e] == '.' {
				dots++
			}
			e++
		}
		// A token's payload is a JSON object too: base64 that merely
		// starts like one is not a token.
		if dots == 2 && e-i >= 20 && strings.HasPrefix(s[strings.IndexByte(s[i:e], '.')+i+1:], "eyJ") {
			p.mask(i, e)
		}
		i = e
	}
	return p.result()
}
