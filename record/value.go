package record

import (
	"math"
	"strconv"
	"unsafe"
)

// Kind is the type of a field Value.
type Kind uint8

const (
	KindString Kind = iota
	KindInt
	KindFloat
	KindBool
	KindNull
	KindObject
	KindArray
)

// Field is one key and value of a record's fields. Fields keep the order the
// line had them in; JSON objects nest as KindObject values.
type Field struct {
	Key   string
	Value Value
}

// Value is a field value: a string, number, bool, null, nested object or
// array. It is a small value type (like slog.Value) so that flat formats such
// as logfmt cost one slice allocation for all their fields.
//
// Parsers make millions of them a second and every one is copied a few times
// on its way to an exporter, so it is two words: ptr points at a string's
// bytes or an object's or array's first element, with the length and the
// kind in num; scalars point ptr at their kind's sentinel and keep their bits
// in num. The zero Value is the empty string.
type Value struct {
	ptr unsafe.Pointer
	num uint64
}

// kindShift puts the kind of a string, object or array above its length.
const kindShift = 56

// scalarKinds are the sentinels ptr points at for scalars; the offset into
// the array tells the kind.
var scalarKinds [4]byte

const firstScalar = KindInt // KindInt, KindFloat, KindBool, KindNull follow in order

func scalar(k Kind, num uint64) Value {
	return Value{ptr: unsafe.Pointer(&scalarKinds[k-firstScalar]), num: num}
}

func StringValue(s string) Value {
	if len(s) == 0 {
		return Value{}
	}
	return Value{ptr: unsafe.Pointer(unsafe.StringData(s)), num: uint64(len(s))}
}
func IntValue(i int64) Value     { return scalar(KindInt, uint64(i)) }
func FloatValue(f float64) Value { return scalar(KindFloat, math.Float64bits(f)) }
func NullValue() Value           { return scalar(KindNull, 0) }
func BoolValue(b bool) Value {
	if b {
		return scalar(KindBool, 1)
	}
	return scalar(KindBool, 0)
}

// ObjectValue holds fields, which must not be modified afterwards. A nil
// slice is an empty object.
func ObjectValue(fields []Field) Value {
	return Value{ptr: unsafe.Pointer(unsafe.SliceData(fields)), num: uint64(KindObject)<<kindShift | uint64(len(fields))}
}

// ArrayValue holds items, which must not be modified afterwards. A nil slice
// is an empty array.
func ArrayValue(items []Value) Value {
	return Value{ptr: unsafe.Pointer(unsafe.SliceData(items)), num: uint64(KindArray)<<kindShift | uint64(len(items))}
}

func (v Value) Kind() Kind {
	if off := uintptr(v.ptr) - uintptr(unsafe.Pointer(&scalarKinds[0])); off < uintptr(len(scalarKinds)) {
		return firstScalar + Kind(off)
	}
	return Kind(v.num >> kindShift)
}

func (v Value) length() int { return int(v.num & (1<<kindShift - 1)) }

func (v Value) Int64() int64     { return int64(v.num) }
func (v Value) Float64() float64 { return math.Float64frombits(v.num) }
func (v Value) Bool() bool       { return v.num != 0 }

// StrIn returns the value's text when it is a non-empty string whose bytes
// lie within s's: a part of s, such as a parser carves from its line.
func (v Value) StrIn(s string) (string, bool) {
	off := uintptr(v.ptr) - uintptr(unsafe.Pointer(unsafe.StringData(s))) // wraps to huge below s; a scalar's ptr is not in s
	if n := uintptr(len(s)); off < n && v.num-1 < uint64(n-off) {         // v.num holds the length of a string (and a kind above it otherwise)
		return unsafe.String((*byte)(v.ptr), int(v.num)), true
	}
	return "", false
}

// StrKind returns the value's kind and, for a string, its text: one look
// at the value, for a walk over many fields that wants their strings.
func (v Value) StrKind() (string, Kind) {
	if off := uintptr(v.ptr) - uintptr(unsafe.Pointer(&scalarKinds[0])); off < uintptr(len(scalarKinds)) {
		return "", firstScalar + Kind(off)
	}
	if k := Kind(v.num >> kindShift); k != KindString {
		return "", k
	}
	return unsafe.String((*byte)(v.ptr), v.length()), KindString
}

// Str is the string of a string value, "" for other kinds.
func (v Value) Str() string {
	if v.Kind() != KindString {
		return ""
	}
	return unsafe.String((*byte)(v.ptr), v.length())
}

// Object is the fields of an object value, nil for other kinds.
func (v Value) Object() []Field {
	if v.Kind() != KindObject {
		return nil
	}
	return unsafe.Slice((*Field)(v.ptr), v.length())
}

// Array is the items of an array value, nil for other kinds.
func (v Value) Array() []Value {
	if v.Kind() != KindArray {
		return nil
	}
	return unsafe.Slice((*Value)(v.ptr), v.length())
}

func (v Value) IsZero() bool { return v == Value{} }

// String renders any value as text: strings as they are, numbers and bools in
// their JSON spelling, objects and arrays as JSON.
func (v Value) String() string {
	if v.Kind() == KindString {
		return v.Str()
	}
	return string(v.AppendJSON(nil))
}

// Number returns the value as a float64 when it is numeric or a string that
// holds a number.
func (v Value) Number() (float64, bool) {
	switch v.Kind() {
	case KindInt:
		return float64(v.Int64()), true
	case KindFloat:
		return v.Float64(), true
	case KindString:
		f, err := strconv.ParseFloat(v.Str(), 64)
		return f, err == nil
	}
	return 0, false
}

// Equal reports whether two values have the same kind and content.
func (v Value) Equal(w Value) bool {
	if v.Kind() != w.Kind() {
		return false
	}
	switch v.Kind() {
	case KindString:
		return v.Str() == w.Str()
	case KindObject:
		a, b := v.Object(), w.Object()
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Key != b[i].Key || !a[i].Value.Equal(b[i].Value) {
				return false
			}
		}
		return true
	case KindArray:
		a, b := v.Array(), w.Array()
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !a[i].Equal(b[i]) {
				return false
			}
		}
		return true
	}
	return v.num == w.num
}
