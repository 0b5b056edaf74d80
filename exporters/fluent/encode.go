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
	"time"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"

	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
	"github.com/obsadapter/obsadapter/record"
)

// The record map's fixed keys, encoded once.
var (
	keyTime         = string(msgp.AppendString(nil, "time"))
	keyObservedTime = string(msgp.AppendString(nil, "observed_time"))
	keyLevel        = string(msgp.AppendString(nil, "level"))
	keySeverity     = string(msgp.AppendString(nil, "severity"))
	keyMessage      = string(msgp.AppendString(nil, "message"))
	keyFormat       = string(msgp.AppendString(nil, "format"))
	keySource       = string(msgp.AppendString(nil, "source"))
	keyPath         = string(msgp.AppendString(nil, "path"))
	keyStream       = string(msgp.AppendString(nil, "stream"))
	keyKubernetes   = string(msgp.AppendString(nil, "kubernetes"))
	keyTruncated    = string(msgp.AppendString(nil, "truncated"))
	keyFields       = string(msgp.AppendString(nil, "fields"))
	keyNamespace    = string(msgp.AppendString(nil, "namespace"))
	keyPod          = string(msgp.AppendString(nil, "pod"))
	keyContainer    = string(msgp.AppendString(nil, "container"))
	keyNode         = string(msgp.AppendString(nil, "node"))
)

// recordEncoder writes record maps. It remembers the last second it spelled
// for each of the two times, since consecutive records mostly share it.
type recordEncoder struct {
	time, observed timeCache
}

// appendRecord appends the record's map: the same keys, order and values as
// record.AppendJSON, so Fluentd sees exactly the unified record.
func (en *recordEncoder) appendRecord(b []byte, r *record.Record) []byte {
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
		b = append(b, keyTime...)
		b = en.time.appendTime(b, r.Time)
	}
	b = append(b, keyObservedTime...)
	b = en.observed.appendTime(b, r.ObservedTime)
	if r.Severity != 0 {
		b = append(b, keyLevel...)
		b = msgp.AppendString(b, r.Severity.Level().String()) // the record package's own ASCII names
		b = append(b, keySeverity...)
		b = msgp.AppendUint64(b, uint64(r.Severity))
	}
	b = append(b, keyMessage...)
	b = appendStr(b, r.Message)
	b = appendOpt(b, keyFormat, r.Format)
	b = appendOpt(b, keySource, r.Source)
	b = appendOpt(b, keyPath, r.Path)
	b = appendOpt(b, keyStream, r.Stream)
	if hasK8s {
		b = append(b, keyKubernetes...)
		kv := [...][2]string{{keyNamespace, k.Namespace}, {keyPod, k.Pod}, {keyContainer, k.Container}, {keyNode, k.Node}}
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
		b = append(b, keyTruncated...)
		b = msgp.AppendBool(b, true)
	}
	if len(r.Fields) > 0 {
		b = append(b, keyFields...)
		b = appendFields(b, r.Fields)
	}
	return b
}

// appendOpt appends an encoded key and the value, unless it is empty.
func appendOpt(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendStr(append(b, key...), v)
}

// appendStr writes a str; invalid UTF-8 becomes U+FFFD as in the JSON form,
// since Fluentd treats str as UTF-8 text. The bytes are checked after they
// are copied: ASCII, most of any log, costs one branch-free pass over the
// copy, and only other text goes through the full UTF-8 check.
func appendStr(b []byte, s string) []byte {
	start := len(b)
	b = appendStrHeader(b, len(s))
	body := len(b)
	b = append(b, s...)
	if isASCII(b[body:]) || utf8.Valid(b[body:]) {
		return b
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return append(appendStrHeader(b[:start], len(s)), s...)
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xda, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

// isASCII reports whether no byte of p has its high bit set, ORing 8 bytes
// at a time (the ends overlap rather than loop over single bytes).
func isASCII(p []byte) bool {
	const high = 0x8080808080808080
	n := len(p)
	switch {
	case n >= 8:
		var acc uint64
		for i := 0; i+8 <= n; i += 8 {
			acc |= binary.LittleEndian.Uint64(p[i:])
		}
		return (acc|binary.LittleEndian.Uint64(p[n-8:]))&high == 0
	case n >= 4:
		return (binary.LittleEndian.Uint32(p)|binary.LittleEndian.Uint32(p[n-4:]))&(high&0xffffffff) == 0
	case n > 0:
		return (p[0]|p[n/2]|p[n-1])&0x80 == 0
	}
	return true
}

// timeCache spells times as time.RFC3339Nano does in UTC (the JSON form's
// spelling), remembering the date and clock of the last second it spelled.
type timeCache struct {
	sec    int64
	prefix [19]byte // 2006-01-02T15:04:05
	valid  bool
}

// appendTime appends t as a str.
func (tc *timeCache) appendTime(b []byte, t time.Time) []byte {
	sec := t.Unix()
	if !tc.valid || sec != tc.sec {
		u := t.UTC()
		year, month, day := u.Date()
		if year < 0 || year > 9999 { // not four digits: the library spells these
			var scratch [40]byte
			return msgp.AppendStringFromBytes(b, u.AppendFormat(scratch[:0], time.RFC3339Nano))
		}
		hour, minute, second := u.Clock()
		put2 := func(i, v int) { tc.prefix[i], tc.prefix[i+1] = byte('0'+v/10), byte('0'+v%10) }
		put2(0, year/100)
		put2(2, year%100)
		tc.prefix[4] = '-'
		put2(5, int(month))
		tc.prefix[7] = '-'
		put2(8, day)
		tc.prefix[10] = 'T'
		put2(11, hour)
		tc.prefix[13] = ':'
		put2(14, minute)
		tc.prefix[16] = ':'
		put2(17, second)
		tc.sec, tc.valid = sec, true
	}
	h := len(b)
	b = append(b, 0) // fixstr header: the spelling is at most 30 bytes
	b = append(b, tc.prefix[:]...)
	b = append(record.AppendFraction(b, t.Nanosecond()), 'Z')
	b[h] = 0xa0 | byte(len(b)-h-1)
	return b
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
// Its ID is the "chunk" option, echoed in the ack; Data the whole message.
type chunk = buffer.Item

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
	enc      recordEncoder
	gz       *gzip.Writer
	gzBuf    bytes.Buffer
	pool     buffer.Pool // chunk buffers, back once acknowledged or spooled
}

type openChunk struct {
	tag     string
	msg     []byte // [tag, bin32 header, entries...
	start   int    // where the entries begin
	records int
	hint    int // buffer size for this tag's next chunk: its largest so far, plus a margin
}

func newBuilder(t *tagger, compress bool, maxRecs, maxBytes int) *builder {
	return &builder{tags: t, compress: compress, maxRecs: maxRecs, maxBytes: maxBytes, open: map[string]*openChunk{}}
}

// build turns a batch into chunks, keeping record order within each tag.
func (bl *builder) build(batch record.Batch) []*chunk {
	bl.out = nil
	for i := range batch {
		r := &batch[i]
		bl.tagBuf = bl.tags.appendTag(bl.tagBuf[:0], r)
		oc := bl.open[string(bl.tagBuf)]
		if oc == nil {
			oc = &openChunk{tag: string(bl.tagBuf), hint: 4096}
			bl.open[oc.tag] = oc
		}
		if oc.records == 0 {
			oc.msg = bl.pool.Get(oc.hint)
			oc.msg = msgp.AppendArrayHeader(oc.msg, 3)
			oc.msg = appendStr(oc.msg, oc.tag)
			oc.msg = append(oc.msg, 0xc6, 0, 0, 0, 0)
			oc.start = len(oc.msg)
			bl.order = append(bl.order, oc)
		}
		oc.msg = msgp.AppendArrayHeader(oc.msg, 2)
		oc.msg = wire.AppendEventTime(oc.msg, eventTime(r))
		oc.msg = bl.enc.appendRecord(oc.msg, r)
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
	if len(msg) > oc.hint {
		oc.hint = min(len(msg)+len(msg)/8, bl.maxBytes+bl.maxBytes/4)
	}
	bl.out = append(bl.out, &chunk{ID: id, Data: msg, Records: oc.records})
	oc.msg, oc.records = nil, 0
}

// newChunkID is base64 of 16 random bytes, as Fluentd's unique ids are; it
// only has to be unique among the sender's unacknowledged chunks.
func newChunkID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return base64.StdEncoding.EncodeToString(b[:])
}
