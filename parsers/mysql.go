package parsers

import "github.com/obsadapter/obsadapter/record"

// MySQL's error log (8.x with error code and subsystem, 5.7 without) and
// MariaDB's:
//
//	2026-11-23T20:31:02.123456Z 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections.
//	2026-11-23T20:31:02.123456Z 12 [Warning] Aborted connection 12 to db: 'shop'
//	2026-11-23 20:31:02 0 [Note] mariadbd: ready for connections.

func parseMySQL(p *parser, line string, r *record.Record) bool {
	t, n, ok := p.isoTime(line)
	if !ok {
		return false
	}
	c := cursor{s: line, i: n}
	if !c.byte(' ') {
		return false
	}
	thread, ok := c.int()
	if !ok || !c.byte(' ') {
		return false
	}
	lvl, ok := c.bracket()
	if !ok {
		return false
	}
	var sev record.Severity
	switch lvl {
	case "System", "Note":
		sev = sevInfo
	case "Warning":
		sev = sevWarn
	case "ERROR", "Error":
		sev = sevError
	default:
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, intField("thread", thread))
	if c.lit(" [MY-") {
		c.i -= 3
		code, ok := c.until(']')
		if ok {
			p.fields = append(p.fields, p.strField("code", code))
			if c.lit(" [") {
				c.i--
				if sub, ok := c.bracket(); ok {
					p.fields = append(p.fields, p.strField("subsystem", sub))
				}
			}
		}
	}
	c.byte(' ')
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}
