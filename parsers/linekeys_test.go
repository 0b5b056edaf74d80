package parsers

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/obsadapter/obsadapter/record"
	"github.com/obsadapter/obsadapter/secrets"
)

// checkLineKeys holds the parsers to what secrets.LineClean's names rely on:
// every key a record holds that is a part of its line (as the stream keeps
// it for the line check) is a key part there (secrets.IsKeyPart), so that a
// name hint elsewhere in the line, in prose or a value, need not send the
// record's keys to be looked up. Keys of objects are not held to it (a
// syslog structured-data ID): redact masks no object for its name, it
// looks at the object's own keys and values.
// It returns how many keys it held to it.
func checkLineKeys(t testing.TB, r *record.Record) (keys int) {
	t.Helper()
	line, _, _ := r.CheckedLine(func(string) (bool, bool) { return true, true })
	if line == "" {
		return 0
	}
	var walk func(fields []record.Field)
	walk = func(fields []record.Field) {
		for _, f := range fields {
			if f.Key != "" && f.Value.Kind() != record.KindObject && secrets.InLine(line, f.Key) {
				a := int(uintptr(unsafe.Pointer(unsafe.StringData(f.Key))) - uintptr(unsafe.Pointer(unsafe.StringData(line))))
				if !secrets.IsKeyPart(line, a, a+len(f.Key)) {
					t.Fatalf("%s record: the key %q, cut from its line, is not a key part of %q", r.Format, f.Key, line)
				}
				keys++
			}
			if f.Value.Kind() == record.KindObject {
				walk(f.Value.Object())
			}
		}
	}
	walk(r.Fields)
	return keys
}

// parseChecked parses data's lines as a stream that keeps them for the
// line check.
func parseChecked(t testing.TB, data []byte) []record.Record {
	s := newTestStream(t, nil)
	s.CheckLines(true)
	var recs []record.Record
	for line := range bytes.Lines(data) {
		recs = s.FeedAppend(recs, bytes.TrimSuffix(line, []byte("\n")), record.Position{}, false, testNow)
	}
	return append(recs, s.FlushAll(testNow)...)
}

// TestLineKeysAreKeyParts: every format's test lines, parsed for the line
// check, hold only keys that are key parts of their lines.
func TestLineKeysAreKeyParts(t *testing.T) {
	logs, err := filepath.Glob("testdata/*/*.log")
	if err != nil || len(logs) < 40 {
		t.Fatalf("found %d test files: %v", len(logs), err)
	}
	keys := 0
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		recs := parseChecked(t, data)
		for i := range recs {
			keys += checkLineKeys(t, &recs[i])
		}
	}
	if keys < 200 {
		t.Errorf("only %d keys cut from their lines: the test sees too few to tell", keys)
	}
}

// FuzzLineKeys: whatever the lines, keys cut from them are key parts.
func FuzzLineKeys(f *testing.F) {
	for _, seed := range []string{`{"msg":"a","pass word":"x","n":{"key":1}}`, `ts=1 msg="x y" api_key=z`,
		`I1123 20:31:02.007434   32568 kubelet.go:295] "Observed" pod="a/b" key="v"`,
		`<34>1 2026-11-23T20:31:02Z host app 1 ID47 [x@1 key="v" a="b"] msg`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := parseChecked(t, data)
		for i := range recs {
			checkLineKeys(t, &recs[i])
		}
	})
}

// TestOrderedTextsFrom: a record of an ordered format (JSON, logfmt) keeps
// its line from where its texts start (textsFrom): every text it cut from
// its line, nested ones too, lies in what it keeps. Each line of the
// formats' test files and of FuzzOrderedTextsFrom's is parsed alone, so
// that the line the record keeps is the end of the stream's copy of it.
func TestOrderedTextsFrom(t *testing.T) {
	logs, err := filepath.Glob("testdata/*/*.log")
	if err != nil || len(logs) < 40 {
		t.Fatalf("found %d test files: %v", len(logs), err)
	}
	trimmed := 0
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for line := range bytes.Lines(data) {
			trimmed += checkTextsFrom(t, bytes.TrimSuffix(line, []byte("\n")))
		}
	}
	if trimmed < 50 {
		t.Errorf("only %d lines kept from their texts: the test sees too few to tell", trimmed)
	}
}

func FuzzOrderedTextsFrom(f *testing.F) {
	for _, seed := range []string{`{"ts":"2026-12-05T07:31:29Z","level":"info","msg":"a","n":{"key":"v"},"l":["x"]}`,
		`{"a":"b","msg":"m"}`, `{"level":"bogus","":"","msg":"x"}`, `ts=1 level=info msg="x y" k=v k=w`,
		`{"ts":1,"msg":"a \"b\"","k\u0041":"v"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// One line, which the stream copies as it is (it mends invalid
		// UTF-8).
		if !bytes.ContainsAny(line, "\n\r") && utf8.Valid(line) {
			checkTextsFrom(t, line)
		}
	})
}

// checkTextsFrom parses line alone and holds its record, if of an ordered
// format and keeping a line, to it; 1 when the line kept is shorter.
func checkTextsFrom(t *testing.T, line []byte) int {
	t.Helper()
	s := newTestStream(t, nil)
	s.CheckLines(true)
	recs := append(s.FeedAppend(nil, line, record.Position{}, false, testNow), s.FlushAll(testNow)...)
	if len(recs) != 1 || !orderedFormat(recs[0].Format) || recs[0].Stream != "" {
		return 0 // none, several, not ordered, or in a container runtime's envelope
	}
	r := &recs[0]
	kept, _, _ := r.CheckedLine(func(string) (bool, bool) { return true, true })
	if kept == "" {
		return 0
	}
	// What is kept is the stream's copy of line from some place on, then
	// the values made after it.
	full := ""
	for from := 0; from <= len(line) && full == ""; from++ {
		at := unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(kept)), -from)), len(line))
		if len(kept) >= len(line)-from && at == string(line) {
			full = at
		}
	}
	if full == "" {
		t.Fatalf("%q: the line kept, %q, is not the line's copy from a place in it on", line, kept)
	}
	text := func(s string) {
		if s != "" && secrets.InLine(full, s) && !secrets.InLine(kept, s) {
			t.Errorf("%q: the text %q lies before the line kept, %q", line, s, kept)
		}
	}
	text(r.Message)
	var walk func(fields []record.Field)
	var value func(v record.Value)
	value = func(v record.Value) {
		switch v.Kind() {
		case record.KindString:
			text(v.Str())
		case record.KindObject:
			walk(v.Object())
		case record.KindArray:
			for _, it := range v.Array() {
				value(it)
			}
		}
	}
	walk = func(fields []record.Field) {
		for _, f := range fields {
			text(f.Key)
			value(f.Value)
		}
	}
	walk(r.Fields)
	if unsafe.StringData(kept) != unsafe.StringData(full) {
		return 1
	}
	return 0
}

func orderedFormat(name string) bool {
	for _, f := range formats {
		if f.name == name {
			return f.ordered
		}
	}
	return false
}
