package parsers

import (
	"strconv"
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// CoreDNS (Kubernetes' cluster DNS), whose lines carry no time:
//
//	[INFO] 10.244.0.1:51234 - 12345 "A IN example.com. udp 29 false 512" NOERROR qr,rd,ra 29 0.000123s
//	[INFO] plugin/reload: Running configuration SHA512 = 5d…
//	[ERROR] plugin/errors: 2 example.com. A: read udp 10.244.0.5:43050->8.8.8.8:53: i/o timeout

func parseCoreDNS(p *parser, line string, r *record.Record) bool {
	if len(line) < 8 || line[0] != '[' {
		return false
	}
	c := cursor{s: line}
	lvl, ok := c.bracket()
	if !ok {
		return false
	}
	sev, ok := upperLevel(lvl)
	if !ok || !c.byte(' ') {
		return false
	}
	rest := c.rest()
	mark := len(p.fields)
	if strings.HasPrefix(rest, "plugin/") {
		name, msg, ok := strings.Cut(rest, ": ")
		if !ok || strings.IndexByte(name, ' ') >= 0 {
			return false
		}
		p.fields = append(p.fields, p.strField("plugin", name[len("plugin/"):]))
		r.Fields = p.takeFields(mark)
		r.Severity, r.Message = sev, msg
		return true
	}
	// The log plugin's query line.
	client := c.word()
	if !c.lit(" - ") {
		return false
	}
	id, ok := c.int()
	if !ok || !c.byte(' ') {
		return false
	}
	q, ok := c.quoted()
	if !ok || !c.byte(' ') {
		return false
	}
	rcode := c.word()
	if !c.byte(' ') {
		return false
	}
	flags := c.word()
	if !c.byte(' ') {
		return false
	}
	size, ok := c.int()
	if !ok || !c.byte(' ') {
		return false
	}
	dur := c.word()
	if !strings.HasSuffix(dur, "s") {
		return false
	}
	secs, err := strconv.ParseFloat(dur[:len(dur)-1], 64)
	if err != nil {
		return false
	}
	qf := strings.Fields(q) // type class name proto size do bufsize
	p.fields = append(p.fields, p.strField("remote_addr", client), intField("query_id", id))
	if len(qf) >= 4 {
		p.fields = append(p.fields, p.strField("type", qf[0]), p.strField("class", qf[1]), p.strField("name", qf[2]), p.strField("proto", qf[3]))
	}
	p.fields = append(p.fields, p.strField("rcode", rcode), p.strField("flags", flags), intField("bytes", size),
		record.Field{Key: "duration_seconds", Value: record.FloatValue(secs)})
	r.Fields = p.takeFields(mark)
	r.Severity, r.Message = sev, q
	return true
}
