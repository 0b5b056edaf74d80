package parsers

import (
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Apache httpd's error log (2.4, and 2.2 without module and pid):
//
//	[Mon Nov 23 20:31:02.123456 2026] [core:error] [pid 1234:tid 140] [client 10.0.0.1:5678] AH00037: message
//	[Mon Nov 23 20:31:02 2026] [error] [client 10.0.0.1] message

func parseApacheError(p *parser, line string, r *record.Record) bool {
	if len(line) < 30 || line[0] != '[' || line[4] != ' ' || line[8] != ' ' {
		return false
	}
	c := cursor{s: line}
	ts, ok := c.bracket()
	if !ok {
		return false
	}
	t, ok := ctimeTime(ts, p.loc)
	if !ok || !c.byte(' ') {
		return false
	}
	lvl, ok := c.bracket()
	if !ok {
		return false
	}
	module := ""
	if m, l, ok := strings.Cut(lvl, ":"); ok {
		module, lvl = m, l
	}
	sev, ok := levelWord(lvl)
	if !ok && len(lvl) > 5 && lvl[:5] == "trace" {
		sev, ok = sevTrace, true
	}
	if !ok {
		return false
	}
	mark := len(p.fields)
	if module != "" {
		p.fields = append(p.fields, p.strField("module", module))
	}
	for c.lit(" [") {
		c.i--
		save := c.i
		v, ok := c.bracket()
		if !ok {
			c.i = save
			break
		}
		switch {
		case strings.HasPrefix(v, "pid "):
			pid, tid, _ := strings.Cut(v[4:], ":tid ")
			p.fields = append(p.fields, p.intOrString("pid", pid))
			if tid != "" {
				p.fields = append(p.fields, p.intOrString("tid", tid))
			}
		case strings.HasPrefix(v, "client "):
			p.fields = append(p.fields, p.strField("remote_addr", v[7:]))
		case strings.HasPrefix(v, "remote "):
			p.fields = append(p.fields, p.strField("remote_addr", v[7:]))
		default:
			c.i = save
			goto done
		}
	}
done:
	msg := trimLeft(c.rest())
	if len(msg) > 8 && msg[:2] == "AH" && digits(msg[2:]) == 5 && msg[7] == ':' {
		p.fields = append(p.fields, p.strField("code", msg[:7]))
		msg = trimLeft(msg[8:])
	}
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, msg
	return true
}

// ctimeTime parses ctime's "Mon Nov 23 20:31:02[.frac] 2026".
func ctimeTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 24 || s[3] != ' ' || s[7] != ' ' {
		return time.Time{}, false
	}
	var c clock
	var ok bool
	if c.month, ok = month(s, 4); !ok {
		return time.Time{}, false
	}
	d := s[8:10]
	if d[0] == ' ' {
		d = d[1:]
	}
	if c.day, ok = atoi(d); !ok || s[10] != ' ' {
		return time.Time{}, false
	}
	i, ok := hms(s, 11, &c)
	if !ok || i+5 != len(s) || s[i] != ' ' {
		return time.Time{}, false
	}
	if c.year, ok = num(s, i+1, 4); !ok || !c.dated() {
		return time.Time{}, false
	}
	return c.in(loc), true
}
