package parsers

import "github.com/obsadapter/obsadapter/record"

// Go's standard log package with its default flags and the common extras:
//
//	2026/11/23 20:31:02 message
//	2026/11/23 20:31:02.123456 main.go:42: message   (Lmicroseconds, Lshortfile)
//
// It states no level, unless the message begins with a level word as many
// programs write ("ERROR: …", "[warn] …"), which is then taken.

func parseGoLog(p *parser, line string, r *record.Record) bool {
	if len(line) < 19 || line[4] != '/' || line[10] != ' ' {
		return false
	}
	t, n, ok := p.isoTime(line)
	if !ok || n >= len(line) || line[n] != ' ' {
		if !ok || n != len(line) {
			return false
		}
	}
	msg := ""
	if n < len(line) {
		msg = line[n+1:]
	}
	// Lshortfile / Llongfile: "file.go:42: ".
	mark := len(p.fields)
	if w, rest, ok := cut(msg, ' '); ok && len(w) > 5 && w[len(w)-1] == ':' {
		if f, l, ok := cut(w[:len(w)-1], ':'); ok && len(f) > 3 && f[len(f)-3:] == ".go" && digits(l) == len(l) && l != "" {
			p.fields = append(p.fields, p.strField("caller", w[:len(w)-1]))
			msg = rest
		}
	}
	if sev, rest, ok := leadingLevel(msg, false); ok {
		r.Severity, msg = sev, rest
	} else if w, rest, ok := cut(msg, ' '); ok && len(w) > 1 && (w[len(w)-1] == '|' || w[len(w)-1] == ':') && identToken(w[:len(w)-1]) {
		// A component before the message, maybe before a level:
		// "kid1| WARNING: …", "http: ERROR …". Without a level, only '|'
		// marks one: "http: TLS handshake error" is net/http's message.
		sev, after, hasLevel := leadingLevel(rest, false)
		if hasLevel || w[len(w)-1] == '|' {
			p.fields = append(p.fields, p.strField("logger", w[:len(w)-1]))
			r.Severity, msg = sev, after
		}
	}
	r.Fields = p.takeFields(mark)
	r.Time = t
	r.Message = msg
	return true
}

// leadingLevel recognizes a level word opening a message, bare or
// decorated: "ERROR ", "ERROR: ", "[ERROR] ", "<error> ", "WARN - ". A bare
// lower-case word counts only with a colon, or when anyLower (after a
// timestamp, where a level is expected).
func leadingLevel(s string, anyLower bool) (record.Severity, string, bool) {
	if len(s) < 3 {
		return 0, s, false
	}
	open, close := byte(0), byte(0)
	switch s[0] {
	case '[':
		open, close = '[', ']'
	case '<':
		open, close = '<', '>'
	case '(':
		open, close = '(', ')'
	}
	i := 0
	if open != 0 {
		i = 1
	}
	j := i
	for j < len(s) && j-i <= 11 && (isAlpha(s[j])) {
		j++
	}
	if j == i {
		return 0, s, false
	}
	word := s[i:j]
	sev, ok := levelWord(word)
	if !ok {
		return 0, s, false
	}
	if close != 0 {
		// Padding inside brackets: "[INFO ]".
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) || s[j] != close {
			return 0, s, false
		}
		j++
	} else {
		// A bare word must be upper case, or followed by ':' so that prose
		// ("error reading file") keeps its first word.
		upper := true
		for k := 0; k < len(word); k++ {
			if word[k] >= 'a' && word[k] <= 'z' {
				upper = false
			}
		}
		colon := j < len(s) && s[j] == ':'
		if !upper && !colon && !anyLower {
			return 0, s, false
		}
		if colon {
			j++
		}
	}
	if j < len(s) && s[j] != ' ' && s[j] != '\t' {
		return 0, s, false
	}
	rest := trimLeft(s[j:])
	if len(rest) >= 2 && (rest[0] == '-' || rest[0] == ':' || rest[0] == '|') && rest[1] == ' ' {
		rest = rest[2:]
	}
	return sev, rest, true
}

// identToken is a short name of letters, digits and "._-/".
func identToken(w string) bool {
	if w == "" || len(w) > 40 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !isAlpha(c) && !isDigit(c) && c != '.' && c != '_' && c != '-' && c != '/' {
			return false
		}
	}
	return true
}
