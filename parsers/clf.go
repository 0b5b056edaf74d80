package parsers

import (
	"strconv"

	"github.com/obsadapter/obsadapter/record"
)

// Access logs in the Common and Combined Log Formats (nginx's and Apache's
// defaults):
//
//	10.0.0.1 - bob [23/Nov/2026:20:31:02 +0000] "GET /a HTTP/1.1" 200 512 "https://x/" "curl/8.5.0"
//
// with nginx's usual additions after them ("$http_x_forwarded_for",
// $request_time). The message is the request line; access logs state no
// level, so the record gets none.

func parseCLF(p *parser, line string, r *record.Record) bool {
	c := cursor{s: line}
	addr := c.word()
	if addr == "" || !c.byte(' ') {
		return false
	}
	ident := c.word()
	if ident == "" || !c.byte(' ') {
		return false
	}
	user := c.word()
	if user == "" || !c.byte(' ') || c.peek() != '[' {
		return false
	}
	ts, ok := c.bracket()
	if !ok {
		return false
	}
	t, ok := p.clfTime(ts)
	if !ok || !c.byte(' ') {
		return false
	}
	req, ok := c.quoted()
	if !ok || !c.byte(' ') {
		return false
	}
	status, ok := c.int()
	if !ok || status < 100 || status > 999 || !c.byte(' ') {
		return false
	}
	bytesSent := -1
	if !c.byte('-') {
		if bytesSent, ok = c.int(); !ok {
			return false
		}
	}
	var referer, agent string
	hasCombined := false
	if c.lit(` "`) {
		c.i--
		referer, ok = c.quoted()
		if !ok || !c.byte(' ') {
			return false
		}
		if agent, ok = c.quoted(); !ok {
			return false
		}
		hasCombined = true
	}
	// nginx's additions: a quoted X-Forwarded-For, then seconds as floats
	// ($request_time first) or key=value pairs.
	var forwarded, extra string
	duration := -1.0
	for c.spaces() > 0 && !c.eof() {
		switch {
		case c.peek() == '"' && forwarded == "" && hasCombined:
			v, ok := c.quoted()
			if !ok {
				return false
			}
			forwarded = v
		default:
			start := c.i
			w := c.word()
			if duration < 0 {
				if _, v, isKV := cut(w, '='); isKV && (w[:len(w)-len(v)-1] == "rt" || w[:len(w)-len(v)-1] == "request_time") {
					w = v
				}
				if f, err := strconv.ParseFloat(w, 64); err == nil && containsByte(w, '.') && f >= 0 {
					duration = f
					continue
				}
			}
			extra = trimSpace(line[start:])
			c.i = len(line)
		}
	}
	method, path, proto := splitRequest(req)
	mark := len(p.fields)
	p.fields = append(p.fields, p.strField("remote_addr", addr))
	if user != "-" {
		p.fields = append(p.fields, p.strField("user", user))
	}
	if method != "" {
		p.fields = append(p.fields, p.strField("method", method), p.strField("path", path))
		if proto != "" {
			p.fields = append(p.fields, p.strField("protocol", proto))
		}
	}
	p.fields = append(p.fields, intField("status", status))
	if bytesSent >= 0 {
		p.fields = append(p.fields, intField("bytes", bytesSent))
	}
	if referer != "" && referer != "-" {
		p.fields = append(p.fields, p.strField("referer", referer))
	}
	if agent != "" && agent != "-" {
		p.fields = append(p.fields, p.strField("user_agent", agent))
	}
	if forwarded != "" && forwarded != "-" {
		p.fields = append(p.fields, p.strField("forwarded_for", forwarded))
	}
	if duration >= 0 {
		p.fields = append(p.fields, record.Field{Key: "duration_seconds", Value: record.FloatValue(duration)})
	}
	if extra != "" {
		p.fields = append(p.fields, p.strField("extra", extra))
	}
	r.Fields = p.takeFields(mark)
	r.Time = t
	r.Message = req
	return true
}

// statusSeverity is the level access_log_levels gives a request by its
// status; none when the record has no status.
func statusSeverity(r *record.Record) record.Severity {
	v, ok := r.Lookup("status")
	if !ok || v.Kind() != record.KindInt {
		return 0
	}
	switch st := v.Int64(); {
	case st >= 500:
		return sevError
	case st >= 400:
		return sevWarn
	case st > 0:
		return sevInfo
	}
	return 0
}

// splitRequest splits "GET /path HTTP/1.1"; a request line that is not one
// (a TLS handshake sent to a plain port, "-") yields nothing.
func splitRequest(req string) (method, path, proto string) {
	m, rest, ok := cut(req, ' ')
	if !ok || m == "" || rest == "" {
		return "", "", ""
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return "", "", ""
		}
	}
	path = rest
	for i := len(rest) - 1; i > 0; i-- {
		if rest[i] == ' ' {
			if len(rest)-i > 5 && rest[i+1:i+6] == "HTTP/" {
				path, proto = rest[:i], rest[i+1:]
			}
			break
		}
	}
	return m, path, proto
}
