package parsers

import (
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// Apache Kafka (and ZooKeeper's log4j setup in the same images):
//
//	[2026-11-23 20:31:02,123] INFO [KafkaServer id=1] started (kafka.server.KafkaServer)
//
// The trailing "(logger)" becomes a field.

func parseKafka(p *parser, line string, r *record.Record) bool {
	if len(line) < 30 || line[0] != '[' || line[24] != ']' || line[25] != ' ' {
		return false
	}
	t, n, ok := p.isoTime(line[1:24])
	if !ok || n != 23 {
		return false
	}
	c := cursor{s: line, i: 26}
	sev, ok := upperLevel(c.word())
	if !ok || !c.byte(' ') {
		return false
	}
	msg := c.rest()
	mark := len(p.fields)
	if strings.HasSuffix(msg, ")") {
		if k := strings.LastIndex(msg, " ("); k >= 0 && isJavaName(msg[k+2:len(msg)-1]) {
			p.fields = append(p.fields, p.strField("logger", msg[k+2:len(msg)-1]))
			msg = msg[:k]
		}
	}
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, msg
	return true
}
