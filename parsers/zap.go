package parsers

import (
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// zap's console encoder (and its development config), tab separated:
//
//	2026-11-23T20:31:02.123Z	INFO	server/main.go:42	listening	{"addr": ":8080"}
//	2026-11-23T20:31:02.123+0100	WARN	http.client	client/retry.go:88	retrying	{"attempt": 2}
//
// Optional logger name and caller come before the message; the trailing
// JSON object holds the context fields.

func parseZap(p *parser, line string, r *record.Record) bool {
	t, n, ok := p.isoTime(line)
	if !ok || n >= len(line) || line[n] != '\t' {
		return false
	}
	rest := line[n+1:]
	lvl, rest, ok := strings.Cut(rest, "\t")
	if !ok {
		return false
	}
	sev, ok := levelWord(lvl)
	if !ok {
		return false
	}
	mark := len(p.fields)
	// The trailing JSON object is the context.
	var ctx []record.Field
	if k := strings.LastIndexByte(rest, '\t'); k >= 0 && k+1 < len(rest) && rest[k+1] == '{' {
		j := jsonScanner{p: p, s: rest[k+1:]}
		if obj, ok := j.object(0); ok && j.i == len(j.s) {
			rest, ctx = rest[:k], obj
		}
	}
	// Before the message: a logger name and a caller, each optional.
	var parts [3]string
	np := 0
	for np < 2 {
		part, after, ok := strings.Cut(rest, "\t")
		if !ok {
			break
		}
		parts[np] = part
		np++
		rest = after
	}
	msg := rest
	switch {
	case np == 2 && isCaller(parts[1]):
		p.fields = append(p.fields, p.strField("logger", parts[0]), p.strField("caller", parts[1]))
	case np >= 1 && isCaller(parts[0]):
		p.fields = append(p.fields, p.strField("caller", parts[0]))
		if np == 2 {
			msg, p.made = parts[1]+"\t"+msg, true
		}
	case np == 1:
		p.fields = append(p.fields, p.strField("logger", parts[0]))
	case np == 2:
		p.fields = append(p.fields, p.strField("logger", parts[0]))
		msg, p.made = parts[1]+"\t"+msg, true
	}
	p.fields = append(p.fields, ctx...)
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, msg
	return true
}

// isCaller matches "pkg/file.go:42".
func isCaller(s string) bool {
	f, l, ok := strings.Cut(s, ".go:")
	return ok && f != "" && l != "" && digits(l) == len(l) && strings.IndexByte(f, ' ') < 0
}
