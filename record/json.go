package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the record's JSON object (DESIGN.md §3), keys in the
// contract's order, empty optional keys omitted. It allocates nothing beyond
// growing dst, so the stdout exporter can reuse one buffer for every record.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	if !r.Time.IsZero() {
		dst = append(dst, `"time":"`...)
		dst = appendTime(dst, r.Time)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"observed_time":"`...)
	dst = appendTime(dst, r.ObservedTime)
	dst = append(dst, '"')
	if r.Severity != 0 {
		dst = append(dst, `,"level":"`...)
		dst = append(dst, r.Severity.Level().String()...)
		dst = append(dst, `","severity":`...)
		dst = strconv.AppendUint(dst, uint64(r.Severity), 10)
	}
	dst = append(dst, `,"message":`...)
	dst = AppendJSONString(dst, r.Message)
	dst = appendOptString(dst, `,"format":`, r.Format)
	dst = appendOptString(dst, `,"source":`, r.Source)
	dst = appendOptString(dst, `,"path":`, r.Path)
	dst = appendOptString(dst, `,"stream":`, r.Stream)
	if k := r.Kubernetes; k != nil && *k != (Kubernetes{}) {
		dst = append(dst, `,"kubernetes":{`...)
		first := true
		for _, kv := range [...][2]string{{"namespace", k.Namespace}, {"pod", k.Pod}, {"container", k.Container}, {"node", k.Node}} {
			if kv[1] == "" {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendJSONString(dst, kv[0])
			dst = append(dst, ':')
			dst = AppendJSONString(dst, kv[1])
		}
		dst = append(dst, '}')
	}
	if r.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if len(r.Fields) > 0 {
		dst = append(dst, `,"fields":`...)
		dst = appendFields(dst, r.Fields)
	}
	return append(dst, '}')
}

func appendOptString(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	return AppendJSONString(append(dst, key...), s)
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (r Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

func appendFields(dst []byte, fields []Field) []byte {
	dst = append(dst, '{')
	for i := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, fields[i].Key)
		dst = append(dst, ':')
		dst = fields[i].Value.AppendJSON(dst)
	}
	return append(dst, '}')
}

// AppendJSON appends the value in JSON. Non-finite floats, which JSON cannot
// carry, become strings ("NaN", "+Inf", "-Inf").
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind() {
	case KindString:
		return AppendJSONString(dst, v.Str())
	case KindInt:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case KindFloat:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return AppendJSONString(dst, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return appendFloat(dst, f)
	case KindBool:
		return strconv.AppendBool(dst, v.Bool())
	case KindNull:
		return append(dst, "null"...)
	case KindObject:
		return appendFields(dst, v.Object())
	case KindArray:
		dst = append(dst, '[')
		for i, item := range v.Array() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = item.AppendJSON(dst)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// appendFloat spells floats as encoding/json does.
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// jsonSpecial flags (in the high bit of each byte) the bytes of x that a
// JSON string cannot carry as they are: controls, '"', '\\' and non-ASCII.
// A zero-byte test may flag bytes above a true flag falsely, never below,
// so the lowest flag is exact.
func jsonSpecial(x uint64) uint64 {
	hasZero := func(x uint64) uint64 { return (x - swarOnes) &^ x & swarHighs }
	controls := (x - swarOnes*0x20) &^ x & swarHighs
	return controls | hasZero(x^(swarOnes*'"')) | hasZero(x^(swarOnes*'\\')) | x&swarHighs
}

// load64 reads the eight bytes at s[i:], which must exist, in one load.
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// so the output is always valid JSON whatever bytes a log line held.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time past plain ASCII, which is nearly all of a
		// log line: the lowest flagged byte is exact (see jsonSpecial).
		for i+8 <= len(s) {
			m := jsonSpecial(load64(s, i))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// ParseValueJSON decodes one JSON value, keeping object key order and
// number types (integers that fit int64 stay KindInt).
func ParseValueJSON(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Value{}, errors.New("record: trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return Value{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			var fields []Field
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return Value{}, err
				}
				v, err := decodeValue(dec)
				if err != nil {
					return Value{}, err
				}
				fields = append(fields, Field{Key: kt.(string), Value: v})
			}
			_, err := dec.Token()
			return ObjectValue(fields), err
		}
		var items []Value
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return Value{}, err
			}
			items = append(items, v)
		}
		_, err := dec.Token()
		return ArrayValue(items), err
	case string:
		return StringValue(t), nil
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return IntValue(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return Value{}, err
		}
		return FloatValue(f), nil
	case bool:
		return BoolValue(t), nil
	case nil:
		return NullValue(), nil
	}
	return Value{}, fmt.Errorf("record: unexpected JSON token %v", tok)
}

// UnmarshalJSON decodes the JSON form back into a record (Pos stays zero). It
// is the inverse of AppendJSON, used by tests and receivers.
func (r *Record) UnmarshalJSON(data []byte) error {
	v, err := ParseValueJSON(data)
	if err != nil {
		return err
	}
	if v.Kind() != KindObject {
		return errors.New("record: JSON record is not an object")
	}
	*r = Record{}
	for _, f := range v.Object() {
		switch f.Key {
		case "time", "observed_time":
			t, err := time.Parse(time.RFC3339Nano, f.Value.Str())
			if err != nil {
				return fmt.Errorf("record: %s: %w", f.Key, err)
			}
			if f.Key == "time" {
				r.Time = t
			} else {
				r.ObservedTime = t
			}
		case "severity":
			r.Severity = Severity(f.Value.Int64())
		case "level":
			if r.Severity == 0 {
				l, _ := LevelFromString(f.Value.Str())
				r.Severity = l.Severity()
			}
		case "message":
			r.Message = f.Value.Str()
		case "format":
			r.Format = f.Value.Str()
		case "source":
			r.Source = f.Value.Str()
		case "path":
			r.Path = f.Value.Str()
		case "stream":
			r.Stream = f.Value.Str()
		case "truncated":
			r.Truncated = f.Value.Bool()
		case "kubernetes":
			k := &Kubernetes{}
			for _, kf := range f.Value.Object() {
				switch kf.Key {
				case "namespace":
					k.Namespace = kf.Value.Str()
				case "pod":
					k.Pod = kf.Value.Str()
				case "container":
					k.Container = kf.Value.Str()
				case "node":
					k.Node = kf.Value.Str()
				}
			}
			r.Kubernetes = k
		case "fields":
			r.Fields = f.Value.Object()
		}
	}
	return nil
}
