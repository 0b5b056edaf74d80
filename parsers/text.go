package parsers

import (
	"bytes"
	"math/bits"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/obsadapter/obsadapter/record"
)

// appendClean appends line to dst with ANSI escape sequences removed and
// invalid UTF-8 replaced by U+FFFD, so every parser sees clean text. The
// common case (neither present) never gets here: Stream.loadLine checks
// isClean first and uses the line as it is.
func appendClean(dst, line []byte) []byte {
	for i := 0; i < len(line); {
		c := line[i]
		if c == 0x1b {
			i += ansiLen(line[i:])
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size == 1 {
			// One replacement per run of invalid bytes, as strings.ToValidUTF8.
			if !bytes.HasSuffix(dst, []byte("\uFFFD")) {
				dst = append(dst, "\uFFFD"...)
			}
			i++
			continue
		}
		dst = append(dst, line[i:i+size]...)
		i += size
	}
	return dst
}

// isClean reports whether line holds neither an escape character nor
// invalid UTF-8: then it needs no cleaning. (Two vectorized passes measured
// faster than one hand-written eight-bytes-at-a-time pass.)
func isClean(line []byte) bool {
	return bytes.IndexByte(line, 0x1b) < 0 && utf8.Valid(line)
}

// ansiLen is the length of the escape sequence at the start of b: CSI
// (ESC [ params final), OSC (ESC ] … BEL or ESC \) or a two-byte escape. A
// lone ESC at the end is dropped.
func ansiLen(b []byte) int {
	if len(b) < 2 {
		return len(b)
	}
	switch b[1] {
	case '[':
		for i := 2; i < len(b); i++ {
			if b[i] >= 0x40 && b[i] <= 0x7e {
				return i + 1
			}
		}
		return len(b)
	case ']':
		for i := 2; i < len(b); i++ {
			if b[i] == 0x07 {
				return i + 1
			}
			if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
				return i + 2
			}
		}
		return len(b)
	}
	return 2
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && (isSpace(s[i]) || s[i] == '\r') {
		i++
	}
	for j > i && (isSpace(s[j-1]) || s[j-1] == '\r') {
		j--
	}
	return s[i:j]
}

func trimLeft(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}

// atoi parses an unsigned decimal of exactly len(s) digits that fits an
// int64.
func atoi(s string) (int, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int(d)
	}
	// Only 19 digits can pass math.MaxInt64; digit strings of one length
	// compare as their numbers do.
	if len(s) == 19 && s > "9223372036854775807" {
		return 0, false
	}
	return n, true
}

// digits is the number of leading ASCII digits of s.
func digits(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// cut splits s at the first sep.
func cut(s string, sep byte) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// cursor walks a line left to right; the header parsers are written with it.
type cursor struct {
	s string
	i int
}

func (c *cursor) rest() string { return c.s[c.i:] }

func (c *cursor) eof() bool { return c.i >= len(c.s) }

func (c *cursor) peek() byte {
	if c.i < len(c.s) {
		return c.s[c.i]
	}
	return 0
}

// lit consumes x if the line continues with it.
func (c *cursor) lit(x string) bool {
	if len(c.s)-c.i >= len(x) && c.s[c.i:c.i+len(x)] == x {
		c.i += len(x)
		return true
	}
	return false
}

func (c *cursor) byte(b byte) bool {
	if c.i < len(c.s) && c.s[c.i] == b {
		c.i++
		return true
	}
	return false
}

// spaces skips blanks and returns how many.
func (c *cursor) spaces() int {
	n := 0
	for c.i < len(c.s) && c.s[c.i] == ' ' {
		c.i++
		n++
	}
	return n
}

// until returns the text up to b and consumes b; false if b is absent.
func (c *cursor) until(b byte) (string, bool) {
	k := strings.IndexByte(c.s[c.i:], b)
	if k < 0 {
		return "", false
	}
	v := c.s[c.i : c.i+k]
	c.i += k + 1
	return v, true
}

// word returns the text up to the next space (or the end).
func (c *cursor) word() string {
	j := c.i
	for j < len(c.s) && c.s[j] != ' ' {
		j++
	}
	v := c.s[c.i:j]
	c.i = j
	return v
}

// int reads an unsigned decimal number.
func (c *cursor) int() (int, bool) {
	d := digits(c.s[c.i:])
	if d == 0 || d > 18 {
		return 0, false
	}
	n, _ := atoi(c.s[c.i : c.i+d])
	c.i += d
	return n, true
}

// bracketField appends an optional "[word]" at the cursor as the field key,
// and skips the spaces after it; anything else is left unread.
func (p *parser) bracketField(c *cursor, key string) {
	if c.peek() != '[' {
		return
	}
	save := c.i
	if v, ok := c.bracket(); ok && indexByte(v, ' ') < 0 {
		p.fields = append(p.fields, p.strField(key, v))
		c.spaces()
		return
	}
	c.i = save
}

// bracketedTime reads the "[ISO time]" that opens the lines of
// Elasticsearch and Envoy, returning a cursor after it.
func (p *parser) bracketedTime(line string) (cursor, time.Time, bool) {
	if len(line) < 30 || line[0] != '[' {
		return cursor{}, time.Time{}, false
	}
	c := cursor{s: line}
	ts, ok := c.bracket()
	if !ok {
		return c, time.Time{}, false
	}
	t, n, ok := p.isoTime(ts)
	return c, t, ok && n == len(ts)
}

// bracket reads "[text]".
func (c *cursor) bracket() (string, bool) {
	if !c.byte('[') {
		return "", false
	}
	return c.until(']')
}

// quoted reads a double-quoted string with backslash escapes left as they
// are (access logs escape with \x22, which stays readable).
func (c *cursor) quoted() (string, bool) {
	if !c.byte('"') {
		return "", false
	}
	j := quoteEnd(c.s, c.i)
	if j < 0 {
		return "", false
	}
	v := c.s[c.i:j]
	c.i = j + 1
	return v, true
}

// strField makes a text field of v, cut from the line, noting a leading
// '-' (parser.dash).
func (p *parser) strField(k, v string) record.Field {
	p.noteDash(v)
	return record.Field{Key: k, Value: record.StringValue(v)}
}

// noteDash notes v's leading '-', when the stream checks lines: a stream
// that does not pays a test of a flag for it.
func (p *parser) noteDash(v string) {
	if p.checkLines && v != "" && v[0] == '-' {
		p.dash = true
	}
}

func intField(k string, v int) record.Field {
	return record.Field{Key: k, Value: record.IntValue(int64(v))}
}

// intOrString keeps a numeric token as an integer and anything else as text.
func (p *parser) intOrString(k, v string) record.Field {
	if n, ok := atoi(v); ok {
		return intField(k, n)
	}
	return p.strField(k, v)
}

// Eight bytes at a time: a zero byte in x sets the high bit of its byte in
// hasZero(x); bytes above the first zero may be flagged falsely, so only the
// lowest flag is trusted.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

func hasZero(x uint64) uint64 { return (x - swarOnes) &^ x & swarHighs }

// hasLess flags the bytes of x below n (n <= 128), with hasZero's caveat.
func hasLess(x uint64, n byte) uint64 { return (x - swarOnes*uint64(n)) &^ x & swarHighs }

// load64 reads the eight bytes at s[i:], which must exist.
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// quoteOrBackslash is the index of the first '"' or '\\' in s at or after
// i, or len(s): the end of a JSON string's plain run.
func quoteOrBackslash(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := load64(s, i)
		if m := hasZero(w^('"'*swarOnes)) | hasZero(w^('\\'*swarOnes)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			return i
		}
	}
	return i
}
