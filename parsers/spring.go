package parsers

import "github.com/obsadapter/obsadapter/record"

// Spring Boot's default console/file layout:
//
//	2026-11-23T20:31:02.123Z  INFO 1 --- [           main] c.e.demo.DemoApplication : Started   (Boot 3)
//	2026-11-23T20:31:02.123Z  INFO 1 --- [demo] [main] c.e.demo.DemoApplication : Started      (Boot 3.2+, application name)
//	2026-11-23 20:31:02.123  INFO 1 --- [           main] o.s.b.w.e.tomcat.TomcatWebServer  : …  (Boot 2)

func parseSpring(p *parser, line string, r *record.Record) bool {
	t, n, ok := p.isoTime(line)
	if !ok {
		return false
	}
	c := cursor{s: line, i: n}
	if c.spaces() == 0 {
		return false
	}
	sev, ok := upperLevel(c.word())
	if !ok || !c.byte(' ') {
		return false
	}
	c.spaces()
	pid, ok := c.int()
	if !ok || !c.lit(" --- ") {
		return false
	}
	var brackets [3]string
	nb := 0
	for c.peek() == '[' && nb < 3 {
		v, ok := c.bracket()
		if !ok {
			return false
		}
		brackets[nb] = trimSpace(v)
		nb++
		c.spaces()
	}
	if nb == 0 {
		return false
	}
	// Abbreviated logger names keep Tomcat's brackets: o.a.c.c.C.[.[.[/].
	logger := c.word()
	if logger == "" || !isAlpha(logger[0]) {
		return false
	}
	c.spaces()
	if !c.byte(':') {
		return false
	}
	c.byte(' ')
	mark := len(p.fields)
	p.fields = append(p.fields, intField("pid", pid))
	switch nb {
	case 1:
		p.fields = append(p.fields, p.strField("thread", brackets[0]))
	default:
		if brackets[0] != "" {
			p.fields = append(p.fields, p.strField("application", brackets[0]))
		}
		p.fields = append(p.fields, p.strField("thread", brackets[1]))
		if nb == 3 && brackets[2] != "" {
			p.fields = append(p.fields, p.strField("correlation", brackets[2]))
		}
	}
	p.fields = append(p.fields, p.strField("logger", logger))
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}
