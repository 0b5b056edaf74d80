package parsers

import (
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// PostgreSQL's server log with the default log_line_prefix ('%m [%p] ')
// and the common additions (user@database, application):
//
//	2026-11-23 20:31:02.123 UTC [1234] LOG:  database system is ready to accept connections
//	2026-11-23 20:31:02.456 UTC [1240] app@shop ERROR:  relation "orders" does not exist at character 15
//
// LOG is info; DETAIL, HINT, STATEMENT, CONTEXT, QUERY and LOCATION lines
// belong to the message before them and carry no level of their own.

func parsePostgres(p *parser, line string, r *record.Record) bool {
	if len(line) < 30 {
		return false
	}
	var ck clock
	var ok1, ok2, ok3 bool
	ck.year, ok1 = num(line, 0, 4)
	ck.month, ok2 = num(line, 5, 2)
	ck.day, ok3 = num(line, 8, 2)
	if !ok1 || !ok2 || !ok3 || line[4] != '-' || line[10] != ' ' {
		return false
	}
	i, ok := hms(line, 11, &ck)
	if !ok || !ck.dated() || i >= len(line) || line[i] != ' ' {
		return false
	}
	c := cursor{s: line, i: i + 1}
	zone := c.word()
	t, ok := zonedTime(ck, zone, p.loc)
	if !ok || !c.lit(" [") {
		return false
	}
	pid, ok := c.int()
	if !ok || !c.lit("] ") {
		return false
	}
	mark := len(p.fields)
	p.fields = append(p.fields, intField("pid", pid))
	// Optional user@database (and anything else of the prefix) before the
	// level word.
	for k := 0; k < 3; k++ {
		w := c.rest()
		word, _, _ := strings.Cut(w, " ")
		if len(word) > 1 && word[len(word)-1] == ':' {
			break
		}
		if u, d, ok := strings.Cut(word, "@"); ok && u != "" {
			p.fields = append(p.fields, p.strField("user", u), p.strField("database", d))
		} else {
			p.fields = append(p.fields, p.strField("prefix", word))
		}
		c.i += len(word)
		if !c.byte(' ') {
			p.popFields(mark)
			return false
		}
	}
	lvl, ok := c.until(':')
	if !ok {
		p.popFields(mark)
		return false
	}
	sev, known := postgresLevel(lvl)
	if !known {
		p.popFields(mark)
		return false
	}
	if sev == 0 {
		p.fields = append(p.fields, p.strField("detail", lvl))
	}
	c.spaces()
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}

func postgresLevel(w string) (record.Severity, bool) {
	switch w {
	case "LOG", "INFO":
		return sevInfo, true
	case "NOTICE":
		return sevNotice, true
	case "WARNING":
		return sevWarn, true
	case "ERROR":
		return sevError, true
	case "FATAL":
		return sevFatal, true
	case "PANIC":
		return sevEmerg, true
	case "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5":
		return sevDebug, true
	case "DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION":
		return 0, true
	}
	return 0, false
}

// zonedTime applies a zone written as an abbreviation ("UTC", "CET") or an
// offset ("+01", "-0530"). Abbreviations other than UTC/GMT resolve through
// the configured zone when it uses them, else the configured zone applies.
func zonedTime(ck clock, zone string, loc *time.Location) (time.Time, bool) {
	switch zone {
	case "UTC", "GMT", "Z":
		return ck.at(0), true
	case "":
		return time.Time{}, false
	}
	if zone[0] == '+' || zone[0] == '-' {
		off, n, ok := zoneOffset(zone, 0)
		if !ok || n != len(zone) {
			return time.Time{}, false
		}
		return ck.at(off), true
	}
	for i := 0; i < len(zone); i++ {
		if zone[i] < 'A' || zone[i] > 'Z' {
			return time.Time{}, false
		}
	}
	return ck.in(loc), true
}
