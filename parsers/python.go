package parsers

import (
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// Python's logging module:
//
//	WARNING:app.db:connection lost                       basicConfig() default (LEVEL:logger:message)
//	2026-11-23 20:31:02,123 - app.db - WARNING - lost     the cookbook's asctime style (also without the logger)
//	2026-11-23 20:31:02,123:WARNING:app.db:lost           asctime, colon separated
//	[2026-11-23 20:31:02,123] WARNING in views: lost      Flask's default
//
// asctime has no zone: the configured one applies.

var pythonLevels = map[string]record.Severity{
	"DEBUG": sevDebug, "INFO": sevInfo, "WARNING": sevWarn, "ERROR": sevError, "CRITICAL": sevFatal,
	"NOTSET": 0, "WARN": sevWarn, "FATAL": sevFatal,
}

// pythonLevel is the levelname at the start of s, up to sep.
func pythonLevel(s string, sep byte) (record.Severity, int, bool) {
	for i := 0; i < len(s) && i <= 9; i++ {
		if s[i] == sep {
			sev, ok := pythonLevels[s[:i]]
			return sev, i, ok
		}
		if s[i] < 'A' || s[i] > 'Z' {
			return 0, 0, false
		}
	}
	return 0, 0, false
}

func parsePython(p *parser, line string, r *record.Record) bool {
	if len(line) == 0 {
		return false
	}
	if line[0] >= 'A' && line[0] <= 'Z' {
		return parsePythonBasic(p, line, r)
	}
	c := cursor{s: line}
	flask := c.byte('[')
	t, n, ok := p.isoTime(c.rest())
	// asctime always has a comma before the milliseconds and no zone.
	if !ok || n != 23 || c.s[c.i+19] != ',' {
		return false
	}
	c.i += n
	mark := len(p.fields)
	switch {
	case flask:
		// "] LEVEL in module: message"
		if !c.lit("] ") {
			return false
		}
		sev, k, ok := pythonLevel(c.rest(), ' ')
		if !ok {
			return false
		}
		c.i += k
		if !c.lit(" in ") {
			return false
		}
		mod, ok := c.until(':')
		if !ok || strings.IndexByte(mod, ' ') >= 0 || !c.byte(' ') {
			return false
		}
		p.fields = append(p.fields, p.strField("module", mod))
		r.Severity = sev
	case c.lit(" - "):
		// "name - LEVEL - message" or "LEVEL - message"
		if sev, k, ok := pythonLevel(c.rest(), ' '); ok && strings.HasPrefix(c.rest()[k:], " - ") {
			c.i += k + 3
			r.Severity = sev
			break
		}
		name, ok := c.until(' ')
		if !ok || name == "" || !c.lit("- ") {
			return false
		}
		sev, k, ok := pythonLevel(c.rest(), ' ')
		if !ok || !strings.HasPrefix(c.rest()[k:], " - ") {
			return false
		}
		c.i += k + 3
		p.fields = append(p.fields, p.strField("logger", name))
		r.Severity = sev
	case c.byte(':'):
		sev, k, ok := pythonLevel(c.rest(), ':')
		if !ok {
			return false
		}
		c.i += k + 1
		name, ok := c.until(':')
		if !ok || name == "" || strings.IndexByte(name, ' ') >= 0 {
			return false
		}
		p.fields = append(p.fields, p.strField("logger", name))
		r.Severity = sev
	default:
		return false
	}
	r.Fields = p.takeFields(mark)
	r.Time = t
	r.Message = c.rest()
	return true
}

// parsePythonBasic reads basicConfig's "LEVEL:logger:message".
func parsePythonBasic(p *parser, line string, r *record.Record) bool {
	sev, k, ok := pythonLevel(line, ':')
	if !ok {
		return false
	}
	rest := line[k+1:]
	name, msg, ok := strings.Cut(rest, ":")
	if !ok || name == "" || strings.IndexByte(name, ' ') >= 0 {
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, p.strField("logger", name))
	r.Fields = p.takeFields(mark)
	r.Severity = sev
	r.Message = msg
	return true
}
