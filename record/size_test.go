package record

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sizeRecords() []Record {
	t0 := time.Date(2026, 11, 23, 20, 31, 2, 123450000, time.UTC)
	return []Record{
		{ObservedTime: t0},
		{Time: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), ObservedTime: time.Date(12000, 1, 1, 0, 0, 0, 1, time.UTC), Message: "x"},
		{
			Time: t0, ObservedTime: t0, Severity: SeverityError, Message: "a \"q\" \\ \n\r\t\x00\x1f\x7f é 😀 \xff\xfe end",
			Format: "json", Source: "s\x01", Path: "/p\"", Stream: "stderr",
			Kubernetes: &Kubernetes{Namespace: "ns", Pod: "p\n", Node: "n"}, Truncated: true,
			Fields: []Field{
				{Key: "i", Value: IntValue(-42)}, {Key: "min", Value: IntValue(math.MinInt64)}, {Key: "max", Value: IntValue(math.MaxInt64)},
				{Key: "z", Value: IntValue(0)}, {Key: "f", Value: FloatValue(1e20)}, {Key: "g", Value: FloatValue(-1.5e-7)},
				{Key: "nan", Value: FloatValue(math.NaN())}, {Key: "inf", Value: FloatValue(math.Inf(-1))},
				{Key: "b", Value: BoolValue(true)}, {Key: "c", Value: BoolValue(false)}, {Key: "n", Value: NullValue()},
				{Key: "", Value: StringValue("")}, {Key: "k\x00", Value: ObjectValue(nil)}, {Key: "a", Value: ArrayValue(nil)},
				{Key: "o", Value: ObjectValue([]Field{{Key: "x", Value: ArrayValue([]Value{IntValue(1), StringValue("\x02"), ObjectValue([]Field{{Key: "y", Value: NullValue()}})})}})},
			},
		},
		{ObservedTime: t0, Kubernetes: &Kubernetes{}, Severity: Severity(24)},
	}
}

func TestJSONSize(t *testing.T) {
	for _, r := range sizeRecords() {
		if got, want := r.JSONSize(), len(r.AppendJSON(nil)); got != want {
			t.Errorf("JSONSize %d, AppendJSON %d bytes: %s", got, want, r.AppendJSON(nil))
		}
	}
	for _, s := range []string{"", "abc", "\x00", "\"\\", "é", "\xff", "\xe2\x82", "😀\x7f"} {
		if got, want := JSONStringSize(s), len(AppendJSONString(nil, s)); got != want {
			t.Errorf("JSONStringSize(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestCutJSONString(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want string
	}{
		{"abc", 2, "ab"},
		{"\x00\x00", 11, "\x00"},
		{"\x00\x00", 12, "\x00\x00"},
		{"a\"b", 2, "a"},
		{"a\"b", 3, "a\""},
		{"é😀", 5, "é"},
		{"é😀", 6, "é😀"},
		{"\xffx", 2, ""},
		{"\xffx", 3, "\xff"},
		{"x", 0, ""},
	} {
		if got := CutJSONString(tc.s, tc.max); got != tc.want {
			t.Errorf("CutJSONString(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}

func TestFitJSON(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 20, 31, 2, 0, time.UTC)
	const limit = 1<<20 + 4096
	big := func(c string) string { return strings.Repeat(c, 1<<20) }
	for _, tc := range []struct {
		name string
		r    Record
	}{
		{"NUL message", Record{ObservedTime: t0, Message: big("\x00"), Format: "plain", Path: "/var/log/x.log"}},
		{"control message", Record{ObservedTime: t0, Message: big("\x01\x1f\t")}},
		{"quotes", Record{ObservedTime: t0, Message: big(`"\`)}},
		{"mixed runes", Record{ObservedTime: t0, Message: strings.Repeat("é\x00😀\"", 1<<18)}},
		{"field values", Record{ObservedTime: t0, Message: "short", Fields: []Field{
			{Key: "user", Value: StringValue("bob")},
			{Key: "blob", Value: StringValue(big("\x00"))},
			{Key: "nested", Value: ObjectValue([]Field{{Key: "a", Value: ArrayValue([]Value{StringValue(big("\"")), IntValue(7)})}})},
			{Key: "after", Value: StringValue("kept")},
		}}},
		{"numbers", Record{ObservedTime: t0, Message: "m", Fields: []Field{
			{Key: "user", Value: StringValue("bob")},
			{Key: "nums", Value: ArrayValue(floats(200000))},
		}}},
	} {
		r := tc.r
		before := string(ObjectValue(r.Fields).AppendJSON(nil))
		if !r.FitJSON(limit) {
			t.Fatalf("%s: not cut", tc.name)
		}
		js := r.AppendJSON(nil)
		if len(js) > limit || len(js) < limit-64 && tc.name != "numbers" {
			t.Errorf("%s: %d bytes, limit %d", tc.name, len(js), limit)
		}
		if r.JSONSize() != len(js) || !r.Truncated || !json.Valid(js) || !utf8.ValidString(r.Message) {
			t.Errorf("%s: size %d of %d, truncated %v, valid %v", tc.name, r.JSONSize(), len(js), r.Truncated, json.Valid(js))
		}
		if !strings.HasPrefix(tc.r.Message, r.Message) {
			t.Errorf("%s: the message is not a prefix of the original", tc.name)
		}
		if after := string(ObjectValue(tc.r.Fields).AppendJSON(nil)); after != before {
			t.Errorf("%s: the original fields changed", tc.name)
		}
		switch tc.name {
		case "field values":
			if v, _ := r.Lookup("user"); v.Str() != "bob" {
				t.Errorf("short field cut: %v", v)
			}
			if v, _ := r.Lookup("after"); v.Str() != "kept" || r.Message != "short" {
				t.Errorf("short field cut: %v", v)
			}
		case "numbers":
			if len(r.Fields) != 1 || r.Fields[0].Key != "user" {
				t.Errorf("fields %d", len(r.Fields))
			}
		}
	}
	small := Record{ObservedTime: t0, Message: strings.Repeat("\x00", 100)}
	if small.FitJSON(limit) || small.Truncated {
		t.Error("a small record was cut")
	}
	huge := Record{ObservedTime: t0, Message: "m", Path: strings.Repeat("p", 100), Fields: []Field{{Key: "k", Value: IntValue(1)}}}
	if !huge.FitJSON(60) || huge.Message != "" || huge.Fields != nil {
		t.Errorf("own keys over the limit: %s", huge.AppendJSON(nil))
	}
}

func floats(n int) []Value {
	out := make([]Value, n)
	for i := range out {
		out[i] = FloatValue(1e20)
	}
	return out
}
