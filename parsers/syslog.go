package parsers

import (
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Syslog, as files and pipes carry it:
//
//	RFC 3164  <34>Nov 23 20:31:02 host sshd[123]: message   (<PRI> optional, host optional)
//	rsyslog   2026-11-23T20:31:02.123456+00:00 host sshd[123]: message
//	RFC 5424  <34>1 2026-11-23T20:31:02.123Z host app 123 ID47 [sd@1 k="v"] message
//
// The priority gives level and facility; 5424 structured data becomes one
// nested field per SD-ID. Year-less 3164 times take the nearest year.

var facilities = [...]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

func parseSyslog(p *parser, line string, r *record.Record) bool {
	c := cursor{s: line}
	pri := -1
	if c.byte('<') {
		n, ok := c.int()
		if !ok || n > 191 || !c.byte('>') {
			return false
		}
		pri = n
		if c.lit("1 ") {
			return parse5424(p, &c, pri, r)
		}
	}
	var t time.Time
	if isDigit(c.peek()) {
		tt, n, ok := p.isoTime(c.rest())
		if !ok {
			return false
		}
		t = tt
		c.i += n
	} else {
		tt, n, ok := stampTime(c.rest(), p.loc, p.now)
		if !ok {
			return false
		}
		t = tt
		c.i += n
	}
	if !c.byte(' ') {
		return false
	}
	c.spaces()
	// HOSTNAME is optional (local daemons omit it): a first token that is
	// already the tag ends in ':' or holds '['.
	host := ""
	w := c.rest()
	first, _, _ := cut(w, ' ')
	if !isTag(first) {
		if _, isLevel := levelWord(first); isLevel && pri < 0 {
			// "<time>  INFO target: msg" is an application's header
			// (Rust's tracing), not a host called INFO.
			return false
		}
		host = first
		c.i += len(first)
		if !c.byte(' ') {
			return false
		}
	}
	rest := c.rest()
	tag, pid := "", ""
	tagEnd := -1
	for i := 0; i < len(rest) && i < 64; i++ {
		ch := rest[i]
		if ch == ':' && (i+1 == len(rest) || rest[i+1] == ' ') {
			tagEnd = i
			break
		}
		if ch == ' ' {
			break
		}
	}
	msg := rest
	if tagEnd > 0 {
		tag = rest[:tagEnd]
		msg = rest[tagEnd+1:]
		if len(msg) > 0 && msg[0] == ' ' {
			msg = msg[1:]
		}
		if open := indexByte(tag, '['); open > 0 && tag[len(tag)-1] == ']' {
			tag, pid = tag[:open], tag[open+1:len(tag)-1]
		}
	} else if host == "" {
		return false
	}
	if pri < 0 && (host == "" || tag == "") {
		// Without <PRI>, insist on the full "stamp host tag:" shape so prose
		// that merely starts with a date is not taken for syslog.
		return false
	}
	mark := len(p.fields)
	if host != "" {
		p.fields = append(p.fields, p.strField("host", host))
	}
	if tag != "" {
		p.fields = append(p.fields, p.strField("app", tag))
	}
	if pid != "" {
		p.fields = append(p.fields, p.intOrString("pid", pid))
	}
	if pri >= 0 {
		p.fields = append(p.fields, p.strField("facility", facilities[pri>>3]))
		r.Severity = syslogSeverity(pri & 7)
	}
	r.Fields = p.takeFields(mark)
	r.Time = t
	r.Message = msg
	return true
}

// isTag reports whether a syslog token is the TAG (program[pid]:) rather
// than a hostname.
func isTag(w string) bool {
	return len(w) > 0 && (w[len(w)-1] == ':' || indexByte(w, '[') >= 0)
}

func indexByte(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return -1
}

func parse5424(p *parser, c *cursor, pri int, r *record.Record) bool {
	ts := c.word()
	var t time.Time
	if ts != "-" {
		tt, n, ok := p.isoTime(ts)
		if !ok || n != len(ts) {
			return false
		}
		t = tt
	}
	var hdr [4]string // hostname, app-name, procid, msgid
	for i := range hdr {
		if !c.byte(' ') {
			return false
		}
		hdr[i] = c.word()
		if hdr[i] == "" {
			return false
		}
	}
	if !c.byte(' ') {
		return false
	}
	mark := len(p.fields)
	names := [4]string{"host", "app", "pid", "msgid"}
	for i, v := range hdr {
		if v != "-" {
			if i == 2 {
				p.fields = append(p.fields, p.intOrString(names[i], v))
			} else {
				p.fields = append(p.fields, p.strField(names[i], v))
			}
		}
	}
	p.fields = append(p.fields, p.strField("facility", facilities[pri>>3]))
	if !c.byte('-') {
		for c.peek() == '[' {
			if !structuredData(p, c) {
				p.popFields(mark)
				return false
			}
		}
	}
	msg := c.rest()
	if len(msg) > 0 && msg[0] == ' ' {
		msg = msg[1:]
	}
	// A UTF-8 BOM may open the message.
	if len(msg) >= 3 && msg[:3] == "\xef\xbb\xbf" {
		msg = msg[3:]
	}
	r.Fields = p.takeFields(mark)
	r.Time = t
	r.Severity = syslogSeverity(pri & 7)
	r.Message = msg
	return true
}

// structuredData reads one [SD-ID name="value" …] element into a nested
// field. Values escape '"', '\' and ']' with a backslash.
func structuredData(p *parser, c *cursor) bool {
	c.i++ // '['
	idStart := c.i
	for c.i < len(c.s) && c.s[c.i] != ' ' && c.s[c.i] != ']' {
		c.i++
	}
	id := c.s[idStart:c.i]
	if id == "" || c.eof() {
		return false
	}
	mark := len(p.fields)
	for c.byte(' ') {
		nameStart := c.i
		for c.i < len(c.s) && c.s[c.i] != '=' && c.s[c.i] != ' ' && c.s[c.i] != ']' {
			c.i++
		}
		name := c.s[nameStart:c.i]
		if name == "" || !c.lit(`="`) {
			p.popFields(mark)
			return false
		}
		vStart := c.i
		esc := false
		for c.i < len(c.s) && c.s[c.i] != '"' {
			if c.s[c.i] == '\\' {
				esc = true
				c.i++
			}
			c.i++
		}
		if c.eof() {
			p.popFields(mark)
			return false
		}
		v := c.s[vStart:c.i]
		c.i++
		if esc {
			var tmp [128]byte
			b := tmp[:0]
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\' || v[i+1] == ']') {
					i++
				}
				b = append(b, v[i])
			}
			v = p.keep(b)
		}
		p.fields = append(p.fields, p.strField(name, v))
	}
	if !c.byte(']') {
		p.popFields(mark)
		return false
	}
	params := p.takeFields(mark)
	if params == nil {
		params = []record.Field{}
	}
	p.fields = append(p.fields, record.Field{Key: id, Value: record.ObjectValue(params)})
	return true
}
