package parsers

import "github.com/obsadapter/obsadapter/record"

// Ruby's Logger default format, which Rails, Sidekiq and most Ruby programs
// write:
//
//	I, [2026-11-23T20:31:02.123456 #1234]  INFO -- : [f3a1…] Started GET "/" for 10.0.0.1
//	W, [2026-11-23T20:31:02.123456 #1234]  WARN -- sidekiq: message
//
// The time has no zone: the configured one applies.

func parseRails(p *parser, line string, r *record.Record) bool {
	if len(line) < 40 || line[1] != ',' || line[2] != ' ' || line[3] != '[' {
		return false
	}
	t, n, ok := p.isoTime(line[4:])
	if !ok {
		return false
	}
	c := cursor{s: line, i: 4 + n}
	if !c.lit(" #") {
		return false
	}
	pid, ok := c.int()
	if !ok || !c.byte(']') || c.spaces() == 0 {
		return false
	}
	// ANY is Logger's UNKNOWN severity: a message that states no level.
	w := c.word()
	sev, ok := upperLevel(w)
	if !ok && w != "ANY" {
		return false
	}
	if !c.lit(" -- ") {
		return false
	}
	prog, ok := c.until(':')
	if !ok {
		return false
	}
	c.byte(' ')
	mark := len(p.fields)
	p.fields = append(p.fields, intField("pid", pid))
	if prog != "" {
		p.fields = append(p.fields, p.strField("progname", prog))
	}
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}
