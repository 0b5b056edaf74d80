package parsers

import (
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// nginx's error log:
//
//	2026/11/23 20:31:02 [error] 31#31: *5 open() "/x" failed (2: No such file or directory), client: 10.0.0.1, server: _, request: "GET /x HTTP/1.1", host: "example.com"
//
// The trailing ", client: …" context becomes fields.

func parseNginxError(p *parser, line string, r *record.Record) bool {
	if len(line) < 28 || line[4] != '/' || line[19] != ' ' || line[20] != '[' {
		return false
	}
	t, n, ok := p.isoTime(line)
	if !ok || n != 19 {
		return false
	}
	c := cursor{s: line, i: 20}
	lvl, ok := c.bracket()
	if !ok {
		return false
	}
	sev, ok := levelWord(lvl)
	if !ok || !c.byte(' ') {
		return false
	}
	pid, ok := c.int()
	if !ok || !c.byte('#') {
		return false
	}
	tid, ok := c.int()
	if !ok || !c.lit(": ") {
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, intField("pid", pid), intField("tid", tid))
	if c.peek() == '*' {
		c.i++
		if cid, ok := c.int(); ok && c.byte(' ') {
			p.fields = append(p.fields, intField("connection", cid))
		}
	}
	msg := c.rest()
	if k := strings.Index(msg, ", client: "); k >= 0 {
		ctx := msg[k+2:]
		msg = msg[:k]
		for ctx != "" {
			key, rest, ok := strings.Cut(ctx, ": ")
			if !ok || key == "" || strings.IndexByte(key, ' ') >= 0 {
				break
			}
			var val string
			if strings.HasPrefix(rest, `"`) {
				cc := cursor{s: rest}
				v, ok := cc.quoted()
				if !ok {
					break
				}
				val, ctx = v, strings.TrimPrefix(cc.rest(), ", ")
			} else {
				val, ctx, _ = strings.Cut(rest, ", ")
			}
			if key == "client" {
				key = "remote_addr"
			}
			p.fields = append(p.fields, p.strField(key, val))
		}
	}
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, msg
	return true
}
