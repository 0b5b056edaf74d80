// Package record defines the unified log record that every source produces and
// every exporter consumes. It is the leaf of the import graph: stdlib only.
//
// A Record is a small value type. Once a record is handed to the pipeline it is
// never mutated, so exporters may share it without copying (as log/slog does).
package record

import "time"

// Record is one unified log event: time, level, message and fields, plus where
// it came from. Its JSON form (AppendJSON) is the contract of DESIGN.md §3 and
// is also the map sent to Fluentd.
type Record struct {
	Time         time.Time // event time found in the line; zero when the line has none
	ObservedTime time.Time // when the line was read; always set
	Severity     Severity  // OpenTelemetry SeverityNumber; 0 when the line states no level
	Message      string
	Format       string // detected or configured format name
	Source       string // configured source name
	Path         string // file path, for file and pod sources
	Stream       string // "stdout" or "stderr" where known
	Kubernetes   *Kubernetes
	Truncated    bool // cut at max_line_bytes or the multiline size bound
	// CleanNames and LineOnly qualify CleanLine (below); they sit here,
	// in Truncated's padding.
	CleanNames, LineOnly bool
	Fields               []Field

	// CleanLine views the line the record was parsed from when its source
	// checked that line for secrets and found none (secrets.LineClean); it
	// is empty otherwise. CleanNames says that no part of it names a
	// secret either, and LineOnly that the record holds no text but parts
	// of it and its parser's own constants. The redact processor skips
	// what lies in it. None is part of the JSON form.
	CleanLine string

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
