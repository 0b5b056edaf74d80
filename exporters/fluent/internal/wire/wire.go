// Package wire holds the pieces of the Fluentd forward protocol v1 that both
// the exporter and the test receiver need: EventTime, the shared-key digests
// and the handshake messages, and generic msgpack decoding into record values.
package wire

import (
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/obsadapter/obsadapter/record"
)

// AppendEventTime appends t as the forward protocol's EventTime: msgpack
// fixext8 of type 0 holding big-endian uint32 seconds and nanoseconds.
func AppendEventTime(b []byte, t time.Time) []byte {
	sec, nsec := t.Unix(), t.Nanosecond()
	b = append(b, 0xd7, 0x00)
	b = binary.BigEndian.AppendUint32(b, uint32(sec))
	return binary.BigEndian.AppendUint32(b, uint32(nsec))
}

// ReadTime reads an entry's time as peers send it: EventTime (fixext8 or
// ext8 of type 0), an integer of seconds, or Fluent Bit's default
// [time, metadata] pair. It reports whether the metadata pair was used.
func ReadTime(b []byte) (t time.Time, meta bool, rest []byte, err error) {
	if len(b) == 0 {
		return time.Time{}, false, b, msgp.ErrShortBytes
	}
	switch lead := b[0]; {
	case lead == 0xd7 || lead == 0xc7:
		hdr := 2
		if lead == 0xc7 {
			if len(b) < 3 || b[1] != 8 {
				return time.Time{}, false, b, errors.New("ext8 time is not 8 bytes")
			}
			hdr = 3
		}
		if len(b) < hdr+8 {
			return time.Time{}, false, b, msgp.ErrShortBytes
		}
		if b[hdr-1] != 0 {
			return time.Time{}, false, b, fmt.Errorf("time is extension type %d, not EventTime (0)", int8(b[hdr-1]))
		}
		sec := binary.BigEndian.Uint32(b[hdr:])
		nsec := binary.BigEndian.Uint32(b[hdr+4:])
		return time.Unix(int64(sec), int64(nsec)).UTC(), false, b[hdr+8:], nil
	case msgp.NextType(b) == msgp.ArrayType:
		n, rest, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return time.Time{}, false, b, err
		}
		if n != 2 {
			return time.Time{}, false, b, fmt.Errorf("time slot is an array of %d, not [time, metadata]", n)
		}
		t, nested, rest, err := ReadTime(rest)
		if err != nil || nested {
			return time.Time{}, false, b, errors.Join(err, errors.New("nested time pair"))
		}
		if msgp.NextType(rest) != msgp.MapType {
			return time.Time{}, false, b, errors.New("time metadata is not a map")
		}
		rest, err = msgp.Skip(rest)
		return t, true, rest, err
	default:
		sec, rest, err := readInt(b)
		if err != nil {
			return time.Time{}, false, b, fmt.Errorf("time: %w", err)
		}
		return time.Unix(sec, 0).UTC(), false, rest, nil
	}
}

func readInt(b []byte) (int64, []byte, error) {
	switch msgp.NextType(b) {
	case msgp.UintType:
		u, rest, err := msgp.ReadUint64Bytes(b)
		if u > math.MaxInt64 {
			return 0, b, errors.New("integer overflows int64")
		}
		return int64(u), rest, err
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	}
	return 0, b, fmt.Errorf("expected an integer, got %s", msgp.NextType(b))
}

// ReadRaw reads a str or bin as raw bytes: peers send packed entries, salts
// and nonces as either, and str values need not be valid UTF-8.
func ReadRaw(b []byte) (v, rest []byte, err error) {
	switch msgp.NextType(b) {
	case msgp.StrType:
		return msgp.ReadStringZC(b)
	case msgp.BinType:
		return msgp.ReadBytesZC(b)
	}
	return nil, b, fmt.Errorf("expected str or bin, got %s", msgp.NextType(b))
}

// ReadValue decodes one msgpack value into a record.Value, keeping map key
// order. bin becomes a string; extensions are rejected.
func ReadValue(b []byte) (record.Value, []byte, error) { return readValue(b, 0) }

func readValue(b []byte, depth int) (record.Value, []byte, error) {
	if depth > 100 {
		return record.Value{}, b, msgp.ErrRecursion
	}
	switch msgp.NextType(b) {
	case msgp.StrType, msgp.BinType:
		s, rest, err := ReadRaw(b)
		return record.StringValue(string(s)), rest, err
	case msgp.IntType, msgp.UintType:
		i, rest, err := readInt(b)
		return record.IntValue(i), rest, err
	case msgp.Float64Type:
		f, rest, err := msgp.ReadFloat64Bytes(b)
		return record.FloatValue(f), rest, err
	case msgp.Float32Type:
		f, rest, err := msgp.ReadFloat32Bytes(b)
		return record.FloatValue(float64(f)), rest, err
	case msgp.BoolType:
		v, rest, err := msgp.ReadBoolBytes(b)
		return record.BoolValue(v), rest, err
	case msgp.NilType:
		rest, err := msgp.ReadNilBytes(b)
		return record.NullValue(), rest, err
	case msgp.MapType:
		n, rest, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return record.Value{}, b, err
		}
		fields := make([]record.Field, 0, min(n, 64))
		for range n {
			k, r, err := ReadRaw(rest)
			if err != nil {
				return record.Value{}, b, fmt.Errorf("map key: %w", err)
			}
			v, r, err := readValue(r, depth+1)
			if err != nil {
				return record.Value{}, b, err
			}
			fields = append(fields, record.Field{Key: string(k), Value: v})
			rest = r
		}
		return record.ObjectValue(fields), rest, nil
	case msgp.ArrayType:
		n, rest, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return record.Value{}, b, err
		}
		items := make([]record.Value, 0, min(n, 64))
		for range n {
			v, r, err := readValue(rest, depth+1)
			if err != nil {
				return record.Value{}, b, err
			}
			items = append(items, v)
			rest = r
		}
		return record.ArrayValue(items), rest, nil
	case msgp.InvalidType:
		if len(b) == 0 {
			return record.Value{}, b, msgp.ErrShortBytes
		}
		return record.Value{}, b, msgp.InvalidPrefixError(b[0])
	}
	return record.Value{}, b, fmt.Errorf("unsupported msgpack type %s", msgp.NextType(b))
}

// Digest is the handshake's hex SHA-512 over the concatenated parts:
// salt‖hostname‖nonce‖shared_key for PING and PONG, auth‖username‖password
// for the user-auth password digest.
func Digest(parts ...[]byte) string {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Helo is the server's greeting when shared-key auth is on.
type Helo struct {
	Nonce, Auth []byte
	Keepalive   bool
}

// AppendHelo encodes ["HELO", {"nonce": bin, "auth": bin, "keepalive": bool}]
// as Fluentd 1.17 does.
func AppendHelo(b []byte, h Helo) []byte {
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendString(b, "HELO")
	b = msgp.AppendMapHeader(b, 3)
	b = msgp.AppendString(b, "nonce")
	b = msgp.AppendBytes(b, h.Nonce)
	b = msgp.AppendString(b, "auth")
	b = msgp.AppendBytes(b, h.Auth)
	b = msgp.AppendString(b, "keepalive")
	return msgp.AppendBool(b, h.Keepalive)
}

// ReadHelo decodes a HELO message; unknown option keys are ignored.
func ReadHelo(b []byte) (Helo, []byte, error) {
	var h Helo
	rest, err := expectArray(b, 2, "HELO")
	if err != nil {
		return h, b, err
	}
	n, rest, err := msgp.ReadMapHeaderBytes(rest)
	if err != nil {
		return h, b, fmt.Errorf("HELO options: %w", err)
	}
	for range n {
		var k []byte
		if k, rest, err = ReadRaw(rest); err != nil {
			return h, b, fmt.Errorf("HELO option key: %w", err)
		}
		switch string(k) {
		case "nonce", "auth":
			var v []byte
			if v, rest, err = ReadRaw(rest); err != nil {
				return h, b, fmt.Errorf("HELO %s: %w", k, err)
			}
			if string(k) == "nonce" {
				h.Nonce = append([]byte(nil), v...)
			} else {
				h.Auth = append([]byte(nil), v...)
			}
		case "keepalive":
			if h.Keepalive, rest, err = msgp.ReadBoolBytes(rest); err != nil {
				return h, b, fmt.Errorf("HELO keepalive: %w", err)
			}
		default:
			if rest, err = msgp.Skip(rest); err != nil {
				return h, b, err
			}
		}
	}
	if len(h.Nonce) == 0 {
		return h, b, errors.New("HELO has no nonce")
	}
	return h, rest, nil
}

// Ping is the client's answer to HELO.
type Ping struct {
	Hostname, Salt, Digest, Username, PasswordDigest []byte
}

// AppendPing encodes ["PING", hostname, salt, digest, username, password_digest].
func AppendPing(b []byte, p Ping) []byte {
	b = msgp.AppendArrayHeader(b, 6)
	b = msgp.AppendString(b, "PING")
	for _, f := range [][]byte{p.Hostname, p.Salt, p.Digest, p.Username, p.PasswordDigest} {
		b = msgp.AppendStringFromBytes(b, f)
	}
	return b
}

// ReadPing decodes a PING; the salt may be any bytes.
func ReadPing(b []byte) (Ping, []byte, error) {
	var p Ping
	rest, err := expectArray(b, 6, "PING")
	if err != nil {
		return p, b, err
	}
	for _, dst := range []*[]byte{&p.Hostname, &p.Salt, &p.Digest, &p.Username, &p.PasswordDigest} {
		var v []byte
		if v, rest, err = ReadRaw(rest); err != nil {
			return p, b, fmt.Errorf("PING: %w", err)
		}
		*dst = append([]byte(nil), v...)
	}
	return p, rest, nil
}

// Pong is the server's verdict.
type Pong struct {
	OK       bool
	Reason   string
	Hostname string
	Digest   string
}

// AppendPong encodes ["PONG", ok, reason, hostname, digest].
func AppendPong(b []byte, p Pong) []byte {
	b = msgp.AppendArrayHeader(b, 5)
	b = msgp.AppendString(b, "PONG")
	b = msgp.AppendBool(b, p.OK)
	b = msgp.AppendString(b, p.Reason)
	b = msgp.AppendString(b, p.Hostname)
	return msgp.AppendString(b, p.Digest)
}

// ReadPong decodes a PONG.
func ReadPong(b []byte) (Pong, []byte, error) {
	var p Pong
	rest, err := expectArray(b, 5, "PONG")
	if err != nil {
		return p, b, err
	}
	if p.OK, rest, err = msgp.ReadBoolBytes(rest); err != nil {
		return p, b, fmt.Errorf("PONG: %w", err)
	}
	for _, dst := range []*string{&p.Reason, &p.Hostname, &p.Digest} {
		var v []byte
		if v, rest, err = ReadRaw(rest); err != nil {
			return p, b, fmt.Errorf("PONG: %w", err)
		}
		*dst = string(v)
	}
	return p, rest, nil
}

func expectArray(b []byte, n uint32, word string) ([]byte, error) {
	got, rest, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return b, fmt.Errorf("%s: %w", word, err)
	}
	if got != n {
		return b, fmt.Errorf("%s: array of %d elements, want %d", word, got, n)
	}
	w, rest, err := ReadRaw(rest)
	if err != nil || string(w) != word {
		return b, fmt.Errorf("expected %s message, got %q (%v)", word, w, err)
	}
	return rest, nil
}

// AppendAck encodes {"ack": chunk} with the chunk as str, as Fluentd answers.
func AppendAck(b []byte, chunk []byte) []byte {
	b = msgp.AppendMapHeader(b, 1)
	b = msgp.AppendString(b, "ack")
	return msgp.AppendStringFromBytes(b, chunk)
}

// ReadAck decodes an ack response and returns its chunk id.
func ReadAck(b []byte) ([]byte, []byte, error) {
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, b, fmt.Errorf("ack: %w", err)
	}
	var chunk []byte
	found := false
	for range n {
		var k []byte
		if k, rest, err = ReadRaw(rest); err != nil {
			return nil, b, fmt.Errorf("ack key: %w", err)
		}
		if string(k) == "ack" {
			if chunk, rest, err = ReadRaw(rest); err != nil {
				return nil, b, fmt.Errorf("ack value: %w", err)
			}
			found = true
			continue
		}
		if rest, err = msgp.Skip(rest); err != nil {
			return nil, b, err
		}
	}
	if !found {
		return nil, b, errors.New("response has no ack key")
	}
	return chunk, rest, nil
}

// MaxMessageBytes bounds what one message may claim, so a corrupt length
// cannot make a reader buffer without end.
const MaxMessageBytes = 256 << 20

// Split returns the length of the first complete msgpack object in b, 0 when
// b holds only part of one, or an error when b cannot start a valid object.
// Peers cut messages across TCP writes anyhow, so readers frame with it.
func Split(b []byte) (int, error) {
	rest, err := msgp.Skip(b)
	if errors.Is(err, msgp.ErrShortBytes) {
		if len(b) > MaxMessageBytes {
			return 0, fmt.Errorf("message exceeds %d bytes", MaxMessageBytes)
		}
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(b) - len(rest), nil
}
