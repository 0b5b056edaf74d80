package parsers

import (
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// A format turns one line into a record. parse reports whether the line is
// in the format. It fills only r's Time, Severity, Message and Fields; on
// false it may have written to them, and the caller resets them
// (clearParsed).
// r may keep substrings of line: the stream gives each record's line its own
// buffer.
type format struct {
	name string
	// starts lists the bytes a line of the format can begin with; empty means
	// any. It is the first, cheapest anchor of detection.
	starts string
	parse  func(p *parser, line string, r *record.Record) bool
	// loose formats match almost anything, so they are never made sticky:
	// a more specific format must get its chance on every line.
	loose bool

	// What the stream asks of a format instead of testing its name:
	// server formats are written by servers and the system, not by an
	// application's logger, so an exception or traceback printed after
	// their lines is not theirs;
	server bool
	// access logs take a level from their status with access_log_levels;
	access bool
	// errorStack is the multiline kind an error-level record starts: zap
	// appends an unindented Go stack;
	errorStack mlKind
	// bodyBelow formats put the message under the header, indented (.NET's
	// console logger), so a record's text is its continuation lines;
	bodyBelow bool
	// headerless lines (no timestamp, no level) continue the previous
	// record once the format has held the stream for a few records: a
	// learned layout's multi-line messages.
	headerless bool
	// named: the format's field names are not all cut from the line or
	// written in its parser's code (a learned layout's come from earlier
	// lines), so its records are never LineOnly.
	named bool
	// ordered: a record's texts lie in its line in its fields' order, each
	// value after its key, the message anywhere among them, so that none
	// starts before the message or the first field's key does: what comes
	// before (the time, the level) the line check need not read
	// (textsFrom).
	ordered bool
}

// formats is the detection order: specific formats first, then the generic
// "timestamp and/or level" rule, then plain text, which matches everything.
var formats = []format{
	{name: "json", starts: "{", parse: parseJSON, ordered: true},
	{name: "logfmt", starts: letters + "_@", parse: parseLogfmt, ordered: true},
	{name: "klog", starts: "IWEF", parse: parseKlog, server: true},
	{name: "rails", starts: "DIWEFA", parse: parseRails},
	{name: "dotnet", starts: "tdiwfc", parse: parseDotnet, bodyBelow: true},
	{name: "clf", starts: numbers + "abcdefABCDEF:", parse: parseCLF, server: true, access: true},
	{name: "spring", starts: numbers, parse: parseSpring},
	{name: "java", starts: numbers, parse: parseJava},
	{name: "python", starts: numbers + "DIWECNF[", parse: parsePython},
	{name: "zap", starts: numbers, parse: parseZap, errorStack: mlGo},
	{name: "postgres", starts: numbers, parse: parsePostgres, server: true},
	{name: "mysql", starts: numbers, parse: parseMySQL, server: true},
	{name: "redis", starts: numbers, parse: parseRedis, server: true},
	{name: "nginx_error", starts: numbers, parse: parseNginxError, server: true},
	{name: "golog", starts: numbers, parse: parseGoLog, server: true},
	{name: "syslog", starts: "<" + numbers + "JFMASOND", parse: parseSyslog, server: true},
	{name: "kafka", starts: "[", parse: parseKafka, server: true},
	{name: "elasticsearch", starts: "[", parse: parseElasticsearch, server: true},
	{name: "envoy", starts: "[", parse: parseEnvoy, server: true, access: true},
	{name: "apache_error", starts: "[", parse: parseApacheError, server: true},
	{name: "coredns", starts: "[", parse: parseCoreDNS, server: true},
	{name: "learned", parse: parseLearned, headerless: true, named: true},
	{name: "generic", parse: parseGeneric, loose: true},
	{name: "plain", parse: parsePlain, loose: true},
}

const (
	letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	numbers = "0123456789"
)

// byFirst lists, for every first byte, the formats that may match a line
// starting with it, in detection order.
var byFirst = func() (t [256][]uint8) {
	for b := 0; b < 256; b++ {
		for i, f := range formats {
			if f.starts == "" || containsByte(f.starts, byte(b)) {
				t[b] = append(t[b], uint8(i))
			}
		}
	}
	return t
}()

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

func formatIndex(name string) int {
	for i, f := range formats {
		if f.name == name {
			return i
		}
	}
	return -1
}

// stickyAfter is how many lines in a row a format must match before it is
// tried first on the stream's next lines.
const stickyAfter = 3

// detector is the per-stream detection state.
type detector struct {
	last  int      // format of the previous line, -1 before the first
	run   int      // lines in a row the last format matched
	learn *learner // nil until a layout is learned
}

// parser is the per-stream scratch that format functions share.
type parser struct {
	loc       *time.Location
	now       time.Time
	fields    []record.Field // scratch stack for building field slices
	vals      []record.Value // scratch stack for building JSON arrays
	buf       *[]byte        // the line being parsed, then room for keep
	minute    minuteCache    // ISO times
	clfMinute minuteCache    // access-log times
	det       *detector      // the substream's, whose learner parseLearned makes
	// made says the record holds a text the parser made that lies outside
	// its line's room (zap's joined message, a value keep had no room
	// for), or a key it unescaped (keepKey): the line check answers for
	// the room, the line and the values made after it, and for the keys
	// cut from the line only.
	made bool
	// dash says a text value the parser cut starts with a '-': a part a
	// line check does not answer for (secrets.InCleanLine), which redact
	// must look at itself. Parsers note it as they make each value, where
	// it costs a byte's test, rather than redact walking every record's
	// fields for it. A format that rejects the line after noting one
	// leaves it set: the record is then looked at, which is only slower.
	dash       bool
	checkLines bool // Stream.CheckLines
	slabs
}

// keep returns b as a string, copied into the spare room after the line in
// the record's own buffer, so decoded values cost no allocation of their own.
// Without room it allocates.
func (p *parser) keep(b []byte) string {
	buf := *p.buf
	if len(b) == 0 {
		return ""
	}
	if cap(buf)-len(buf) < len(b) {
		p.made = true
		return string(b)
	}
	start := len(buf)
	buf = append(buf, b...)
	*p.buf = buf
	return unsafeString(buf[start:])
}

// keepKey is keep for a key. Where lines are checked it lies outside the
// room: the check's names would answer for it there as for a part of the
// line, which a key unescaped from "pass\u0077ord" is not.
func (p *parser) keepKey(b []byte) string {
	if !p.checkLines || len(b) == 0 {
		return p.keep(b)
	}
	p.made = true
	return string(b)
}

// takeFields copies the scratch fields from mark on into a new slice and
// pops them.
func (p *parser) takeFields(mark int) []record.Field {
	n := len(p.fields) - mark
	if n == 0 {
		return nil
	}
	out := p.newFields(n)
	copy(out, p.fields[mark:])
	p.popFields(mark)
	return out
}

// popFields drops the scratch fields from mark on, clearing them: the
// scratch stack lives as long as the stream, and a stale field would keep
// a whole block of records' text alive.
func (p *parser) popFields(mark int) {
	clear(p.fields[mark:])
	p.fields = p.fields[:mark]
}

// try runs a format's parser on line; when it rejects the line, what it may
// have filled in is undone: the record's parsed part and any fields it left
// on the scratch stack.
func (p *parser) try(parse func(*parser, string, *record.Record) bool, line string, r *record.Record) bool {
	mark := len(p.fields)
	if parse(p, line, r) {
		return true
	}
	clearParsed(r)
	p.popFields(mark)
	return false
}

// clearParsed undoes what a format that rejected the line may have filled
// in. Detection tries several formats on most lines, and zeroing the whole
// record each time (with GC write barriers for its pointers) cost more than
// some of the parsers.
func clearParsed(r *record.Record) {
	r.Time, r.Severity, r.Message, r.Fields = time.Time{}, 0, "", nil
	r.DropCleanLine()
}

// dropVals pops the scratch array items from mark on, clearing them so
// they do not keep old lines alive.
func (p *parser) dropVals(mark int) {
	clear(p.vals[mark:])
	p.vals = p.vals[:mark]
}

// detect parses line with the stream's format: the sticky one first, then
// every format whose anchor fits, ending with plain text. It returns the
// format that matched.
func (p *parser) detect(d *detector, line string, r *record.Record) *format {
	if d.last >= 0 && d.run >= stickyAfter && !formats[d.last].loose {
		if p.try(formats[d.last].parse, line, r) {
			r.Format = formats[d.last].name
			d.run++
			return &formats[d.last]
		}
	}
	var first byte
	if len(line) > 0 {
		first = line[0]
	}
	for _, i := range byFirst[first] {
		f := &formats[i]
		if !p.try(f.parse, line, r) {
			continue
		}
		r.Format = f.name
		if int(i) == d.last {
			d.run++
		} else {
			d.last, d.run = int(i), 1
		}
		return f
	}
	// Unreachable while plain matches everything; kept total for safety.
	parsePlain(p, line, r)
	r.Format = "plain"
	return plainFormat
}

// plainFormat is the entry of plain text, and regexFormat the behaviour of
// records of format: regex (an application's own layout).
var (
	plainFormat = &formats[formatIndex("plain")]
	regexFormat = &format{name: "regex"}
)
