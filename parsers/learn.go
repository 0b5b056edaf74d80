package parsers

import (
	"slices"
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// The header learner reads the lines no named format claims. From a line it
// works out the layout of the header: where the timestamp is and how it is
// written, where the level word is, which tokens are a logger, a pid, a
// thread, a host. It keeps that layout per stream and applies it to the
// following lines at fixed cost, and learns again when lines stop fitting.
// It knows token classes (time shapes, level words, numbers, identifiers,
// brackets, separators), never products.

type slotKind uint8

const (
	slotTime     slotKind = iota + 1 // the timestamp the record takes
	slotSkipTime                     // another timestamp the header carries
	slotLevel                        // a level word, maybe bracketed or followed by ':'
	slotLetter                       // a one-letter level (I W E F D V)
	slotNumber                       // a number: pid, then thread
	slotHex                          // a hexadecimal id: a thread
	slotBracket                      // a [...], (...) or <...> group
	slotName                         // an identifier: logger, host, file
	slotSep                          // a separator: - | : -- ,
	slotOpen                         // a bracket whose inside is header
	slotClose                        // its end
)

// slot is one token of a learned header.
type slot struct {
	field string // the field the token lands in, or ""
	lit   string // a separator's text; a bracket's opening byte
	kind  slotKind
	colon bool // the token ends with ':' (names); a level's decoration is stripped
	glued bool // no blank between this token and the next
}

const maxSlots = 24 // ten tokens, each with a glued separator, and a bracket's two ends

// layout is a learned header layout. analyze builds one in room for
// maxSlots slots; the learner keeps a copy with just the slots it needs.
type layout struct {
	slots   []slot
	shape   uint64    // the timestamp's skeleton
	allowed dateOrder // date orders the stream's lines still allow
	order   dateOrder // the order in use
	desc    string    // the timestamp's layout in words
	zoned   bool      // the timestamp states its zone
	level   bool      // the layout has a level
}

// lastIs reports whether the layout's last slot is of one of the kinds.
func (l *layout) lastIs(kinds ...slotKind) bool {
	if len(l.slots) == 0 {
		return false
	}
	for _, k := range kinds {
		if l.slots[len(l.slots)-1].kind == k {
			return true
		}
	}
	return false
}

func (l *layout) add(s slot) bool {
	n := len(l.slots)
	if n == cap(l.slots) {
		return false
	}
	if s.field != "" {
		// One field per name: a second thread-like token is context,
		// anything further is left in the header unrecorded.
		for k := range l.slots {
			if l.slots[k].field == s.field {
				s.field = "context"
				if s.field == l.slots[k].field {
					s.field = ""
				}
				break
			}
		}
		if s.field == "context" {
			for k := range l.slots {
				if l.slots[k].field == "context" {
					s.field = ""
				}
			}
		}
	}
	// Within the room parseLearned gave: a reslice, not an append, keeps
	// the room on its stack.
	l.slots = l.slots[:n+1]
	l.slots[n] = s
	return true
}

// same reports whether two layouts read the same header.
func (l *layout) same(o *layout) bool {
	return l.shape == o.shape && slices.Equal(l.slots, o.slots)
}

// set makes l a copy of o with slots of its own, o's being scratch, whose
// text does not view o's line: the layout outlives the line, which must not
// keep its block alive.
func (l *layout) set(o *layout) {
	l.slots = append(l.slots[:0], o.slots...)
	for k := range l.slots {
		l.slots[k].lit = constLit(l.slots[k].lit)
	}
	// Field by field, desc by value: escape analysis does not tell o's
	// fields apart, and storing any pointer of o's would move its room to
	// the heap.
	l.shape, l.allowed, l.order, l.zoned, l.level = o.shape, o.allowed, o.order, o.zoned, o.level
	if l.desc != o.desc {
		l.desc = strings.Clone(o.desc)
	}
}

// lits are the texts of separator and bracket slots.
var lits = [...]string{"-", "|", ":", "--", "::", "||", "-->", "—", "»", ">", "=>", ",", "[", "(", "<", "]", ")"}

// constLit is lit as a constant, or a copy of it.
func constLit(lit string) string {
	for _, c := range lits {
		if c == lit {
			return c
		}
	}
	return strings.Clone(lit)
}

// levelled notes whether the layout has a level: a layout without one
// re-reads a line whose message opens with a bracketed level word
// ("… log [WRN] : …"), which only some lines of a stream carry.
func (l *layout) levelled() {
	for k := range l.slots {
		if l.slots[k].kind == slotLevel || l.slots[k].kind == slotLetter {
			l.level = true
		}
	}
}

// learner is one substream's learning state, made when its first layout
// is learned.
type learner struct {
	cur      layout
	cand     *layout // the layout of the latest lines that did not fit cur
	candRuns int
	lines    uint64 // lines the learner read
	fits     uint64 // of those, lines the current layout fitted
}

// relearnAfter is how many lines in a row must share a new layout before it
// replaces the stream's.
const relearnAfter = 2

// LayoutInfo describes a stream's learned header layout.
type LayoutInfo struct {
	Stream string  `json:"stream,omitempty"` // stdout or stderr inside an envelope
	Layout string  `json:"layout"`
	Lines  uint64  `json:"lines"`
	Fit    float64 `json:"fit"` // share of the learner's lines the layout fitted
}

func (l *learner) info() (LayoutInfo, bool) {
	if l == nil {
		return LayoutInfo{}, false
	}
	in := LayoutInfo{Layout: l.cur.String(), Lines: l.lines}
	if l.lines > 0 {
		in.Fit = float64(l.fits) / float64(l.lines)
	}
	return in, true
}

func parseLearned(p *parser, line string, r *record.Record) bool {
	if len(line) < 6 || isSpace(line[0]) {
		return false
	}
	l := p.det.learn
	if l != nil {
		mark := len(p.fields)
		if l.cur.apply(p, line, r) && (l.cur.level || !decoratedLevelAhead(r.Message, 0)) {
			l.lines++
			l.fits++
			return true
		}
		p.popFields(mark)
		clearParsed(r)
	}
	var room [maxSlots]slot
	nl := layout{slots: room[:0]}
	if !analyze(p, line, &nl) {
		return false
	}
	mark := len(p.fields)
	if !nl.apply(p, line, r) {
		p.popFields(mark)
		clearParsed(r)
		return false
	}
	if l == nil {
		l = &learner{lines: 1, fits: 1}
		l.cur.set(&nl)
		p.det.learn = l
		return true
	}
	l.lines++
	switch {
	case l.cand != nil && nl.same(l.cand):
		l.candRuns++
		if l.candRuns >= relearnAfter {
			l.cur.set(&nl)
			l.cand, l.candRuns = nil, 0
		}
	default:
		if l.cand == nil {
			l.cand = new(layout)
		}
		l.cand.set(&nl)
		l.candRuns = 1
	}
	return true
}

// token returns the token at c: up to a blank, or up to end when the token
// is inside a bracket that closes with it.
func token(s string, i int, end byte) string {
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' && (end == 0 || s[j] != end) {
		j++
	}
	return s[i:j]
}

func skipBlanks(s string, i int) (int, int) {
	n := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
		n++
	}
	return i, n
}

// undecorate strips the brackets and punctuation a level word may wear.
func undecorate(tok string) (core string, bracketed bool) {
	core = tok
	if len(core) > 2 && (core[0] == '[' || core[0] == '(' || core[0] == '<') {
		closer := map[byte]byte{'[': ']', '(': ')', '<': '>'}[core[0]]
		k := strings.IndexByte(core, closer)
		if k < 0 {
			return tok, false
		}
		core, bracketed = core[1:k], true
		if rest := tok[k+1:]; rest != "" && rest != ":" && rest != "," {
			return tok, false
		}
	}
	for len(core) > 0 && (core[len(core)-1] == ':' || core[len(core)-1] == ',' || core[len(core)-1] == '|') {
		core = core[:len(core)-1]
	}
	return core, bracketed
}

// learnedLevel is a level word as a header states it. Some words are
// levels only where the layout puts a level (slot): Apple's unified-log
// types and winston's "http".
func learnedLevel(core string, slot bool) (record.Severity, bool) {
	if sev, ok := levelWord(core); ok {
		return sev, true
	}
	if slot {
		switch core {
		case "Default":
			return sevInfo, true
		case "Fault":
			return sevFatal, true
		case "http":
			return sevDebug, true
		}
	}
	return 0, false
}

// letterLevel reads a one-letter level token: "I", "I,", "I/".
func letterLevel(tok string) (record.Severity, bool) {
	if len(tok) == 0 || len(tok) > 2 || (len(tok) == 2 && tok[1] != ',' && tok[1] != ':') {
		return 0, false
	}
	switch tok[0] {
	case 'I', 'W', 'E', 'F', 'D', 'V', 'N', 'C':
		return levelLetter(tok[0])
	}
	return 0, false
}

func isHexID(tok string) bool {
	if strings.HasPrefix(tok, "0x") && len(tok) > 2 {
		tok = tok[2:]
	} else if len(tok) < 8 {
		return false
	}
	digit := false
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case isDigit(c):
			digit = true
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return digit || len(tok) < 8
}

func isSepToken(tok string) bool {
	switch tok {
	case "-", "|", ":", "--", "::", "||", "-->", "—", "»", ">", "=>":
		return true
	}
	return false
}

// nameLike reports an identifier: a logger, component or host name, written
// with the punctuation of code (dots, '::', '$', '/', '_', '#', '@', '=', a
// ':' suffix or an inner capital) or in capitals.
func nameLike(tok string) bool {
	if len(tok) == 0 || len(tok) > 120 || strings.HasPrefix(tok, "0x") {
		return false
	}
	code, lower := false, false
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			if lower {
				code = true // camelCase
			}
		case isDigit(c):
			if i > 0 && isAlpha(tok[i-1]) {
				code = true // kid1, worker3
			}
		case c == '.' || c == '_' || c == '$' || c == '/' || c == '#' || c == '@' || c == '=' || c == ':' || c == '-':
			if i > 0 {
				code = true
			}
		case c == '[' || c == ']' || c == '(' || c == ')' || c == '<' || c == '>' || c == '|':
		default:
			return false
		}
	}
	return code || !lower
}

// bracketEnd returns the index after the bracket group opening at s[i],
// nested groups included; -1 when it does not close within 256 bytes.
func bracketEnd(s string, i int) int {
	open := s[i]
	var closer byte
	switch open {
	case '[':
		closer = ']'
	case '(':
		closer = ')'
	case '<':
		closer = '>'
	case '{':
		closer = '}'
	default:
		return -1
	}
	depth := 0
	for j := i; j < len(s) && j-i < 256; j++ {
		switch s[j] {
		case open:
			depth++
		case closer:
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

func closerOf(b byte) byte {
	switch b {
	case '[':
		return ']'
	case '(':
		return ')'
	}
	return '>'
}

// analyze learns the layout of line's header. It needs a timestamp within
// the first tokens; the header ends at the first token that reads as
// message text.
func analyze(p *parser, line string, l *layout) bool {
	var st stamp
	i := 0
	inside := byte(0) // the closing byte of a bracket whose inside is header
	haveTime, haveLevel := false, false
	timeSlot := -1
	names, brackets, numbers := 0, 0, 0
	fieldName := func() string {
		names++
		if !haveTime {
			return "host"
		}
		if names == 1 || !haveLevel {
			return "logger"
		}
		return "component"
	}
	for tok := 0; tok < 10; tok++ {
		j, blanks := skipBlanks(line, i)
		if tok > 0 && blanks == 0 && (len(l.slots) == 0 || !l.slots[len(l.slots)-1].glued) && !(inside != 0 && j < len(line) && line[j] == inside) {
			break
		}
		i = j
		if i >= len(line) {
			break
		}
		rest := line[i:]
		if inside != 0 && rest[0] == inside {
			l.add(slot{kind: slotClose, lit: string(inside)})
			i++
			inside = 0
			continue
		}
		// A timestamp, bare or opening a bracket.
		if n, ok := scanDescribed(rest, &st); ok {
			if !l.takeStamp(p, &st, haveTime, &timeSlot) {
				return false
			}
			haveTime = true
			i += n
			i = l.gluedSep(line, i)
			continue
		}
		if !haveTime && inside == 0 && (rest[0] == '[' || rest[0] == '(') && len(rest) > 6 {
			if n, ok := scanDescribed(rest[1:], &st); ok {
				l.add(slot{kind: slotOpen, lit: rest[:1], glued: true})
				inside = closerOf(rest[0])
				if !l.takeStamp(p, &st, false, &timeSlot) {
					return false
				}
				haveTime = true
				i += 1 + n
				i = l.gluedSep(line, i)
				continue
			}
		}
		t := token(line, i, inside)
		if !haveTime && tok == 0 && inside == 0 {
			// A file or node name glued to the time: "app.log:2026-12-03 …".
			if k := strings.IndexByte(t, ':'); k > 0 && k+1 < len(t) && isDigit(t[k+1]) {
				if n, ok := scanDescribed(line[i+k+1:], &st); ok {
					field := "host"
					if strings.IndexByte(t[:k], '/') >= 0 || strings.IndexByte(t[:k], '.') >= 0 {
						field = "file"
					}
					l.add(slot{kind: slotName, field: field, colon: true, glued: true})
					if !l.takeStamp(p, &st, false, &timeSlot) {
						return false
					}
					haveTime = true
					i += k + 1 + n
					i = l.gluedSep(line, i)
					continue
				}
			}
		}
		core, bracketed := undecorate(t)
		after, gap := skipBlanks(line, i+len(t))
		nextIsTime := false
		if after < len(line) {
			var st2 stamp
			_, nextIsTime = scanStamp(line[after:], &st2)
		}
		if !haveLevel {
			if _, ok := learnedLevel(core, gap >= 2 && (core == "Default" || core == "Fault")); ok && (haveTime || nextIsTime || bracketed || tok == 0) {
				l.add(slot{kind: slotLevel})
				haveLevel = true
				i += len(t)
				if haveTime && t[len(t)-1] == ':' {
					break
				}
				continue
			}
			if _, ok := letterLevel(t); ok && (haveTime || nextIsTime) && (gap >= 2 || nextIsTime || after >= len(line) || !lowerWord(token(line, after, 0)) || followedBySep(line, skipTo(line, after+len(token(line, after, 0))))) {
				l.add(slot{kind: slotLetter})
				haveLevel = true
				i += len(t)
				continue
			}
		}
		both := haveTime && haveLevel
		switch {
		case isSepToken(t):
			l.add(slot{kind: slotSep, lit: t})
		case digits(t) == len(t) || (len(t) > 1 && t[0] == '#' && digits(t[1:]) == len(t)-1):
			if both {
				return l.finish(haveTime, inside)
			}
			numbers++
			f := "pid"
			if numbers > 1 {
				f = "thread"
			}
			l.add(slot{kind: slotNumber, field: f})
		case isHexID(t) && !both:
			f := "thread"
			if numbers > 0 || brackets > 0 {
				f = ""
			}
			numbers++
			l.add(slot{kind: slotHex, field: f})
		case (t[0] == '[' || t[0] == '(' || t[0] == '<') && bracketEnd(line, i) > 0:
			end := bracketEnd(line, i)
			// After level and time, a bracket is header right after the
			// level or a logger, or before a separator ("[main] - msg").
			if both && brackets > 0 && !l.lastIs(slotName, slotLevel, slotLetter) && !followedBySep(line, skipTo(line, end)) {
				return l.finish(haveTime, inside)
			}
			brackets++
			f := "thread"
			if brackets > 1 {
				f = "context"
			}
			inner := line[i+1 : end-1]
			if digits(inner) == len(inner) && len(inner) > 0 {
				f = "pid"
			}
			l.add(slot{kind: slotBracket, field: f, lit: line[i : i+1]})
			i = end
			if end < len(line) && (line[end] == ':' || line[end] == ',') {
				l.slots[len(l.slots)-1].glued = true
				l.add(slot{kind: slotSep, lit: line[end : end+1]})
				i++
			}
			continue
		case t[len(t)-1] == ':' && len(t) > 1 && nameLikeOrWord(t[:len(t)-1]) && haveTime:
			l.add(slot{kind: slotName, field: fieldName(), colon: true})
			i += len(t)
			// A level may follow the program name ("imap-login: Info: …").
			if !haveLevel {
				if _, ok := learnedLevel(undecorateWord(token(line, after, 0)), false); ok {
					continue
				}
			}
			return l.finish(haveTime, inside)
		case nameLike(t) && (!both || gap >= 2 || followedBySep(line, after) || dotted(t) || bracketAt(line, after)):
			if both && names > 0 && !followedBySep(line, after) && gap < 2 {
				return l.finish(haveTime, inside)
			}
			if !haveLevel && haveTime && gap < 2 && !followedBySep(line, after) && !levelAhead(line, after) {
				// Without a level, a bare word after the time is message
				// text ("… 10.0.0.5 TCP_MISS/200 …") unless a column or a
				// level follows.
				return l.finish(haveTime, inside)
			}
			l.add(slot{kind: slotName, field: fieldName()})
		case !haveLevel && haveTime && decoratedLevelAhead(line, after):
			// "mon.a (mon.0) 1234 : cluster [INF] …": words before a
			// bracketed level are header.
			l.add(slot{kind: slotName, field: "context"})
		case haveTime && !haveLevel && plainWord(t) && strongLevelAhead(line, after):
			// "host app: ERROR …": words before a level in capitals or
			// brackets are header; before "error" in lower case they are
			// the message ("Server error occurred").
			l.add(slot{kind: slotName, field: fieldName()})
		case gap >= 2 && haveTime && !both && plainWord(t):
			l.add(slot{kind: slotName, field: fieldName()})
		case gap >= 2 && both && names == 0 && plainWord(t) && len(t) <= 24:
			// A padded column after the level: a component ("CBS    …").
			l.add(slot{kind: slotName, field: fieldName()})
		default:
			return l.finish(haveTime, inside)
		}
		i += len(t)
	}
	return l.finish(haveTime, inside)
}

func undecorateWord(t string) string {
	c, _ := undecorate(t)
	return c
}

// nameLikeOrWord accepts a program or logger name before ':'.
func nameLikeOrWord(t string) bool { return nameLike(t) || plainWord(t) }

// plainWord is a word of letters (and inner hyphens): message text unless
// the layout says otherwise.
func plainWord(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isAlpha(c) && !(c == '-' && i > 0) && !(c == '\'' && i > 0) {
			return false
		}
	}
	return true
}

// lowerWord is a plain word starting in lower case: message text.
func lowerWord(t string) bool { return plainWord(t) && t[0] >= 'a' && t[0] <= 'z' }

func dotted(t string) bool {
	return len(t) > 2 && isAlpha(t[0]) && t[len(t)-1] != '.' && (strings.Count(t, ".") >= 2 || strings.Contains(t, "::") || strings.Contains(t, "$"))
}

// followedBySep reports a separator token at line[i:]: "- msg", ": msg".
func followedBySep(line string, i int) bool {
	return isSepToken(token(line, i, 0))
}

func skipTo(line string, i int) int {
	i, _ = skipBlanks(line, i)
	return i
}

// bracketAt reports a bracket group at line[i:]: "logger [context] msg".
func bracketAt(line string, i int) bool {
	return i < len(line) && (line[i] == '[' || line[i] == '(') && bracketEnd(line, i) > 0
}

// strongLevelAhead reports a level word in capitals, bracketed or followed
// by ':' within the next three tokens.
func strongLevelAhead(line string, i int) bool {
	for k := 0; k < 3 && i < len(line); k++ {
		t := token(line, i, 0)
		core, bracketed := undecorate(t)
		if _, ok := levelWord(core); ok && (bracketed || t[len(t)-1] == ':' || upper(core)) {
			return true
		}
		i = skipTo(line, i+len(t))
	}
	return false
}

func upper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return s != ""
}

// levelAhead reports a level word (bare or bracketed) or a level letter in
// the next five tokens.
func levelAhead(line string, i int) bool {
	for k := 0; k < 5 && i < len(line); k++ {
		t := token(line, i, 0)
		if _, ok := levelWord(undecorateWord(t)); ok {
			return true
		}
		if _, ok := letterLevel(t); ok {
			return true
		}
		i = skipTo(line, i+len(t))
	}
	return false
}

// decoratedLevelAhead reports a bracketed level word within the next three
// tokens.
func decoratedLevelAhead(line string, i int) bool {
	for k := 0; k < 3 && i < len(line); k++ {
		t := token(line, i, 0)
		if len(t) > 2 && (t[0] == '[' || t[0] == '<') {
			if core, b := undecorate(t); b {
				if _, ok := levelWord(core); ok {
					return true
				}
			}
		}
		i, _ = skipBlanks(line, i+len(t))
	}
	return false
}

// takeStamp adds the timestamp's slot. When the header has two, the one with
// a zone (or an epoch) wins over a wall time without one.
func (l *layout) takeStamp(p *parser, st *stamp, haveTime bool, timeSlot *int) bool {
	if haveTime {
		prev := &l.slots[*timeSlot]
		if st.zoned && !l.zoned {
			prev.kind = slotSkipTime
		} else {
			return l.add(slot{kind: slotSkipTime})
		}
	}
	l.shape = st.shape
	l.zoned = st.zoned
	if st.orders != 0 {
		l.allowed = st.validOrders()
		l.order = st.chooseOrder(l.allowed, p.loc, p.now)
		if l.order == 0 {
			return false
		}
	}
	l.desc = st.describe(l.order)
	*timeSlot = len(l.slots)
	return l.add(slot{kind: slotTime})
}

// gluedSep takes a ',' or ':' written right after a timestamp.
func (l *layout) gluedSep(line string, i int) int {
	if i < len(line) && (line[i] == ',' || line[i] == ':' || line[i] == '|') && (i+1 == len(line) || line[i+1] == ' ') {
		l.slots[len(l.slots)-1].glued = true
		l.add(slot{kind: slotSep, lit: line[i : i+1]})
		return i + 1
	}
	return i
}

func (l *layout) finish(haveTime bool, inside byte) bool {
	if !haveTime || inside != 0 || len(l.slots) == 0 {
		return false
	}
	l.levelled()
	// A separator that ends the header is part of it: "… - message".
	return true
}

// apply reads line with the layout into r; false when the line does not
// fit.
func (l *layout) apply(p *parser, line string, r *record.Record) bool {
	mark := len(p.fields)
	i := 0
	inside := byte(0)
	var st stamp
	var t time.Time
	var sev record.Severity
	slots := l.slots // held in a register: stores to p.fields might alias l
	for k := range slots {
		s := &slots[k]
		if k > 0 && !slots[k-1].glued && s.kind != slotClose {
			j, n := skipBlanks(line, i)
			if n == 0 {
				return false
			}
			i = j
		} else if s.kind == slotClose {
			i, _ = skipBlanks(line, i)
		}
		if i >= len(line) {
			return false
		}
		switch s.kind {
		case slotTime, slotSkipTime:
			n, ok := scanStamp(line[i:], &st)
			if !ok || (s.kind == slotTime && st.shape != l.shape) {
				return false
			}
			if s.kind == slotTime {
				if st.orders != 0 {
					if v := st.validOrders(); v&l.order == 0 {
						l.allowed &= v
						if l.order = st.chooseOrder(l.allowed, p.loc, p.now); l.order == 0 {
							return false
						}
					}
				}
				if t, ok = st.instant(l.order, p.loc, p.now); !ok {
					return false
				}
			}
			i += n
		case slotLevel:
			tok := token(line, i, inside)
			core, _ := undecorate(tok)
			v, ok := learnedLevel(core, true)
			if !ok {
				return false
			}
			sev = v
			i += len(tok)
		case slotLetter:
			tok := token(line, i, inside)
			v, ok := letterLevel(tok)
			if !ok {
				return false
			}
			sev = v
			i += len(tok)
		case slotNumber:
			tok := token(line, i, inside)
			num := tok
			if len(num) > 1 && num[0] == '#' {
				num = num[1:]
			}
			if num == "" || digits(num) != len(num) {
				return false
			}
			if s.field != "" {
				p.fields = append(p.fields, p.intOrString(s.field, num))
			}
			i += len(tok)
		case slotHex:
			tok := token(line, i, inside)
			if !isHexID(tok) {
				return false
			}
			if s.field != "" {
				p.fields = append(p.fields, p.strField(s.field, tok))
			}
			i += len(tok)
		case slotBracket:
			if line[i] != s.lit[0] {
				return false
			}
			end := bracketEnd(line, i)
			if end < 0 {
				return false
			}
			if v := trimSpace(line[i+1 : end-1]); v != "" && s.field != "" {
				if s.field == "pid" {
					p.fields = append(p.fields, p.intOrString(s.field, v))
				} else {
					p.fields = append(p.fields, p.strField(s.field, v))
				}
			}
			i = end
		case slotName:
			tok := token(line, i, inside)
			if s.glued && s.colon {
				// A name glued to the time by ':'.
				k := strings.IndexByte(tok, ':')
				if k <= 0 {
					return false
				}
				tok = tok[:k+1]
			}
			if tok == "" {
				return false
			}
			name := tok
			if s.colon {
				if name[len(name)-1] != ':' || len(name) == 1 {
					return false
				}
				name = name[:len(name)-1]
			} else if isSepToken(tok) {
				return false
			}
			if s.field != "" {
				p.fields = append(p.fields, p.strField(s.field, name))
			}
			i += len(tok)
		case slotSep:
			if !strings.HasPrefix(line[i:], s.lit) {
				return false
			}
			i += len(s.lit)
		case slotOpen:
			if line[i] != s.lit[0] {
				return false
			}
			inside = closerOf(s.lit[0])
			i++
		case slotClose:
			if line[i] != s.lit[0] {
				return false
			}
			inside = 0
			i++
		}
	}
	// The separator between header and message: "- ", "| ", ": ".
	j, _ := skipBlanks(line, i)
	if j < len(line) {
		if t := token(line, j, 0); isSepToken(t) && j+len(t) < len(line) && line[j+len(t)] == ' ' {
			j += len(t)
		}
	}
	j, _ = skipBlanks(line, j)
	r.Time, r.Severity, r.Message = t, sev, line[j:]
	r.Fields = p.takeFields(mark)
	return true
}

// String is the layout in words: "time:yy/MM/dd HH:mm:ss level logger: message".
func (l *layout) String() string {
	var b strings.Builder
	for k := range l.slots {
		s := &l.slots[k]
		switch s.kind {
		case slotTime:
			b.WriteString("time:" + l.desc)
		case slotSkipTime:
			b.WriteString("(time)")
		case slotLevel:
			b.WriteString("level")
		case slotLetter:
			b.WriteString("level:letter")
		case slotNumber, slotHex:
			if s.field == "" {
				b.WriteString("(id)")
			} else {
				b.WriteString(s.field)
			}
		case slotBracket:
			b.WriteString(s.lit + s.field + string(closerOf(s.lit[0])))
		case slotName:
			f := s.field
			if f == "" {
				f = "(name)"
			}
			b.WriteString(f)
			if s.colon {
				b.WriteByte(':')
			}
		case slotSep, slotOpen, slotClose:
			b.WriteString(s.lit)
		}
		if !s.glued && k+1 < len(l.slots) && l.slots[k+1].kind != slotClose {
			b.WriteByte(' ')
		}
	}
	b.WriteString(" message")
	return b.String()
}
