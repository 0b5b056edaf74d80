// Package record defines the unified log record that every source produces and
// every exporter consumes. It is the leaf of the import graph: stdlib only.
//
// A Record is a small value type. Once a record is handed to the pipeline it is
// never mutated, so exporters may share it without copying (as log/slog does).
package record

import (
	"math"
	"time"
	"unsafe"
)

// Record is one unified log event: time, level, message and fields, plus where
// it came from. Its JSON form (AppendJSON) is the contract of DESIGN.md §3 and
// is also the map sent to Fluentd.
type Record struct {
	// What a processor reads of every record leads, within 56 bytes:
	// a batch's records lie some 200 bytes apart, and a redact step after
	// a filter then reads one or two cache lines of each rather than
	// three or four.
	Message  string
	Fields   []Field
	Severity Severity // OpenTelemetry SeverityNumber; 0 when the line states no level
	// Truncated: cut at max_line_bytes or the multiline size bound.
	Truncated bool
	// cleanNames and lineOnly qualify the clean line (SetCleanLine), and
	// lineUnchecked says it waits for CheckedLine.
	cleanNames, lineOnly, lineUnchecked bool
	// cleanOff and cleanLen place the record's clean line around its
	// message (SetCleanLine): numbers, not a pointer, which the GC would
	// follow in every record. Not part of the JSON form.
	cleanOff, cleanLen uint32

	Time         time.Time // event time found in the line; zero when the line has none
	ObservedTime time.Time // when the line was read; always set
	Format       string    // detected or configured format name
	Source       string    // configured source name
	Path         string    // file path, for file and pod sources
	Stream       string    // "stdout" or "stderr" where known
	Kubernetes   *Kubernetes

	// Pos is where the record ends in its file; it is not part of the JSON form.
	// The pipeline uses it to advance checkpoints once the record is safe.
	Pos Position
}

// Kubernetes is the pod metadata attached to records, named as Fluentd's
// kubernetes metadata filter names it. Sources share one value per source.
type Kubernetes struct {
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	Node      string `json:"node,omitempty"`
}

// SetCleanLine records that line, the one the record was parsed from and
// which holds its message, was checked for secrets and found to hold none
// (secrets.LineClean); names says no key part of it (one a parser may cut
// as a key: secrets.IsKeyPart) names a secret either,
// and only that the record holds no text but parts of line and its
// parser's own constants, and no field value that starts with a '-' (a
// part the line's check does not answer for). The redact processor skips
// what lies in line.
// It records nothing and returns false when the message is not a part of
// line: the line is found again from the message, which keeps it alive.
func (r *Record) SetCleanLine(line string, names, only bool) bool {
	off, n := lineAround(r.Message, line, line)
	r.cleanOff, r.cleanLen, r.cleanNames, r.lineOnly, r.lineUnchecked = off, n, names && n != 0, only && n != 0, false
	return n != 0
}

// lineAround returns how far msg starts after line does and the length
// of line and the rest of room after it, or a length of 0 when msg does
// not lie in room at or after line's start, or the record cannot hold the
// place (none). line lies in room, one allocation, so that the line found
// again from msg is in msg's.
func lineAround(msg, line, room string) (off, n uint32) {
	// line's address is taken twice rather than held, which the inliner
	// prices lower, so that SetUncheckedLine inlines into the parsers.
	// o wraps to huge for msg below line; end is room's end from line's
	// start; the middle test also refuses msg == "", whose address says
	// nothing.
	o := uintptr(unsafe.Pointer(unsafe.StringData(msg))) - uintptr(unsafe.Pointer(unsafe.StringData(line)))
	end := uintptr(unsafe.Pointer(unsafe.StringData(room))) + uintptr(len(room)) - uintptr(unsafe.Pointer(unsafe.StringData(line)))
	if o > end || uintptr(len(msg))-1 >= end-o || end > math.MaxUint32 {
		return 0, 0
	}
	return uint32(o), uint32(end)
}

// SetUncheckedLine records line as SetCleanLine does, with only, to be
// checked for secrets by CheckedLine; until then CleanLine returns none.
// room holds line and, after it, the values the parser made for the record
// (an unescaped message), and the clean line is all of it, from line's
// start: one check answers for the made values as for the cut ones, as
// they are its parts too (a made key lies elsewhere: parsers.keepKey).
// Parsers keep the line so and the redact processor checks it: each loop
// then runs its own code, which a core's instruction cache holds better
// than both interleaved line by line (callgrind's cache simulation: 0.2
// rather than 2.8 million more misses over 100,000 lines than without
// redact), and a record a processor drops before redact is not checked.
// It inlines where parsers keep their lines, once a line.
func (r *Record) SetUncheckedLine(line, room string, only bool) {
	off, n := lineAround(r.Message, line, room)
	// cleanNames waits for CheckedLine, which sets it before any use.
	r.cleanOff, r.cleanLen, r.lineOnly, r.lineUnchecked = off, n, only, n != 0
}

// CheckedLine settles a line SetUncheckedLine recorded, if it waits: check
// says whether the line holds no secret (parts) and no key part of it
// names one (names), as secrets.LineClean does, and a line it does not
// pass is dropped. It returns what CleanLine then returns, finding the
// line once.
func (r *Record) CheckedLine(check func(line string) (parts, names bool)) (line string, names, only bool) {
	line = r.line() // none: of length 0
	if r.lineUnchecked {
		r.lineUnchecked = false
		var parts bool
		if parts, r.cleanNames = check(line); !parts {
			// None. The offset stays: it places no byte now, and within
			// the message's buffer while the message does (whoever
			// changes it drops the line).
			r.cleanLen = 0
		}
	}
	if r.cleanLen == 0 {
		return "", false, false
	}
	return line, r.cleanNames, r.lineOnly
}

// CleanLine returns the clean line SetCleanLine recorded, or one
// SetUncheckedLine recorded once CheckedLine passed it ("" when none), and
// its names and only. Whoever changes the message must drop it first.
func (r *Record) CleanLine() (line string, names, only bool) {
	if r.cleanLen == 0 || r.lineUnchecked {
		return "", false, false
	}
	return r.line(), r.cleanNames, r.lineOnly
}

func (r *Record) line() string {
	start := unsafe.Add(unsafe.Pointer(unsafe.StringData(r.Message)), -int(r.cleanOff))
	return unsafe.String((*byte)(start), int(r.cleanLen))
}

// DropCleanLine forgets the clean line, checked or not, as a record whose
// texts changed must.
func (r *Record) DropCleanLine() {
	r.cleanOff, r.cleanLen, r.cleanNames, r.lineOnly, r.lineUnchecked = 0, 0, false, false, false
}

// Level is the normalized level word of a record.
func (r *Record) Level() Level { return r.Severity.Level() }

// Lookup finds a field by a dotted path ("http.status") through nested objects.
// A key that itself contains dots is found too, since logfmt keys often do.
func (r *Record) Lookup(path string) (Value, bool) {
	return lookup(r.Fields, path)
}

func lookup(fields []Field, path string) (Value, bool) {
	for i := range fields {
		if fields[i].Key == path {
			return fields[i].Value, true
		}
	}
	for i := range fields {
		k := fields[i].Key
		if len(path) > len(k) && path[len(k)] == '.' && path[:len(k)] == k && fields[i].Value.Kind() == KindObject {
			if v, ok := lookup(fields[i].Value.Object(), path[len(k)+1:]); ok {
				return v, true
			}
		}
	}
	return Value{}, false
}

// FileID identifies a file independently of its name: device, inode and a
// hash of its first bytes, so that a reused inode is not mistaken for the file
// that had it before.
type FileID struct {
	Dev, Ino    uint64
	Fingerprint uint64
}

// Position is the offset just past the last byte of a record in its file.
// Records from sources without files (stdin, exec) have a zero Position.
type Position struct {
	File   FileID
	Offset int64
}

// Batch is a group of records handed to exporters together.
type Batch []Record
