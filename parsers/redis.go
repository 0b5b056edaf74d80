package parsers

import "github.com/obsadapter/obsadapter/record"

// Redis and Valkey server logs:
//
//	1:M 23 Nov 2026 20:31:02.123 * Ready to accept connections tcp
//	7:C 23 Nov 2026 20:31:05.001 # Warning: no config file specified
//
// pid:role (M master, S replica, C child, X sentinel), then the level mark:
// '.' debug, '-' verbose, '*' notice, '#' warning.

var redisRoles = [...]struct {
	c    byte
	name string
}{{'M', "master"}, {'S', "replica"}, {'C', "child"}, {'X', "sentinel"}}

func parseRedis(p *parser, line string, r *record.Record) bool {
	c := cursor{s: line}
	pid, ok := c.int()
	if !ok || !c.byte(':') || c.eof() {
		return false
	}
	role := ""
	for _, rr := range redisRoles {
		if c.peek() == rr.c {
			role = rr.name
		}
	}
	if role == "" {
		return false
	}
	c.i++
	if !c.byte(' ') {
		return false
	}
	// "23 Nov 2026 20:31:02.123"
	var ck clock
	d, ok := c.int()
	if !ok || !c.byte(' ') {
		return false
	}
	ck.day = d
	if ck.month, ok = month(c.s, c.i); !ok {
		return false
	}
	c.i += 3
	if !c.byte(' ') {
		return false
	}
	if ck.year, ok = num(c.s, c.i, 4); !ok {
		return false
	}
	c.i += 4
	if !c.byte(' ') || len(c.s)-c.i < 8 {
		return false
	}
	i, ok := hms(c.s, c.i, &ck)
	if !ok || !ck.dated() {
		return false
	}
	c.i = i
	if !c.byte(' ') || c.eof() {
		return false
	}
	var sev record.Severity
	switch c.peek() {
	case '.', '-':
		sev = sevDebug
	case '*':
		sev = sevNotice
	case '#':
		sev = sevWarn
	default:
		return false
	}
	c.i++
	c.byte(' ')
	mark := len(p.fields)
	p.fields = append(p.fields, intField("pid", pid), p.strField("role", role))
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = ck.in(p.loc), sev, c.rest()
	return true
}
