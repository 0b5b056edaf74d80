package parsers

import (
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Envoy (and Istio's sidecars), both its application log and its default
// access log:
//
//	[2026-11-23 20:31:02.123][1][info][main] [source/server/server.cc:915] starting main dispatch loop
//	[2026-11-23T20:31:02.123Z] "GET /api HTTP/1.1" 200 - 0 1234 5 4 "10.0.0.1" "curl/8.5.0" "4c1e…" "shop.local" "10.0.0.2:8080"

func parseEnvoy(p *parser, line string, r *record.Record) bool {
	c, t, ok := p.bracketedTime(line)
	if !ok {
		return false
	}
	if c.lit(` "`) {
		c.i--
		return envoyAccess(p, &c, t, r)
	}
	if c.peek() != '[' {
		return false
	}
	tidS, ok := c.bracket()
	if !ok {
		return false
	}
	tid, ok := atoi(tidS)
	if !ok || c.peek() != '[' {
		return false
	}
	lvl, ok := c.bracket()
	if !ok {
		return false
	}
	sev, ok := levelWord(lvl)
	if !ok || c.peek() != '[' {
		return false
	}
	comp, ok := c.bracket()
	if !ok {
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, intField("thread", tid), p.strField("component", comp))
	c.spaces()
	p.bracketField(&c, "caller")
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}

// envoyAccess reads the default access log format after the start time.
func envoyAccess(p *parser, c *cursor, t time.Time, r *record.Record) bool {
	req, ok := c.quoted()
	if !ok || !c.byte(' ') {
		return false
	}
	status, ok := c.int()
	if !ok || !c.byte(' ') {
		return false
	}
	flags := c.word()
	var nums [4]string // bytes received, bytes sent, duration ms, upstream service time ms
	for i := range nums {
		if !c.byte(' ') {
			return false
		}
		nums[i] = c.word()
	}
	var quoted [5]string // x-forwarded-for, user agent, request id, authority, upstream host
	nq := 0
	for nq < len(quoted) && c.lit(` "`) {
		c.i--
		v, ok := c.quoted()
		if !ok {
			return false
		}
		quoted[nq] = v
		nq++
	}
	method, path, proto := splitRequest(req)
	mark := len(p.fields)
	if method != "" {
		p.fields = append(p.fields, p.strField("method", method), p.strField("path", path))
		if proto != "" {
			p.fields = append(p.fields, p.strField("protocol", proto))
		}
	}
	p.fields = append(p.fields, intField("status", status))
	if flags != "-" && flags != "" {
		p.fields = append(p.fields, p.strField("response_flags", flags))
	}
	if v, ok := atoi(nums[0]); ok {
		p.fields = append(p.fields, intField("bytes_received", v))
	}
	if v, ok := atoi(nums[1]); ok {
		p.fields = append(p.fields, intField("bytes", v))
	}
	if v, ok := atoi(nums[2]); ok {
		p.fields = append(p.fields, record.Field{Key: "duration_seconds", Value: record.FloatValue(float64(v) / 1000)})
	}
	if v, ok := atoi(nums[3]); ok {
		p.fields = append(p.fields, record.Field{Key: "upstream_service_time_seconds", Value: record.FloatValue(float64(v) / 1000)})
	}
	names := [5]string{"forwarded_for", "user_agent", "request_id", "authority", "upstream_host"}
	for i := 0; i < nq; i++ {
		if quoted[i] != "-" && quoted[i] != "" {
			p.fields = append(p.fields, p.strField(names[i], quoted[i]))
		}
	}
	r.Fields = p.takeFields(mark)
	r.Time, r.Message = t, req
	return true
}
