package forwardtest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
	"github.com/obsadapter/obsadapter/record"
)

// Mode is the forward protocol's event mode of a message.
type Mode string

const (
	ModeMessage                 Mode = "Message"
	ModeForward                 Mode = "Forward"
	ModePackedForward           Mode = "PackedForward"
	ModeCompressedPackedForward Mode = "CompressedPackedForward"
)

// Message is one decoded forward-protocol message.
type Message struct {
	Tag     string
	Mode    Mode
	Entries []Entry
	// Chunk is the option "chunk" as sent (Fluentd's ends in "\n"); nil
	// when the sender wants no ack.
	Chunk []byte
	// Size is the option "size", -1 when absent.
	Size int64
	// Compressed is the option "compressed" ("gzip", "text" or "").
	Compressed string
	// Options holds every option as sent, unknown keys included.
	Options record.Value
	// PackedAs is "bin" or "str" for (Compressed)PackedForward messages.
	PackedAs string
	// Members is the number of gzip members of a CompressedPackedForward.
	Members int
}

// Entry is one event: its time and its record map, raw and decoded lazily.
type Entry struct {
	Time time.Time
	// IntegerTime says the time was sent as integer seconds, not EventTime.
	IntegerTime bool
	// MetadataTime says the time slot was Fluent Bit's [time, metadata].
	MetadataTime bool
	// Raw is the record map's msgpack bytes.
	Raw []byte
}

// Map decodes the entry's record map, keeping key order.
func (e Entry) Map() (record.Value, error) {
	v, _, err := wire.ReadValue(e.Raw)
	if err != nil {
		return v, err
	}
	if v.Kind() != record.KindObject {
		return v, errors.New("record is not a map")
	}
	return v, nil
}

// Record decodes the entry's map as the unified record's JSON form.
func (e Entry) Record() (record.Record, error) {
	v, err := e.Map()
	if err != nil {
		return record.Record{}, err
	}
	var r record.Record
	if err := r.UnmarshalJSON(v.AppendJSON(nil)); err != nil {
		return record.Record{}, fmt.Errorf("record map is not the unified record: %w", err)
	}
	return r, nil
}

// Split returns the length of the first complete msgpack object in b, 0 when
// b holds only part of one, or an error when b cannot start a valid object.
func Split(b []byte) (int, error) { return wire.Split(b) }

// DecodeStream decodes every message of a captured client stream (after any
// handshake PING, which it skips).
func DecodeStream(data []byte) ([]Message, error) {
	var msgs []Message
	for len(data) > 0 {
		n, err := Split(data)
		if err != nil {
			return msgs, err
		}
		if n == 0 {
			return msgs, fmt.Errorf("truncated message at the end (%d bytes)", len(data))
		}
		if _, _, err := wire.ReadPing(data[:n]); err == nil {
			data = data[n:]
			continue
		}
		m, err := DecodeMessage(data[:n])
		if err != nil {
			return msgs, err
		}
		msgs = append(msgs, m)
		data = data[n:]
	}
	return msgs, nil
}

// DecodeMessage decodes one complete message in any of the four modes.
func DecodeMessage(b []byte) (Message, error) {
	m := Message{Size: -1}
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return m, fmt.Errorf("message is not an array: %w", err)
	}
	if n < 2 || n > 4 {
		return m, fmt.Errorf("message is an array of %d elements", n)
	}
	tag, rest, err := wire.ReadRaw(rest)
	if err != nil {
		return m, fmt.Errorf("tag: %w", err)
	}
	m.Tag = string(tag)
	var packed []byte
	switch t := msgp.NextType(rest); {
	case t == msgp.ArrayType && n <= 3:
		m.Mode = ModeForward
		cnt, r, err := msgp.ReadArrayHeaderBytes(rest)
		if err != nil {
			return m, err
		}
		rest = r
		for range cnt {
			var e Entry
			if e, rest, err = readEntry(rest); err != nil {
				return m, fmt.Errorf("forward entry: %w", err)
			}
			m.Entries = append(m.Entries, e)
		}
	case (t == msgp.StrType || t == msgp.BinType) && n <= 3:
		m.Mode = ModePackedForward
		m.PackedAs = "bin"
		if t == msgp.StrType {
			m.PackedAs = "str"
		}
		if packed, rest, err = wire.ReadRaw(rest); err != nil {
			return m, err
		}
	case n >= 3:
		m.Mode = ModeMessage
		var e Entry
		e.IntegerTime = t == msgp.IntType || t == msgp.UintType
		if e.Time, e.MetadataTime, rest, err = wire.ReadTime(rest); err != nil {
			return m, fmt.Errorf("message time: %w", err)
		}
		if msgp.NextType(rest) != msgp.MapType {
			return m, errors.New("message record is not a map")
		}
		after, err := msgp.Skip(rest)
		if err != nil {
			return m, err
		}
		e.Raw = rest[:len(rest)-len(after)]
		rest = after
		m.Entries = append(m.Entries, e)
		n-- // the option, if any, is the 4th element
	default:
		return m, fmt.Errorf("unrecognised message shape (%d elements, second is %s)", n, t)
	}
	if n == 3 {
		if rest, err = readOptions(rest, &m); err != nil {
			return m, err
		}
	}
	if len(rest) != 0 {
		return m, fmt.Errorf("%d trailing bytes after the message", len(rest))
	}
	if m.Mode == ModePackedForward {
		if m.Compressed == "gzip" {
			m.Mode = ModeCompressedPackedForward
			if packed, m.Members, err = gunzipAll(packed); err != nil {
				return m, err
			}
		}
		for len(packed) > 0 {
			var e Entry
			if e, packed, err = readEntry(packed); err != nil {
				return m, fmt.Errorf("packed entry: %w", err)
			}
			m.Entries = append(m.Entries, e)
		}
	}
	return m, nil
}

func (m Message) metadataTime() bool {
	for _, e := range m.Entries {
		if e.MetadataTime {
			return true
		}
	}
	return false
}

func readEntry(b []byte) (Entry, []byte, error) {
	var e Entry
	n, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return e, b, err
	}
	if n != 2 {
		return e, b, fmt.Errorf("entry is an array of %d, want [time, record]", n)
	}
	e.IntegerTime = msgp.NextType(rest) == msgp.IntType || msgp.NextType(rest) == msgp.UintType
	if e.Time, e.MetadataTime, rest, err = wire.ReadTime(rest); err != nil {
		return e, b, err
	}
	if msgp.NextType(rest) != msgp.MapType {
		return e, b, errors.New("entry record is not a map")
	}
	after, err := msgp.Skip(rest)
	if err != nil {
		return e, b, err
	}
	e.Raw = rest[:len(rest)-len(after)]
	return e, after, nil
}

func readOptions(b []byte, m *Message) ([]byte, error) {
	if msgp.NextType(b) == msgp.NilType {
		return msgp.ReadNilBytes(b)
	}
	v, rest, err := wire.ReadValue(b)
	if err != nil {
		return b, fmt.Errorf("option: %w", err)
	}
	if v.Kind() != record.KindObject {
		return b, errors.New("option is not a map")
	}
	m.Options = v
	// Read chunk again as raw bytes: it must be echoed byte for byte.
	n, r, _ := msgp.ReadMapHeaderBytes(b)
	for range n {
		k, r2, err := wire.ReadRaw(r)
		if err != nil {
			return b, err
		}
		switch string(k) {
		case "chunk":
			c, r3, err := wire.ReadRaw(r2)
			if err != nil {
				return b, fmt.Errorf("option chunk: %w", err)
			}
			m.Chunk, r = append([]byte(nil), c...), r3
			continue
		case "size":
			if s, ok := lookupInt(v, "size"); ok {
				m.Size = s
			}
		case "compressed":
			c, _, _ := wire.ReadRaw(r2)
			m.Compressed = string(c)
		}
		if r, err = msgp.Skip(r2); err != nil {
			return b, err
		}
	}
	return rest, nil
}

func lookupInt(v record.Value, key string) (int64, bool) {
	for _, f := range v.Object() {
		if f.Key == key && f.Value.Kind() == record.KindInt {
			return f.Value.Int64(), true
		}
	}
	return 0, false
}

// gunzipAll inflates every gzip member to the end, as Fluentd's concatenated
// members require, and counts the members. bytes.Reader is an io.ByteReader,
// so gzip reads exactly one member's bytes and the next Reset starts at the
// following member.
func gunzipAll(b []byte) ([]byte, int, error) {
	src := bytes.NewReader(b)
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, 0, fmt.Errorf("gzip: %w", err)
	}
	var out bytes.Buffer
	for members := 1; ; members++ {
		zr.Multistream(false)
		if _, err := io.Copy(&out, zr); err != nil {
			return nil, members, fmt.Errorf("gzip member %d: %w", members, err)
		}
		if err := zr.Reset(src); err == io.EOF {
			return out.Bytes(), members, nil
		} else if err != nil {
			return nil, members, fmt.Errorf("gzip member %d: %w", members+1, err)
		}
	}
}
