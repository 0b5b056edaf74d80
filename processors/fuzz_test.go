package processors

import (
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

// FuzzRedact plants a secret of the shared table on a line of its own
// between fuzzed text, in the message and in a field: it never survives,
// the input record is never written to, and redacting twice changes
// nothing more. The argument-vector rules are left out: their words can be
// grouped by a quote the fuzzed text opens.
func FuzzRedact(f *testing.F) {
	var leaks []leak
	for _, l := range readLeaks(f) {
		if l.rule != "-" && l.rule != "flag-value" && l.rule != "client-flag" {
			leaks = append(leaks, l)
		}
	}
	f.Add("", "", uint(0))
	f.Add(`{"a":"`, "password=", uint(3))
	f.Add("Bearer ", "eyJ.eyJ.", uint(7))
	f.Add("\xff\x00 4111", "-----BEGIN ", uint(11))
	env := testEnv()
	once, err := Build([]Spec{{Redact: &RedactConfig{Rules: []string{"default", "email", "ipv4", "ipv6"}}}}, env)
	if err != nil {
		f.Fatal(err)
	}
	twice, err := Build([]Spec{{Redact: &RedactConfig{Rules: []string{"default", "email", "ipv4", "ipv6"}}}}, env)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, before, after string, pick uint) {
		l := leaks[pick%uint(len(leaks))]
		if strings.Contains(before+after, l.secret[:min(4, len(l.secret))]) {
			return
		}
		text := before + "\n" + l.line + "\n" + after
		in := rec(record.SeverityInfo, text, str("detail", text), str("plain", before))
		orig := string(in.AppendJSON(nil))
		out, _ := once.Process([]record.Record{in}, nil)
		if string(in.AppendJSON(nil)) != orig {
			t.Fatal("input record written to")
		}
		js := string(out[0].AppendJSON(nil))
		if strings.Contains(js, l.secret) {
			t.Fatalf("%s secret survived:\n%s", l.rule, js)
		}
		again, _ := twice.Process([]record.Record{out[0]}, nil)
		if got := string(again[0].AppendJSON(nil)); got != js {
			t.Fatalf("not idempotent:\nonce  %s\ntwice %s", js, got)
		}
	})
}

// FuzzRedactClean: the walk that lets most records through untouched
// (Set.Clean, cleanFields) never passes a record redact would change, for
// values of every kind under fuzzed keys, nested in objects and arrays.
func FuzzRedactClean(f *testing.F) {
	f.Add("password", "hunter2", uint8(0))
	f.Add("token", "x", uint8(1))
	f.Add("msg", "curl -u bob:pw https://a:b@host", uint8(5))
	f.Add("api_key", "", uint8(6))
	f.Add("", "4111 1111 1111 1111", uint8(4))
	c, err := Build([]Spec{{Redact: &RedactConfig{Rules: []string{"default", "email", "ipv4", "ipv6"}}}}, testEnv())
	if err != nil {
		f.Fatal(err)
	}
	x := c.procs[0].(*redact)
	f.Fuzz(func(t *testing.T, key, s string, shape uint8) {
		var v record.Value
		switch shape % 7 {
		case 0:
			v = record.StringValue(s)
		case 1:
			v = record.IntValue(int64(len(s)))
		case 2:
			v = record.NullValue()
		case 3:
			v = record.BoolValue(len(s) > 3)
		case 4:
			v = record.ObjectValue([]record.Field{str(key, s)})
		case 5:
			v = record.ArrayValue([]record.Value{record.StringValue(s), record.ObjectValue([]record.Field{str(key, s)})})
		case 6:
			v = record.ArrayValue(nil)
		}
		fields := []record.Field{{Key: key, Value: v}}
		if _, _, _, changed := x.redactFields(fields); changed && x.cleanFields(fields, "", "") {
			r := record.Record{Fields: fields}
			t.Fatalf("cleanFields passes %s, which redact changes", r.AppendJSON(nil))
		}
		if out, _ := x.set.Redact(s, nil); out != s && x.set.Clean(s) {
			t.Fatalf("Clean passes %q, which redact changes", s)
		}
	})
}
