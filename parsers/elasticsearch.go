package parsers

import "github.com/obsadapter/obsadapter/record"

// Elasticsearch and OpenSearch plain-text logs:
//
//	[2026-11-23T20:31:02,123][INFO ][o.e.n.Node               ] [node-1] started
//
// (Elasticsearch 8's default ECS JSON is read by the json format.)

func parseElasticsearch(p *parser, line string, r *record.Record) bool {
	c, t, ok := p.bracketedTime(line)
	if !ok || c.peek() != '[' {
		return false
	}
	lvl, ok := c.bracket()
	if !ok {
		return false
	}
	sev, ok := upperLevel(trimSpace(lvl))
	if !ok || c.peek() != '[' {
		return false
	}
	logger, ok := c.bracket()
	if !ok {
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, p.strField("logger", trimSpace(logger)))
	c.spaces()
	p.bracketField(&c, "node")
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}
