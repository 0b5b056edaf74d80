package parsers

import (
	"math/bits"
	"strings"

	"github.com/obsadapter/obsadapter/record"
)

// logfmt lines (slog's TextHandler, logrus's text formatter, go-kit/log,
// Heroku): every token is key=value, values quoted when they hold spaces.
// Values stay strings; the level, message and time keys fill the record.

var logfmtKeyBytes = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = isAlpha(b) || isDigit(b) || b == '_' || b == '.' || b == '-' || b == '@' || b == '/' || b == '[' || b == ']'
	}
	return t
}()

// logfmtValueStops are the bytes that end (space) or spoil (quote, tab) an
// unquoted value.
var logfmtValueStops = [256]bool{' ': true, '"': true, '\t': true}

func logfmtKeyByte(c byte) bool { return logfmtKeyBytes[c] }

func parseLogfmt(p *parser, line string, r *record.Record) bool {
	// The first key must end in '=' within the first token: the anchor that
	// rejects prose before any work.
	k := 0
	for k < len(line) && logfmtKeyByte(line[k]) {
		k++
	}
	if k == 0 || k >= len(line) || line[k] != '=' {
		return false
	}
	// Every pair has an '=': their count bounds the fields, so they are
	// built in place, in room carved once.
	fs, ok := logfmtPairs(p, line, p.newFields(strings.Count(line, "="))[:0], r)
	if !ok {
		return false
	}
	if len(fs) > 0 {
		r.Fields = fs[:len(fs):len(fs)]
	}
	return true
}

// logfmtPairs appends the key=value pairs of s to fs; false when a token is
// not a pair. With roles set, the first level, message and time keys that
// hold a valid value fill it instead of becoming fields.
func logfmtPairs(p *parser, s string, fs []record.Field, roles *record.Record) ([]record.Field, bool) {
	i := 0
	pairs := 0
	var hasLevel, hasMsg, hasTime bool
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return fs, pairs > 0
		}
		ks := i
		for i < len(s) && logfmtKeyByte(s[i]) {
			i++
		}
		if i == ks || i >= len(s) || s[i] != '=' {
			return fs, false
		}
		key := s[ks:i]
		i++
		var val string
		if i < len(s) && s[i] == '"' {
			j := quoteEnd(s, i+1)
			if j < 0 {
				return fs, false
			}
			val = s[i+1 : j]
			if strings.IndexByte(val, '\\') >= 0 {
				var tmp [256]byte
				dec, ok := unescapeJSON(tmp[:0], val)
				if !ok {
					return fs, false
				}
				val = p.keep(dec)
			}
			i = j + 1
			if i < len(s) && s[i] != ' ' && s[i] != '\t' {
				return fs, false
			}
		} else {
			// One pass to the value's end; a quote or tab inside an
			// unquoted value means the line is not logfmt.
			vs := i
			i = valueStop(s, i)
			if i < len(s) && s[i] != ' ' {
				return fs, false
			}
			val = s[vs:i]
		}
		pairs++
		// Once every role is filled, the rest are plain fields.
		if roles != nil && !(hasLevel && hasMsg && hasTime) {
			switch logfmtRole(key) {
			case roleLevel:
				if !hasLevel {
					if sev, ok := levelString(val); ok {
						roles.Severity, hasLevel = sev, true
						continue
					}
				}
			case roleMessage:
				if !hasMsg {
					roles.Message, hasMsg = val, true
					continue
				}
			case roleTime:
				if !hasTime {
					if t, ok := p.anyTime(val); ok {
						roles.Time, hasTime = t, true
						continue
					}
				}
			}
		}
		p.noteDash(val)
		fs = append(fs, record.Field{Key: key, Value: record.StringValue(val)})
	}
}

// valueStop is the index of the first logfmtValueStops byte in s at or
// after i, or len(s). Words of eight bytes with no byte below '!' and no
// quote are skipped at once; the byte loop decides the rest.
func valueStop(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if m := hasLess(w, '!') | hasZero(w^('"'*swarOnes)); m != 0 {
			i += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for i < len(s) && !logfmtValueStops[s[i]] {
		i++
	}
	return i
}

// quoteEnd is the index of the closing quote of a string whose content
// starts at s[i:], skipping backslash escapes; -1 if there is none.
func quoteEnd(s string, i int) int {
	for {
		k := strings.IndexByte(s[i:], '"')
		if k < 0 {
			return -1
		}
		j := i + k
		// The quote is escaped when an odd number of backslashes precede it.
		bs := 0
		for b := j - 1; b >= i && s[b] == '\\'; b-- {
			bs++
		}
		if bs%2 == 0 {
			return j
		}
		i = j + 1
	}
}

func logfmtRole(k string) jsonRole {
	// Every role key starts with one of these bytes: most keys are turned
	// away before the string switch.
	if k == "" {
		return roleNone
	}
	switch k[0] {
	case 'l', 's', 'm', 't', '@', 'L', 'M', 'T':
	default:
		return roleNone
	}
	switch k {
	case "level", "lvl", "severity", "loglevel", "log.level", "LEVEL", "Level":
		return roleLevel
	case "msg", "message", "MSG", "Message":
		return roleMessage
	case "ts", "time", "t", "timestamp", "@timestamp", "Time":
		return roleTime
	}
	return roleNone
}
