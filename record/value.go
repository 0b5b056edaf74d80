package record

import (
	"math"
	"strconv"
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
type Value struct {
	kind Kind
	num  uint64 // int64 bits, float64 bits, or bool
	str  string
	list any // []Field for KindObject, []Value for KindArray
}

func StringValue(s string) Value { return Value{kind: KindString, str: s} }
func IntValue(i int64) Value     { return Value{kind: KindInt, num: uint64(i)} }
func FloatValue(f float64) Value { return Value{kind: KindFloat, num: math.Float64bits(f)} }
func NullValue() Value           { return Value{kind: KindNull} }
func BoolValue(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.num = 1
	}
	return v
}
func ObjectValue(fields []Field) Value { return Value{kind: KindObject, list: fields} }
func ArrayValue(items []Value) Value   { return Value{kind: KindArray, list: items} }

func (v Value) Kind() Kind       { return v.kind }
func (v Value) Int64() int64     { return int64(v.num) }
func (v Value) Float64() float64 { return math.Float64frombits(v.num) }
func (v Value) Bool() bool       { return v.num != 0 }
func (v Value) Str() string      { return v.str }
func (v Value) Object() []Field  { f, _ := v.list.([]Field); return f }
func (v Value) Array() []Value   { a, _ := v.list.([]Value); return a }
func (v Value) IsZero() bool     { return v.kind == KindString && v.str == "" && v.list == nil }

// String renders any value as text: strings as they are, numbers and bools in
// their JSON spelling, objects and arrays as JSON.
func (v Value) String() string {
	if v.kind == KindString {
		return v.str
	}
	return string(v.AppendJSON(nil))
}

// Number returns the value as a float64 when it is numeric or a string that
// holds a number.
func (v Value) Number() (float64, bool) {
	switch v.kind {
	case KindInt:
		return float64(v.Int64()), true
	case KindFloat:
		return v.Float64(), true
	case KindString:
		f, err := strconv.ParseFloat(v.str, 64)
		return f, err == nil
	}
	return 0, false
}

// Equal reports whether two values have the same kind and content.
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case KindString:
		return v.str == w.str
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
