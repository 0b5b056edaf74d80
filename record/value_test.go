package record

import (
	"math"
	"strings"
	"testing"
)

// TestValueKinds: every constructor's value reports its kind and gives its
// content back through its accessor, and only through it: a Value is two
// words whose meaning depends on the kind.
func TestValueKinds(t *testing.T) {
	fields := []Field{{Key: "a", Value: IntValue(1)}}
	items := []Value{StringValue("x"), NullValue()}
	tests := []struct {
		name   string
		v      Value
		kind   Kind
		str    string
		num    uint64 // Int64, Float64 bits or Bool as 0/1
		fields []Field
		items  []Value
		zero   bool
	}{
		{name: "zero value is the empty string", v: Value{}, kind: KindString, zero: true},
		{name: "empty string", v: StringValue(""), kind: KindString, zero: true},
		{name: "string", v: StringValue("héllo"), kind: KindString, str: "héllo"},
		{name: "int", v: IntValue(-42), kind: KindInt, num: uint64(0xffffffffffffffd6)},
		{name: "max int", v: IntValue(math.MaxInt64), kind: KindInt, num: math.MaxInt64},
		{name: "float", v: FloatValue(2.5), kind: KindFloat, num: math.Float64bits(2.5)},
		{name: "NaN", v: FloatValue(math.NaN()), kind: KindFloat, num: math.Float64bits(math.NaN())},
		{name: "true", v: BoolValue(true), kind: KindBool, num: 1},
		{name: "false", v: BoolValue(false), kind: KindBool},
		{name: "null", v: NullValue(), kind: KindNull},
		{name: "object", v: ObjectValue(fields), kind: KindObject, fields: fields},
		{name: "empty object", v: ObjectValue([]Field{}), kind: KindObject},
		{name: "nil object", v: ObjectValue(nil), kind: KindObject},
		{name: "array", v: ArrayValue(items), kind: KindArray, items: items},
		{name: "nil array", v: ArrayValue(nil), kind: KindArray},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v
			if v.Kind() != tt.kind {
				t.Fatalf("Kind() = %d, want %d", v.Kind(), tt.kind)
			}
			if v.Str() != tt.str {
				t.Errorf("Str() = %q, want %q", v.Str(), tt.str)
			}
			switch tt.kind {
			case KindInt:
				if uint64(v.Int64()) != tt.num {
					t.Errorf("Int64() = %d", v.Int64())
				}
			case KindFloat:
				if math.Float64bits(v.Float64()) != tt.num {
					t.Errorf("Float64() = %v", v.Float64())
				}
			case KindBool:
				if v.Bool() != (tt.num == 1) {
					t.Errorf("Bool() = %v", v.Bool())
				}
			}
			if got := v.Object(); len(got) != len(tt.fields) || len(got) > 0 && &got[0] != &tt.fields[0] {
				t.Errorf("Object() = %v, want %v", got, tt.fields)
			}
			if got := v.Array(); len(got) != len(tt.items) || len(got) > 0 && &got[0] != &tt.items[0] {
				t.Errorf("Array() = %v, want %v", got, tt.items)
			}
			if v.IsZero() != tt.zero {
				t.Errorf("IsZero() = %v, want %v", v.IsZero(), tt.zero)
			}
			if !v.Equal(tt.v) {
				t.Error("not Equal to itself")
			}
		})
	}
	if IntValue(1).Equal(FloatValue(math.Float64frombits(1))) || BoolValue(true).Equal(IntValue(1)) {
		t.Error("values of different kinds with the same bits are Equal")
	}
}

// TestValueWalkHelpers: StrIn, Lead and StrKind agree with Kind and Str
// for values of every kind, empty ones and parts of a line included.
func TestValueWalkHelpers(t *testing.T) {
	line := "ts=1 msg=started -x"
	part := line[9:16] // "started"
	for _, tc := range []struct {
		name     string
		v        Value
		in       bool // StrIn(line)
		wantKind Kind
		wantStr  string
	}{
		{"a part of the line", StringValue(part), true, KindString, "started"},
		{"a dash first", StringValue(line[17:]), true, KindString, "-x"},
		{"a copy of a part", StringValue(strings.Clone(part)), false, KindString, "started"},
		{"empty", StringValue(""), false, KindString, ""},
		{"an int", IntValue(7), false, KindInt, ""},
		{"a negative int", IntValue(-7), false, KindInt, ""},
		{"zero", IntValue(0), false, KindInt, ""},
		{"a float", FloatValue(1.5), false, KindFloat, ""},
		{"a bool", BoolValue(true), false, KindBool, ""},
		{"null", NullValue(), false, KindNull, ""},
		{"an object", ObjectValue([]Field{{Key: "k", Value: StringValue(part)}}), false, KindObject, ""},
		{"an array", ArrayValue([]Value{StringValue(part)}), false, KindArray, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, in := tc.v.StrIn(line)
			if in != tc.in || in && s != tc.wantStr {
				t.Errorf("StrIn = %q, %v; want %v", s, in, tc.in)
			}
			if s, k := tc.v.StrKind(); k != tc.wantKind || k != tc.v.Kind() || s != tc.v.Str() {
				t.Errorf("StrKind = %q, %v; want %q, %v", s, k, tc.v.Str(), tc.v.Kind())
			}
		})
	}
}
