package parsers

import (
	"time"
)

// Container runtimes wrap each line the application wrote. The CRI format
// (containerd, CRI-O; kubelet's /var/log/pods) is
//
//	2026-11-23T20:31:02.123456789Z stdout F the line
//
// with P instead of F for a fragment of a line longer than the runtime's
// buffer. Docker's json-file driver writes
//
//	{"log":"the line\n","stream":"stdout","time":"2026-11-23T20:31:02.123456789Z"}
//
// where a log value without the trailing newline is a fragment.

const (
	envelopeCRI    = "cri"
	envelopeDocker = "docker"
)

// envelope is one unwrapped container line.
type envelope struct {
	time    time.Time
	stream  int // streamStdout or streamStderr
	partial bool
	content []byte // the inner bytes; for docker decoded into scratch
}

// Indexes of Stream.subs: lines without an envelope, then the two streams.
const (
	streamNone = iota
	streamStdout
	streamStderr
)

var streamNames = [...]string{"", "stdout", "stderr"}

// parseCRI unwraps a CRI line; times keeps the minute of the runtime's
// timestamps between lines.
func parseCRI(line []byte, times *minuteCache) (envelope, bool) {
	var e envelope
	// Runtimes write RFC 3339 times: most other lines fail here.
	if len(line) < 30 || !isDigit(line[0]) || line[4] != '-' || line[10] != 'T' {
		return e, false
	}
	sp := 0
	for sp < len(line) && sp < 40 && line[sp] != ' ' {
		sp++
	}
	if sp >= len(line) || line[sp] != ' ' {
		return e, false
	}
	t, n, ok := times.isoTime(unsafeString(line[:sp]), time.UTC)
	if !ok || n != sp {
		return e, false
	}
	rest := line[sp+1:]
	switch {
	case len(rest) >= 8 && string(rest[:7]) == "stdout ":
		e.stream = streamStdout
	case len(rest) >= 8 && string(rest[:7]) == "stderr ":
		e.stream = streamStderr
	default:
		return e, false
	}
	rest = rest[7:]
	switch rest[0] {
	case 'F':
	case 'P':
		e.partial = true
	default:
		return e, false
	}
	// Tags may grow colon-separated fields (e.g. "F:x"); the line follows the
	// next space. An empty line may come without it.
	i := 1
	for i < len(rest) && rest[i] != ' ' {
		if rest[i] != ':' && !isAlpha(rest[i]) {
			return e, false
		}
		i++
	}
	if i < len(rest) {
		i++
	}
	e.time = t
	e.content = rest[i:]
	return e, true
}

// parseDocker unwraps a docker json-file line, decoding the log value into
// dst (reused scratch).
func parseDocker(line []byte, dst []byte) (envelope, []byte, bool) {
	var e envelope
	const prefix = `{"log":"`
	if len(line) < len(prefix) || string(line[:len(prefix)]) != prefix {
		return e, dst, false
	}
	j := jsonScanner{s: unsafeString(line), i: 1}
	gotLog := false
	for {
		j.ws()
		key, ok := j.rawStr()
		if !ok {
			return e, dst, false
		}
		j.ws()
		if j.i >= len(j.s) || j.s[j.i] != ':' {
			return e, dst, false
		}
		j.i++
		j.ws()
		switch key {
		case "log", "stream", "time":
			raw, ok := j.rawStr()
			if !ok {
				return e, dst, false
			}
			switch key {
			case "log":
				dec, ok := unescapeJSON(dst[:0], raw)
				if !ok {
					return e, dst, false
				}
				dst = dec
				gotLog = true
			case "stream":
				switch raw {
				case "stdout":
					e.stream = streamStdout
				case "stderr":
					e.stream = streamStderr
				}
			case "time":
				if t, n, ok := isoTime(raw, time.UTC); ok && n == len(raw) {
					e.time = t
				}
			}
		default:
			if !j.skip(0) {
				return e, dst, false
			}
		}
		j.ws()
		if j.i >= len(j.s) {
			return e, dst, false
		}
		if j.s[j.i] == ',' {
			j.i++
			continue
		}
		if j.s[j.i] != '}' {
			return e, dst, false
		}
		j.i++
		j.ws()
		// Docker always writes the stream; an application's own JSON that
		// merely starts with a "log" key is not an envelope.
		if j.i != len(j.s) || !gotLog || e.stream == streamNone {
			return e, dst, false
		}
		break
	}
	if n := len(dst); n > 0 && dst[n-1] == '\n' {
		dst = dst[:n-1]
		if n := len(dst); n > 0 && dst[n-1] == '\r' {
			dst = dst[:n-1]
		}
	} else {
		e.partial = true
	}
	e.content = dst
	return e, dst, true
}

// rawStr returns the undecoded inside of the JSON string at j.i.
func (j *jsonScanner) rawStr() (string, bool) {
	if j.i >= len(j.s) || j.s[j.i] != '"' {
		return "", false
	}
	start := j.i + 1
	for i := start; i < len(j.s); i++ {
		switch c := j.s[i]; {
		case c == '"':
			j.i = i + 1
			return j.s[start:i], true
		case c == '\\':
			i++
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// skip passes over the JSON value at j.i without building it.
func (j *jsonScanner) skip(depth int) bool {
	if depth > maxJSONDepth || j.i >= len(j.s) {
		return false
	}
	switch c := j.s[j.i]; {
	case c == '"':
		_, ok := j.rawStr()
		return ok
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		j.i++
		j.ws()
		if j.i < len(j.s) && j.s[j.i] == closing {
			j.i++
			return true
		}
		for {
			j.ws()
			if c == '{' {
				if _, ok := j.rawStr(); !ok {
					return false
				}
				j.ws()
				if j.i >= len(j.s) || j.s[j.i] != ':' {
					return false
				}
				j.i++
				j.ws()
			}
			if !j.skip(depth + 1) {
				return false
			}
			j.ws()
			if j.i >= len(j.s) {
				return false
			}
			if j.s[j.i] == ',' {
				j.i++
				continue
			}
			if j.s[j.i] != closing {
				return false
			}
			j.i++
			return true
		}
	case c == '-' || isDigit(c):
		_, ok := j.number()
		return ok
	case c == 't':
		return j.lit("true")
	case c == 'f':
		return j.lit("false")
	case c == 'n':
		return j.lit("null")
	}
	return false
}
