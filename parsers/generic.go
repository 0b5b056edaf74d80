package parsers

import (
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// The long tail: any line that opens with a timestamp and/or a level word,
// however decorated, after every specific format had its turn:
//
//	2026-11-23 20:31:02 [WARN] disk almost full
//	[2026-11-23 20:31:02 +0000] [1] [INFO] Starting gunicorn 23.0.0
//	Nov 23 20:31:02 ERROR: cannot bind
//	20:31:02.123 INFO worker started
//	ERROR: could not connect to server
//	INFO:     Uvicorn running on http://0.0.0.0:8000
//	11-23 20:31:02.123  1234  5678 I ActivityManager: Start proc   (Android logcat, threadtime)
//	D/ActivityManager( 1234): Start proc                             (Android logcat, brief)
//
// Up to three bracketed or numeric tokens between time and level (pid,
// thread) are kept in the field "context".

func parseGeneric(p *parser, line string, r *record.Record) bool {
	if len(line) > 7 && (line[:7] == "panic: " || line[:7] == "fatal e") {
		// Go's panic and fatal error headers, which multiline joins.
		return false
	}
	if sev, ok := logcatBrief(p, line, r); ok {
		r.Severity = sev
		return true
	}
	c := cursor{s: line}
	t, hasTime := leadingTime(&c, p.loc, p.now)
	if hasTime {
		if c.spaces() == 0 && !c.eof() {
			if !c.lit(" - ") && !c.byte(':') && !c.byte('|') {
				return false
			}
			c.spaces()
		}
		if c.lit("- ") || c.lit("| ") {
			c.spaces()
		}
	}
	ctxStart, ctxEnd := c.i, c.i
	var sev record.Severity
	hasLevel := false
	for tok := 0; tok < 4 && !c.eof(); tok++ {
		if s, rest, ok := leadingLevel(c.rest(), hasTime); ok {
			sev, hasLevel = s, true
			c.i = len(c.s) - len(rest)
			break
		}
		// Logcat threadtime: "1234  5678 I Tag: message".
		if hasTime && tok > 0 && len(c.rest()) > 3 && c.rest()[1] == ' ' {
			if s, ok := levelLetter(c.peek()); ok && ctxEnd > ctxStart {
				sev, hasLevel = s, true
				c.i += 2
				break
			}
		}
		if !hasTime {
			break
		}
		save := c.i
		switch {
		case c.peek() == '[':
			if _, ok := c.bracket(); !ok {
				c.i = save
				tok = 4
				continue
			}
		case isDigit(c.peek()):
			if _, ok := c.int(); !ok || (!c.eof() && c.peek() != ' ') {
				c.i = save
				tok = 4
				continue
			}
		default:
			tok = 4
			continue
		}
		ctxEnd = c.i
		c.spaces()
	}
	if !hasTime && !hasLevel {
		return false
	}
	if !hasLevel {
		c.i = ctxStart
		ctxEnd = ctxStart
	}
	mark := len(p.fields)
	if ctxEnd > ctxStart {
		p.fields = append(p.fields, p.strField("context", trimSpace(line[ctxStart:ctxEnd])))
	}
	msg := c.rest()
	if hasLevel && len(msg) > 0 && isAlpha(msg[0]) {
		// Logcat's "Tag: message" after a level letter.
		if tag, rest, ok := cutTag(msg); ok && ctxEnd > ctxStart {
			p.fields = append(p.fields, p.strField("logger", tag))
			msg = rest
		}
	}
	r.Fields = p.takeFields(mark)
	r.Time, r.Severity, r.Message = t, sev, msg
	return true
}

// cutTag splits "Tag: message" where Tag is one token.
func cutTag(s string) (string, string, bool) {
	for i := 0; i < len(s) && i < 64; i++ {
		switch s[i] {
		case ':':
			if i > 0 && (i+1 == len(s) || s[i+1] == ' ') {
				return s[:i], trimLeft(s[i+1:]), true
			}
			return "", s, false
		case ' ':
			return "", s, false
		}
	}
	return "", s, false
}

// logcatBrief reads "D/Tag( 1234): message".
func logcatBrief(p *parser, line string, r *record.Record) (record.Severity, bool) {
	if len(line) < 6 || line[1] != '/' {
		return 0, false
	}
	sev, ok := levelLetter(line[0])
	if !ok {
		return 0, false
	}
	open := indexByte(line, '(')
	if open < 3 {
		return 0, false
	}
	c := cursor{s: line, i: open + 1}
	c.spaces()
	pid, ok := c.int()
	if !ok || !c.lit("):") {
		return 0, false
	}
	c.byte(' ')
	mark := len(p.fields)
	p.fields = append(p.fields, p.strField("logger", trimSpace(line[2:open])), intField("pid", pid))
	r.Fields = p.takeFields(mark)
	r.Message = c.rest()
	return sev, true
}

// leadingTime reads a timestamp at the cursor in any layout the long tail
// uses, bracketed or not.
func leadingTime(c *cursor, loc *time.Location, now time.Time) (time.Time, bool) {
	s := c.rest()
	if len(s) > 0 && s[0] == '[' {
		end := indexByte(s, ']')
		if end < 9 {
			return time.Time{}, false
		}
		inner := s[1:end]
		if t, n, ok := looseLeadingTime(inner, loc, now); ok && n == len(inner) {
			c.i += end + 1
			return t, true
		}
		return time.Time{}, false
	}
	t, n, ok := looseLeadingTime(s, loc, now)
	if ok {
		c.i += n
	}
	return t, ok
}

// looseLeadingTime parses a time at the start of s and returns its length:
// ISO 8601 (a zone may follow after a space), syslog and logcat stamps,
// ctime, access-log time, or a bare time of day.
func looseLeadingTime(s string, loc *time.Location, now time.Time) (time.Time, int, bool) {
	if len(s) < 8 {
		return time.Time{}, 0, false
	}
	if isDigit(s[0]) {
		if t, n, ok := isoTime(s, loc); ok {
			if n+1 < len(s) && s[n] == ' ' {
				if off, end, ok := zoneOffset(s, n+1); ok && s[n+1] != 'Z' && (end == len(s) || s[end] == ' ' || s[end] == ']') {
					fixZone(&t, s[:n], off, loc)
					return t, end, true
				}
				if len(s) >= n+4 && (s[n+1:n+4] == "UTC" || s[n+1:n+4] == "GMT") && (n+4 == len(s) || s[n+4] == ' ' || s[n+4] == ']') {
					fixZone(&t, s[:n], 0, loc)
					return t, n + 4, true
				}
			}
			return t, n, true
		}
		if len(s) >= 18 && s[2] == '-' && s[5] == ' ' {
			// logcat "11-23 20:31:02.123"
			var ck clock
			var ok1, ok2 bool
			ck.month, ok1 = num(s, 0, 2)
			ck.day, ok2 = num(s, 3, 2)
			if i, ok := hms(s, 6, &ck); ok1 && ok2 && ok && ck.valid() {
				return ck.inferYear(loc, now), i, true
			}
		}
		if s[2] == ':' {
			var ck clock
			if i, ok := hms(s, 0, &ck); ok && ck.timeValid() {
				return nearestDay(ck, loc, now), i, true
			}
		}
		if len(s) >= 26 && s[2] == '/' {
			if t, ok := clfTime(s[:26]); ok {
				return t, 26, true
			}
		}
		return time.Time{}, 0, false
	}
	if t, n, ok := stampTime(s, loc, now); ok {
		return t, n, true
	}
	if len(s) >= 24 && s[3] == ' ' {
		for _, n := range [2]int{24, 31} {
			if len(s) >= n {
				if t, ok := ctimeTime(s[:n], loc); ok {
					return t, n, true
				}
			}
		}
	}
	return time.Time{}, 0, false
}

// fixZone re-reads the zone-less ISO time head at a fixed offset.
func fixZone(t *time.Time, head string, off int, loc *time.Location) {
	if tt, _, ok := isoTime(head, time.UTC); ok {
		*t = tt.Add(-time.Duration(off) * time.Second)
	}
}
