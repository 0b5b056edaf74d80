package parsers

import (
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/obsadapter/obsadapter/record"
)

// Meta is stamped on every record the stream emits.
type Meta struct {
	Source, Path, Stream string
	Kubernetes           *record.Kubernetes
}

// Stats are a stream's cumulative counters.
type Stats struct {
	Lines         uint64 // lines fed
	Records       uint64 // records emitted
	ParseFailures uint64 // lines a forced format did not match (emitted as plain)
	Multiline     uint64 // records joined from more than one line
	Truncated     uint64 // records marked truncated
}

// Stream assembles the records of one source stream (a file, stdin, an
// exec's output). It is not safe for concurrent use: one goroutine per
// source drives it.
type Stream struct {
	c          *Compiled
	meta       Meta
	p          parser
	buf        []byte // the record being parsed owns this; room for parser.keep
	scratchBuf []byte // the current line, cleaned
	dec        []byte // docker's decoded log value
	envTimes   minuteCache
	// Made on a substream's first line: most files only ever have one.
	subs      [3]*substream
	out       []record.Record
	last      record.Position // end of the previous line fed
	stats     Stats
	metaBound int // an upper bound of the JSON size of what stamp sets
	// lineGens are the blocks the line being parsed may use (ReuseBlocks).
	lineGens blockGens
}

// substream is the state of one of the streams interleaved in a file: the
// lines without an envelope, or a container's stdout or stderr.
type substream struct {
	name string // the stream name an envelope gave, or ""
	det  detector

	// A partial envelope line waiting for its rest.
	partial      []byte
	partialOn    bool
	partialTrunc bool
	partialTime  time.Time
	partialFrom  record.Position
	partialSince time.Time

	// The record waiting for its continuation lines is slots[cur]; the
	// next line is parsed into the other slot, so records are not copied
	// on their way through. heldFormat is its format's entry. The slots
	// are made on the first line and dropped by Compact when nothing is
	// held: they are most of a substream's size.
	held       bool
	heldFormat *format
	slots      *[2]record.Record
	cur        int
	heldFrom   record.Position
	heldSince  time.Time
	kind       mlKind
	more       []byte // continuation lines, each preceded by '\n'
	raw        int    // the length of the held record's first line
	lines      int
	blanks     int       // blank lines seen since the last continuation
	heldGens   blockGens // the blocks the held record may use
}

// rec is the held record.
func (sub *substream) rec() *record.Record { return &sub.slots[sub.cur] }

// spare is the slot the next record is parsed into.
func (sub *substream) spare() *record.Record {
	if sub.slots == nil {
		sub.slots = new([2]record.Record)
	}
	return &sub.slots[1-sub.cur]
}

// sub returns substream i, made on its first use.
func (s *Stream) sub(i int) *substream {
	if sub := s.subs[i]; sub != nil {
		return sub
	}
	sub := &substream{name: streamNames[i], det: detector{last: -1}}
	s.subs[i] = sub
	return sub
}

// NewStream builds a stream for cfg: Compile then Compiled.NewStream. A
// source with many streams compiles once instead.
func NewStream(cfg Config, meta Meta) (*Stream, error) {
	c, err := Compile(cfg)
	if err != nil {
		return nil, err
	}
	return c.NewStream(meta), nil
}

// NewStream builds a stream sharing c's zone and patterns: one allocation,
// no I/O.
func (c *Compiled) NewStream(meta Meta) *Stream {
	s := &Stream{c: c, meta: meta}
	s.p.loc = c.loc
	s.p.buf = &s.buf
	// The record's own keys, times and level take under 300 bytes.
	s.metaBound = 6*(len(meta.Source)+len(meta.Path)+len("stdout")) + 512
	if k := meta.Kubernetes; k != nil {
		s.metaBound += 6*(len(k.Namespace)+len(k.Pod)+len(k.Container)+len(k.Node)) + 128
	}
	return s
}

// ReuseBlocks makes the stream carve records' text and fields from pool's
// blocks and retire the full-size blocks it fills instead of dropping
// them. The caller collects them with TakeRetired and gives them back with
// pool.Release once no record carved from them is in use any more: records
// handed out view those blocks, so a block released early would rewrite
// them.
func (s *Stream) ReuseBlocks(pool *BlockPool) { s.p.pool = pool }

// TakeRetired moves into b the blocks the stream filled since the last
// call and no longer uses, except those a record it still holds (waiting
// for continuation lines) may use: they come out in a later call.
func (s *Stream) TakeRetired(b *Blocks) {
	if s.p.pool == nil {
		return
	}
	cut := noGens
	for _, sub := range s.subs {
		if sub != nil && sub.held {
			cut = cut.min(sub.heldGens)
		}
	}
	s.p.takeRetired(b, cut)
}

// Feed takes one line without its newline; the caller may reuse line's
// memory afterwards. end is the position just past the line's newline (zero
// without a file), truncated says the framer cut the line. It returns the
// records the line completed; the slice is reused by the next call.
func (s *Stream) Feed(line []byte, end record.Position, truncated bool, now time.Time) []record.Record {
	s.out = s.out[:0]
	s.feed(line, end, truncated, now)
	return s.out
}

// FeedAppend is Feed appending the records to dst, the caller's batch, and
// returning it: a record is then written once, where it is delivered from,
// instead of into the stream's slice and again into the batch.
func (s *Stream) FeedAppend(dst []record.Record, line []byte, end record.Position, truncated bool, now time.Time) []record.Record {
	own := s.out[:0]
	s.out = dst
	s.feed(line, end, truncated, now)
	dst, s.out = s.out, own
	return dst
}

// feed parses a line, appending the records it completes to s.out.
func (s *Stream) feed(line []byte, end record.Position, truncated bool, now time.Time) {
	s.stats.Lines++
	prev := s.last
	s.last = end
	var (
		env envelope
		ok  bool
	)
	if s.c.envelope != envelopeDocker {
		env, ok = parseCRI(line, &s.envTimes)
	}
	if !ok && s.c.envelope != envelopeCRI && len(line) > 0 && line[0] == '{' {
		env, s.dec, ok = parseDocker(line, s.dec)
	}
	if !ok {
		sub := s.sub(streamNone)
		if s.c.envelope != "" {
			// The forced envelope is missing: keep the line as plain text.
			s.stats.ParseFailures++
			s.plainLine(sub, line, truncated, end, prev, now)
			return
		}
		s.inner(sub, line, time.Time{}, truncated, end, prev, now)
		return
	}
	sub := s.sub(env.stream)
	if env.partial {
		if !sub.partialOn {
			sub.partialOn, sub.partialFrom, sub.partialTime = true, prev, env.time
		}
		sub.partialSince = now
		sub.partialTrunc = s.appendBounded(&sub.partial, env.content) || sub.partialTrunc || truncated
		return
	}
	content, from, t := env.content, prev, env.time
	if sub.partialOn {
		sub.partialTrunc = s.appendBounded(&sub.partial, content) || sub.partialTrunc
		content, from, t = sub.partial, sub.partialFrom, sub.partialTime
		truncated = truncated || sub.partialTrunc
	}
	s.inner(sub, content, t, truncated, end, from, now)
	s.resetPartial(sub)
}

func (s *Stream) resetPartial(sub *substream) {
	sub.partial = sub.partial[:0]
	sub.partialOn, sub.partialTrunc = false, false
}

// appendBounded appends b to *dst up to MaxRecordBytes and reports whether
// anything was cut.
func (s *Stream) appendBounded(dst *[]byte, b []byte) bool {
	room := s.c.cfg.MaxRecordBytes - len(*dst)
	if len(b) <= room {
		*dst = append(*dst, b...)
		return false
	}
	if room > 0 {
		*dst = append(*dst, b[:room]...)
	}
	return true
}

// loadLine cleans content into the reused scratch buffer and returns a
// view of it (or of content when it is clean), valid until the next line.
func (s *Stream) loadLine(content []byte) string {
	if isClean(content) {
		// Nothing to clean: view content itself, which stays untouched
		// while the line is handled, and save a copy.
		if n := len(content); n > 0 && content[n-1] == '\r' {
			content = content[:n-1]
		}
		return unsafeString(content)
	}
	s.scratchBuf = appendClean(s.scratchBuf[:0], content)
	if n := len(s.scratchBuf); n > 0 && s.scratchBuf[n-1] == '\r' {
		s.scratchBuf = s.scratchBuf[:n-1]
	}
	return unsafeString(s.scratchBuf)
}

// ownLine copies the line into room that the record will keep, with spare
// room for parser.keep: all of a record's text is in one place. The room is
// never written again once the record is parsed (doneLine), so strings
// viewing it are as immutable as any other. The spare room is the line's
// length again, as what a parser unescapes is shorter than its escaped
// form in the line: every value made fits, no allocation of its own, and
// the line check answers for it (record.SetUncheckedLine). Only what a
// record uses is taken from the block (doneLine).
func (s *Stream) ownLine(line string) string {
	s.lineGens = s.p.inUse()
	n := len(line)
	s.buf = s.p.lineRoom(n, n+16)
	copy(s.buf, line)
	return unsafeString(s.buf)
}

// doneLine ends the record's use of its line's room.
func (s *Stream) doneLine() {
	s.p.commitLine(s.buf)
	s.buf = nil
}

// CheckLines has the stream keep each line on its record, to be checked
// for secrets where the record is redacted (record.SetUncheckedLine), and
// note what its parser cut that the check does not answer for. The
// collector turns it on when a redact processor can use it.
func (s *Stream) CheckLines(on bool) { s.p.checkLines = on }

// textsFrom returns line from where r's texts start, for an ordered
// format's record: from its message or its first field's key, whichever
// starts first in line. The check of a line answers for its parts, and
// this one's parts hold every text of r that line does, so it reads less:
// JSON's and logfmt's time and level keys, a fifth of their bytes. A text
// starts in line only if the parser cut it from there (one it made lies
// after the line's room or elsewhere); it returns line when neither did.
func textsFrom(line string, r *record.Record) string {
	base := uintptr(unsafe.Pointer(unsafe.StringData(line)))
	from := uintptr(unsafe.Pointer(unsafe.StringData(r.Message))) - base // wraps to huge below line
	if len(r.Fields) > 0 {
		from = min(from, uintptr(unsafe.Pointer(unsafe.StringData(r.Fields[0].Key)))-base)
	}
	if from >= uintptr(len(line)) {
		return line
	}
	return line[from:]
}

// onlyParts reports, for the line check, whether a record's texts are only
// its line's parts and its parser's constants: its parser cut every text
// from the line or wrote it in its code (cut: its field names are such),
// made none, and cut no value that starts with a '-' (parser.dash). Where
// s.p.checkLines, inner and plainLine keep the line, the record's own copy
// (no byte of it is written again: doneLine), with
// r.SetUncheckedLine(line, room, s.onlyParts(cut)), which inlines whole.
func (s *Stream) onlyParts(cut bool) bool {
	return cut && !s.p.made && !s.p.dash
}

// inner handles one complete line of a substream: a continuation of the held
// record, or a new record.
func (s *Stream) inner(sub *substream, content []byte, envTime time.Time, truncated bool, end, from record.Position, now time.Time) {
	line := s.loadLine(content)
	if s.c.cfg.Multiline.Mode != MultilineOff && sub.held && s.continuation(sub, line) {
		s.join(sub, line, truncated, end, now)
		return
	}
	if trimSpace(line) == "" {
		if sub.held && (sub.kind == mlGo || sub.kind == mlPyDone) && sub.blanks < 100 {
			sub.blanks++
		}
		return
	}
	line = s.ownLine(line)
	r := sub.spare()
	// The slot held an emitted record: reset what parsing fills; stamp
	// sets the rest.
	clearParsed(r)
	r.Format = ""
	s.p.now = now
	s.p.det = &sub.det
	s.p.made, s.p.dash = false, false
	f := plainFormat
	switch {
	case s.c.regex != nil:
		if !s.p.try(s.c.regex.parse, line, r) {
			s.stats.ParseFailures++
			parsePlain(&s.p, line, r)
		} else {
			f = regexFormat
		}
	case s.c.forced >= 0:
		if s.p.try(formats[s.c.forced].parse, line, r) {
			f = &formats[s.c.forced]
		} else {
			s.stats.ParseFailures++
			parsePlain(&s.p, line, r)
		}
	default:
		f = s.p.detect(&sub.det, line, r)
	}
	r.Format = f.name
	if s.p.checkLines {
		texts := line
		if f.ordered {
			texts = textsFrom(line, r)
		}
		// s.buf is the room: the line, and the texts made after it.
		r.SetUncheckedLine(texts, unsafeString(s.buf), s.onlyParts(!f.named && f != regexFormat))
	}
	s.doneLine()
	if s.c.cfg.AccessLogLevels && r.Severity == 0 && f.access {
		r.Severity = statusSeverity(r)
	}
	if r.Time.IsZero() {
		r.Time = envTime
	}
	r.Truncated = truncated
	s.stamp(r, sub, end, now)
	s.begin(sub, r, f, line, from, now)
}

// plainLine emits a line as plain text (a forced envelope that is missing).
func (s *Stream) plainLine(sub *substream, content []byte, truncated bool, end, from record.Position, now time.Time) {
	line := s.loadLine(content)
	if trimSpace(line) == "" {
		return
	}
	r := sub.spare()
	clearParsed(r)
	line = s.ownLine(line)
	s.p.made, s.p.dash = false, false
	parsePlain(&s.p, line, r)
	if s.p.checkLines {
		r.SetUncheckedLine(line, unsafeString(s.buf), s.onlyParts(true))
	}
	s.doneLine()
	r.Format = "plain"
	r.Truncated = truncated
	s.stamp(r, sub, end, now)
	s.begin(sub, r, plainFormat, line, from, now)
}

func (s *Stream) stamp(r *record.Record, sub *substream, end record.Position, now time.Time) {
	r.ObservedTime = now
	r.Source = s.meta.Source
	r.Path = s.meta.Path
	r.Stream = s.meta.Stream
	if sub.name != "" {
		r.Stream = sub.name
	}
	r.Kubernetes = s.meta.Kubernetes
	r.Pos = end
}

// begin starts a new record of format f: emitted at once without
// multiline, else held for its continuation lines after the previously held
// record is emitted.
func (s *Stream) begin(sub *substream, r *record.Record, f *format, line string, from record.Position, now time.Time) {
	if sub.held {
		s.emit(sub)
	}
	if s.c.cfg.Multiline.Mode == MultilineOff {
		s.bound(r, len(line))
		s.push(r)
		return
	}
	sub.held, sub.cur, sub.heldFrom, sub.heldSince = true, 1-sub.cur, from, now
	sub.heldFormat = f
	sub.heldGens = s.lineGens
	sub.kind = startKind(line)
	if f.errorStack != mlNone && r.Severity >= record.SeverityError {
		sub.kind = f.errorStack
	}
	sub.more = sub.more[:0]
	sub.raw = len(line)
	sub.lines, sub.blanks = 1, 0
}

// continuation decides whether line continues the held record.
func (s *Stream) continuation(sub *substream, line string) bool {
	if s.c.start != nil {
		return !s.c.start.MatchString(line)
	}
	settled := sub.det.last >= 0 && &formats[sub.det.last] == sub.heldFormat && sub.det.run >= stickyAfter
	return continues(&sub.kind, sub.rec(), sub.heldFormat, line, settled)
}

// join appends a continuation line to the held record, within
// MaxRecordBytes.
func (s *Stream) join(sub *substream, line string, truncated bool, end record.Position, now time.Time) {
	for ; sub.blanks > 0; sub.blanks-- {
		s.appendMore(sub, "")
	}
	s.appendMore(sub, line)
	sub.lines++
	sub.heldSince = now
	held := sub.rec()
	held.Pos = end
	held.Truncated = held.Truncated || truncated
}

func (s *Stream) appendMore(sub *substream, line string) {
	held := sub.rec()
	room := s.c.cfg.MaxRecordBytes - len(held.Message) - len(sub.more) - 1
	if room < 0 {
		held.Truncated = true
		return
	}
	if len(line) > room {
		line = line[:utf8Cut(line, room)]
		held.Truncated = true
	}
	sub.more = append(sub.more, '\n')
	sub.more = append(sub.more, line...)
}

// utf8Cut is the largest prefix length ≤ n that does not split a rune.
func utf8Cut(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// emit finishes the held record and appends it to the output.
func (s *Stream) emit(sub *substream) {
	r := s.push(sub.rec())
	if sub.lines > 1 {
		r.DropCleanLine() // the message is joined from lines
		first := r.Message
		r.Message = first + string(sub.more)
		if first == "" {
			// The message is under its header: .NET's console logger,
			// Oracle's time-only lines.
			r.Message = string(sub.more[1:])
			if sub.heldFormat.bodyBelow {
				r.Message = dedent(r.Message)
			}
		}
		if exc := exceptionType(sub.kind, first, r.Message[len(first):]); exc != "" {
			if _, ok := r.Lookup("exception"); !ok {
				fs := make([]record.Field, len(r.Fields), len(r.Fields)+1)
				copy(fs, r.Fields)
				r.Fields = append(fs, record.Field{Key: "exception", Value: record.ObjectValue([]record.Field{{Key: "type", Value: record.StringValue(exc)}})})
			}
			if r.Severity == 0 {
				r.Severity = record.SeverityError
				if exc == "panic" || exc == "fatal error" {
					r.Severity = record.SeverityFatal
				}
			}
		}
		s.stats.Multiline++
	}
	s.bound(r, sub.raw+len(sub.more))
	if r.Truncated {
		s.stats.Truncated++
	}
	sub.held = false
	sub.more = sub.more[:0]
	sub.kind, sub.lines, sub.blanks = mlNone, 0, 0
}

// slack is what an encoded record may exceed its text's bound by.
const slack = 4 << 10

// maxExpansion bounds how many bytes of JSON one byte of a line becomes:
// a control character is escaped in six (\u0000), and a byte is in at most
// two strings (clf's request line is the message and, split, fields);
// numbers such as 1e20 spell out in at most six bytes per byte. Records
// whose line is short enough by this bound are not measured.
const maxExpansion = 16

// bound cuts a record whose JSON form would exceed the larger of
// MaxRecordBytes and its text's length (raw, which the framer bounds at
// max_line_bytes) by more than slack: escaping can make a line of control
// characters six times longer. The record is marked truncated, and counted
// as such by the caller. Only records whose text is long enough that the
// expansion could matter are measured.
func (s *Stream) bound(r *record.Record, raw int) {
	limit := max(s.c.cfg.MaxRecordBytes, raw) + slack
	if s.metaBound+maxExpansion*raw <= limit {
		return
	}
	if r.FitJSON(limit) {
		r.DropCleanLine()
	}
}

// push appends a copy of r to the output and returns it for finishing
// touches; records are large, so they are copied once, in place.
func (s *Stream) push(r *record.Record) *record.Record {
	s.stats.Records++
	s.out = append(s.out, *r)
	out := &s.out[len(s.out)-1]
	if s.c.cfg.Multiline.Mode == MultilineOff && out.Truncated {
		s.stats.Truncated++
	}
	return out
}

// Flush emits the records and partial lines whose timeout has expired.
func (s *Stream) Flush(now time.Time) []record.Record {
	s.out = s.out[:0]
	s.flush(now, false)
	return s.out
}

// FlushAll emits everything held, at EOF or shutdown.
func (s *Stream) FlushAll(now time.Time) []record.Record {
	s.out = s.out[:0]
	s.flush(now, true)
	return s.out
}

func (s *Stream) flush(now time.Time, all bool) {
	timeout := s.c.cfg.MultilineTimeout
	for _, sub := range s.subs {
		if sub != nil && sub.partialOn && (all || !now.Before(sub.partialSince.Add(timeout))) {
			// A fragment whose rest never came is a line of its own. Its end
			// is the last line fed: fragments are consecutive lines.
			s.inner(sub, sub.partial, sub.partialTime, sub.partialTrunc, s.last, sub.partialFrom, now)
			s.resetPartial(sub)
		}
	}
	// Emit in file order, so the records of interleaved streams come out
	// as they were written.
	for {
		var next *substream
		for _, sub := range s.subs {
			if sub != nil && sub.held && (all || !now.Before(sub.heldSince.Add(timeout))) &&
				(next == nil || sub.heldFrom.Offset < next.heldFrom.Offset) {
				next = sub
			}
		}
		if next == nil {
			return
		}
		s.emit(next)
	}
}

// Deadline is when the earliest held record or partial line times out;
// false when nothing is held.
func (s *Stream) Deadline() (time.Time, bool) {
	var d time.Time
	found := false
	timeout := s.c.cfg.MultilineTimeout
	for _, sub := range s.subs {
		if sub == nil {
			continue
		}
		for _, on := range [2]struct {
			held  bool
			since time.Time
		}{{sub.partialOn, sub.partialSince}, {sub.held, sub.heldSince}} {
			if on.held && (!found || on.since.Add(timeout).Before(d)) {
				d, found = on.since.Add(timeout), true
			}
		}
	}
	return d, found
}

// Resume is the position from which re-reading reproduces everything the
// stream holds: the end of the line before the first held line. A checkpoint
// must not pass it. False when nothing is held.
func (s *Stream) Resume() (record.Position, bool) {
	var p record.Position
	found := false
	for _, sub := range s.subs {
		if sub == nil {
			continue
		}
		if sub.partialOn && (!found || sub.partialFrom.Offset < p.Offset) {
			p, found = sub.partialFrom, true
		}
		if sub.held && (!found || sub.heldFrom.Offset < p.Offset) {
			p, found = sub.heldFrom, true
		}
	}
	return p, found
}

// Layouts returns the header layout learned for each substream that has one.
func (s *Stream) Layouts() []LayoutInfo {
	var out []LayoutInfo
	for _, sub := range s.subs {
		if sub == nil {
			continue
		}
		if in, ok := sub.det.learn.info(); ok {
			in.Stream = sub.name
			out = append(out, in)
		}
	}
	return out
}

// Path is the path the stream's records carry.
func (s *Stream) Path() string { return s.meta.Path }

// Stats returns the stream's counters.
func (s *Stream) Stats() Stats { return s.stats }

// Compact drops what the stream keeps only to go fast: scratch buffers, the
// output slice, its current text and field blocks (records handed out keep
// theirs: a block is never written again where it was handed out). What is
// left is the stream's state: the sticky format, learned layouts, a held
// record or partial line, the counters. The tailer calls it on a file idle
// at its end, so that thousands of idle files cost a little state each. It
// is safe at any time; the next line makes what it needs again, starting
// with small blocks.
func (s *Stream) Compact() {
	s.out, s.scratchBuf, s.dec = nil, nil, nil
	s.p.fields, s.p.vals = nil, nil
	// Blocks dropped here, retired or not, are never given back to the
	// pool: the GC frees them once no record uses them.
	s.p.slabs = slabs{pool: s.p.pool, gen: s.p.gen}
	for _, sub := range s.subs {
		if sub != nil {
			sub.compact()
		}
	}
}

func (sub *substream) compact() {
	if !sub.partialOn {
		sub.partial = nil
	}
	if !sub.held {
		sub.slots, sub.more = nil, nil
		return
	}
	// The spare slot is a copy of a record already emitted.
	*sub.spare() = record.Record{}
	if len(sub.more) == 0 {
		sub.more = nil
	}
}
