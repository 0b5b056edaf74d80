package parsers

import "github.com/obsadapter/obsadapter/record"

// klog/glog (Kubernetes components, many Go daemons):
//
//	I1123 20:31:02.123456    1234 reflector.go:123] message
//
// The letter is the level (I W E F), the date has no year (the nearest one
// is taken), the number is the thread id. Structured klog messages
// ("msg" key="value" …) have their pairs split into fields.

func parseKlog(p *parser, line string, r *record.Record) bool {
	if len(line) < 22 {
		return false
	}
	sev, ok := levelLetter(line[0])
	if !ok || line[0] == 'D' || line[0] == 'V' {
		return false
	}
	var ck clock
	var ok1, ok2 bool
	ck.month, ok1 = num2(line, 1)
	ck.day, ok2 = num2(line, 3)
	if !ok1 || !ok2 || line[5] != ' ' {
		return false
	}
	i, ok := hms(line, 6, &ck)
	if !ok || !ck.valid() {
		return false
	}
	c := cursor{s: line, i: i}
	if c.spaces() == 0 {
		return false
	}
	tid, ok := c.int()
	if !ok || !c.byte(' ') {
		return false
	}
	caller, ok := c.until(']')
	if !ok || indexByte(caller, ' ') >= 0 || !(c.byte(' ') || c.eof()) {
		return false
	}
	msg := c.rest()
	mark := len(p.fields)
	p.fields = append(p.fields, intField("thread", tid), p.strField("caller", caller))
	if len(msg) > 1 && msg[0] == '"' {
		// Structured: a quoted message, then logfmt pairs.
		if m, rest, ok := splitQuoted(p, msg); ok && (rest == "" || rest[0] == ' ') {
			if rest == "" {
				msg = m
			} else if pairs, ok := logfmtPairs(p, rest, nil, nil); ok {
				msg = m
				p.fields = append(p.fields, pairs...)
			}
		}
	}
	r.Fields = p.takeFields(mark)
	r.Severity = sev
	r.Time = ck.inferYear(p.loc, p.now)
	r.Message = msg
	return true
}

// splitQuoted reads the Go-quoted string s starts with and returns it
// unquoted and the text after it.
func splitQuoted(p *parser, s string) (string, string, bool) {
	esc := false
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			esc = true
			j++
		case '"':
			v := s[1:j]
			if esc {
				var tmp [256]byte
				dec, ok := unescapeJSON(tmp[:0], v)
				if !ok {
					return "", "", false
				}
				v = p.keep(dec)
			}
			return v, s[j+1:], true
		}
	}
	return "", "", false
}
