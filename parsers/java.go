package parsers

import (
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Java logging with logback, log4j or log4j2 pattern layouts, in the shapes
// their defaults and most configurations produce:
//
//	20:31:02.123 [main] INFO  com.example.App - Started       logback / log4j2 default (time only)
//	2026-11-23 20:31:02.123 [main] INFO  com.example.App - Started
//	2026-11-23 20:31:02,123 INFO  [main] com.example.App - Started
//	2026-11-23 20:31:02,123 ERROR [http-nio-8080-exec-1] c.e.Api: failed
//
// Thread, level and logger may come in any order before " - " (or the
// logger's ':'). A time without a date takes the day that puts it nearest
// to now.

func parseJava(p *parser, line string, r *record.Record) bool {
	c := cursor{s: line}
	var t time.Time
	if len(line) > 12 && line[2] == ':' {
		var ck clock
		i, ok := hms(line, 0, &ck)
		if !ok || i != 12 || !ck.timeValid() {
			return false
		}
		t = nearestDay(ck, p.loc, p.now)
		c.i = i
	} else {
		tt, n, ok := p.isoTime(line)
		if !ok {
			return false
		}
		t, c.i = tt, n
	}
	var thread, logger string
	var sev record.Severity
	hasLevel := false
	for tok := 0; tok < 4; tok++ {
		if c.spaces() == 0 {
			return false
		}
		switch {
		case c.peek() == '[':
			v, ok := c.bracket()
			if !ok || thread != "" {
				return false
			}
			thread = v
		case c.peek() == '-' && (c.i+1 == len(c.s) || c.s[c.i+1] == ' '):
			if !hasLevel || logger == "" {
				return false
			}
			c.i++
			c.byte(' ')
			goto done
		default:
			w := c.word()
			if !hasLevel {
				if s, ok := upperLevel(w); ok {
					sev, hasLevel = s, true
					continue
				}
			}
			if logger != "" {
				return false
			}
			colon := len(w) > 1 && w[len(w)-1] == ':'
			if colon {
				w = w[:len(w)-1]
			}
			if !isJavaName(w) {
				return false
			}
			logger = w
			if colon {
				if !hasLevel || !c.byte(' ') {
					return false
				}
				goto done
			}
		}
	}
	return false
done:
	if thread == "" && len(line) > 12 && line[2] == ':' {
		return false
	}
	mark := len(p.fields)
	if thread != "" {
		p.fields = append(p.fields, p.strField("thread", thread))
	}
	p.fields = append(p.fields, p.strField("logger", logger))
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, c.rest()
	return true
}

// upperLevel accepts the upper-case level words Java layouts print.
func upperLevel(w string) (record.Severity, bool) {
	switch w {
	case "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "SEVERE", "FINE", "FINER", "FINEST", "CONFIG", "CRITICAL", "NOTICE":
		return levelWord(w)
	}
	return 0, false
}

// isJavaName matches a logger name: a (possibly abbreviated) class or
// category name.
func isJavaName(w string) bool {
	if w == "" || !(isAlpha(w[0]) || w[0] == '_' || w[0] == '$') {
		return false
	}
	for i := 1; i < len(w); i++ {
		c := w[i]
		if !(isAlpha(c) || isDigit(c) || c == '.' || c == '_' || c == '$' || c == '-') {
			return false
		}
	}
	return true
}

// nearestDay gives a time of day the date that puts it nearest to now.
func nearestDay(ck clock, loc *time.Location, now time.Time) time.Time {
	y, m, d := now.In(loc).Date()
	ck.year, ck.month, ck.day = y, int(m), d
	t := ck.in(loc)
	switch diff := t.Sub(now); {
	case diff > 12*time.Hour:
		t = t.AddDate(0, 0, -1)
	case diff < -12*time.Hour:
		t = t.AddDate(0, 0, 1)
	}
	return t
}
