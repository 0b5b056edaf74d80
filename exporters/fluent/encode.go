package fluent

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
	"github.com/obsadapter/obsadapter/record"
)

// appendRecord appends the record's map: the same keys, order and values as
// record.AppendJSON, so Fluentd sees exactly the unified record.
func appendRecord(b []byte, r *record.Record) []byte {
	var scratch [64]byte
	n := uint32(2) // observed_time, message
	k := r.Kubernetes
	hasK8s := k != nil && *k != (record.Kubernetes{})
	for _, present := range [...]bool{!r.Time.IsZero(), r.Severity != 0, r.Severity != 0, r.Format != "", r.Source != "",
		r.Path != "", r.Stream != "", hasK8s, r.Truncated, len(r.Fields) > 0} {
		if present {
			n++
		}
	}
	b = msgp.AppendMapHeader(b, n)
	if !r.Time.IsZero() {
		b = msgp.AppendString(b, "time")
		b = msgp.AppendStringFromBytes(b, r.Time.UTC().AppendFormat(scratch[:0], time.RFC3339Nano))
	}
	b = msgp.AppendString(b, "observed_time")
	b = msgp.AppendStringFromBytes(b, r.ObservedTime.UTC().AppendFormat(scratch[:0], time.RFC3339Nano))
	if r.Severity != 0 {
		b = msgp.AppendString(b, "level")
		b = msgp.AppendString(b, r.Severity.Level().String())
		b = msgp.AppendString(b, "severity")
		b = msgp.AppendUint64(b, uint64(r.Severity))
	}
	b = msgp.AppendString(b, "message")
	b = appendStr(b, r.Message)
	b = appendOpt(b, "format", r.Format)
	b = appendOpt(b, "source", r.Source)
	b = appendOpt(b, "path", r.Path)
	b = appendOpt(b, "stream", r.Stream)
	if hasK8s {
		b = msgp.AppendString(b, "kubernetes")
		kv := [...][2]string{{"namespace", k.Namespace}, {"pod", k.Pod}, {"container", k.Container}, {"node", k.Node}}
		m := uint32(0)
		for _, e := range kv {
			if e[1] != "" {
				m++
			}
		}
		b = msgp.AppendMapHeader(b, m)
		for _, e := range kv {
			b = appendOpt(b, e[0], e[1])
		}
	}
	if r.Truncated {
		b = msgp.AppendString(b, "truncated")
		b = msgp.AppendBool(b, true)
	}
	if len(r.Fields) > 0 {
		b = msgp.AppendString(b, "fields")
		b = appendFields(b, r.Fields)
	}
	return b
}

func appendOpt(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendStr(msgp.AppendString(b, key), v)
}

// appendStr writes a str; invalid UTF-8 becomes U+FFFD as in the JSON form,
// since Fluentd treats str as UTF-8 text.
func appendStr(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return msgp.AppendString(b, s)
}

func appendFields(b []byte, fields []record.Field) []byte {
	b = msgp.AppendMapHeader(b, uint32(len(fields)))
	for i := range fields {
		b = appendStr(b, fields[i].Key)
		b = appendValue(b, fields[i].Value)
	}
	return b
}

func appendValue(b []byte, v record.Value) []byte {
	switch v.Kind() {
	case record.KindString:
		return appendStr(b, v.Str())
	case record.KindInt:
		return msgp.AppendInt64(b, v.Int64())
	case record.KindFloat:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON cannot carry them; the record's JSON form spells them.
			return msgp.AppendString(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return msgp.AppendFloat64(b, f)
	case record.KindBool:
		return msgp.AppendBool(b, v.Bool())
	case record.KindObject:
		return appendFields(b, v.Object())
	case record.KindArray:
		items := v.Array()
		b = msgp.AppendArrayHeader(b, uint32(len(items)))
		for _, it := range items {
			b = appendValue(b, it)
		}
		return b
	}
	return msgp.AppendNil(b)
}

// eventTime is the entry's time: the event time when the line had one, else
// when it was read.
func eventTime(r *record.Record) time.Time {
	if !r.Time.IsZero() {
		return r.Time
	}
	return r.ObservedTime
}

// tagger renders the tag template per record.
type tagger struct {
	parts []tagPart
	fixed string // the tag when the template has no references
}

func newTagger(tmpl string) (*tagger, error) {
	parts, err := parseTag(tmpl)
	if err != nil {
		return nil, err
	}
	t := &tagger{parts: parts}
	if len(parts) == 1 && parts[0].ref == "" {
		t.fixed = parts[0].lit
	}
	return t, nil
}

// appendTag renders the tag. A reference with no value renders "unknown";
// characters Fluentd's tag routing would trip on become "_".
func (t *tagger) appendTag(b []byte, r *record.Record) []byte {
	if t.fixed != "" {
		return append(b, t.fixed...)
	}
	for _, p := range t.parts {
		var v string
		switch p.ref {
		case "":
			b = append(b, p.lit...)
			continue
		case "source":
			v = r.Source
		case "format":
			v = r.Format
		case "level":
			v = r.Level().String()
		case "stream":
			v = r.Stream
		case "field":
			if f, ok := r.Lookup(p.field); ok {
				v = f.String()
			}
		}
		if v == "" {
			v = "unknown"
		}
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
				b = append(b, c)
			} else {
				b = append(b, '_')
			}
		}
	}
	return b
}

// chunk is one PackedForward message, ready to write: one ack covers it.
type chunk struct {
	id      string // the "chunk" option, echoed in the ack
	msg     []byte // the whole message
	records int

	// memory buffer: the Export waiting for the ack, and the queue state
	done chan error
	// spool: where it lies
	seg *segment
}

// builder groups records into chunks by tag, bounded by the batch limits.
// Entries are appended straight into the message after a bin32 header that
// is patched when the chunk is sealed, so uncompressed chunks copy nothing.
type builder struct {
	tags     *tagger
	compress bool
	maxRecs  int
	maxBytes int
	open     map[string]*openChunk
	order    []*openChunk
	out      []*chunk
	tagBuf   []byte
	sizeHint int
	gz       *gzip.Writer
	gzBuf    bytes.Buffer
}

type openChunk struct {
	tag     string
	msg     []byte // [tag, bin32 header, entries...
	start   int    // where the entries begin
	records int
}

func newBuilder(t *tagger, compress bool, maxRecs, maxBytes int) *builder {
	return &builder{tags: t, compress: compress, maxRecs: maxRecs, maxBytes: maxBytes, open: map[string]*openChunk{}, sizeHint: 4096}
}

// build turns a batch into chunks, keeping record order within each tag.
func (bl *builder) build(batch record.Batch) []*chunk {
	bl.out = nil
	for i := range batch {
		r := &batch[i]
		bl.tagBuf = bl.tags.appendTag(bl.tagBuf[:0], r)
		oc := bl.open[string(bl.tagBuf)]
		if oc == nil {
			oc = &openChunk{tag: string(bl.tagBuf)}
			bl.open[oc.tag] = oc
		}
		if oc.records == 0 {
			oc.msg = getBuf(bl.sizeHint)
			oc.msg = msgp.AppendArrayHeader(oc.msg, 3)
			oc.msg = msgp.AppendString(oc.msg, oc.tag)
			oc.msg = append(oc.msg, 0xc6, 0, 0, 0, 0)
			oc.start = len(oc.msg)
			bl.order = append(bl.order, oc)
		}
		oc.msg = msgp.AppendArrayHeader(oc.msg, 2)
		oc.msg = wire.AppendEventTime(oc.msg, eventTime(r))
		oc.msg = appendRecord(oc.msg, r)
		oc.records++
		if oc.records >= bl.maxRecs || len(oc.msg)-oc.start >= bl.maxBytes {
			bl.seal(oc)
		}
	}
	for _, oc := range bl.order {
		if oc.records > 0 {
			bl.seal(oc)
		}
	}
	bl.order = bl.order[:0]
	if len(bl.open) > 64 { // tags from field values must not pile up
		clear(bl.open)
	}
	return bl.out
}

// seal completes [tag, bin(entries), {"chunk", "size"(, "compressed")}].
func (bl *builder) seal(oc *openChunk) {
	msg := oc.msg
	if bl.compress {
		bl.gzBuf.Reset()
		if bl.gz == nil {
			bl.gz, _ = gzip.NewWriterLevel(&bl.gzBuf, gzip.BestSpeed)
		} else {
			bl.gz.Reset(&bl.gzBuf)
		}
		bl.gz.Write(msg[oc.start:])
		bl.gz.Close()
		msg = append(msg[:oc.start], bl.gzBuf.Bytes()...)
	}
	binary.BigEndian.PutUint32(msg[oc.start-4:], uint32(len(msg)-oc.start))
	id := newChunkID()
	if bl.compress {
		msg = msgp.AppendMapHeader(msg, 3)
	} else {
		msg = msgp.AppendMapHeader(msg, 2)
	}
	msg = msgp.AppendString(msg, "chunk")
	msg = msgp.AppendString(msg, id)
	msg = msgp.AppendString(msg, "size")
	msg = msgp.AppendInt(msg, oc.records)
	if bl.compress {
		msg = msgp.AppendString(msg, "compressed")
		msg = msgp.AppendString(msg, "gzip")
	}
	if len(msg) > bl.sizeHint {
		bl.sizeHint = min(len(msg)+len(msg)/8, bl.maxBytes+bl.maxBytes/4)
	}
	bl.out = append(bl.out, &chunk{id: id, msg: msg, records: oc.records})
	oc.msg, oc.records = nil, 0
}

// Chunk buffers are recycled once their chunk is acknowledged or spooled:
// at hundreds of thousands of records per second, fresh buffers of a few
// hundred KiB would keep the GC busy.
var bufPool sync.Pool

func getBuf(hint int) []byte {
	if p, ok := bufPool.Get().(*[]byte); ok && cap(*p) >= hint {
		return (*p)[:0]
	}
	return make([]byte, 0, hint)
}

func putBuf(b []byte) {
	b = b[:0]
	bufPool.Put(&b)
}

// newChunkID is base64 of 16 random bytes, as Fluentd's unique ids are; it
// only has to be unique among the sender's unacknowledged chunks.
func newChunkID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return base64.StdEncoding.EncodeToString(b[:])
}
