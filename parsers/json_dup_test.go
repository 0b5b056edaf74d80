package parsers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

// TestJSONDuplicateKeys: the last value of a repeated key wins, at every
// level, in the key's first position.
func TestJSONDuplicateKeys(t *testing.T) {
	many := func(n int, dup string) string {
		var b strings.Builder
		b.WriteString(`{"msg":"m"`)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `,"k%d":%d`, i, i)
		}
		return b.String() + dup + "}"
	}
	tests := []struct {
		line, want string // want: the message, a space and the fields' JSON
	}{
		{`{"a":1,"a":2}`, ` {"a":2}`},
		{`{"a":1,"b":2,"a":3}`, ` {"a":3,"b":2}`},
		{`{"a":1,"a":"x","a":[true]}`, ` {"a":[true]}`},
		{`{"msg":"first","msg":"second"}`, `second null`},
		{`{"level":"info","x":1,"level":"error","level":"warn"}`, ` {"x":1}`},
		{`{"msg":"m","o":{"b":1,"b":{"c":1,"c":2},"d":[{"e":1,"e":2}]},"o":{"z":0,"z":1}}`, `m {"o":{"z":1}}`},
		{`{"msg":"m","o":{"b":1,"b":{"c":1,"c":2},"d":[{"e":1,"e":2}]}}`, `m {"o":{"b":{"c":2},"d":[{"e":2}]}}`},
		{`{"":1,"":2,"a\u0062":3,"ab":4}`, ` {"":2,"ab":4}`},
		{`{"A":1,"a":2}`, ` {"A":1,"a":2}`},
		// Past indexAbove keys the map index takes over.
		{many(100, `,"k3":"x","k99":"y","k100":100`), ""},
	}
	for _, tc := range tests {
		s := newTestStream(t, func(c *Config) { c.Format = "json"; c.Multiline = Multiline{Mode: MultilineOff} })
		recs := s.Feed([]byte(tc.line), record.Position{}, false, testNow)
		if len(recs) != 1 || recs[0].Format != "json" {
			t.Fatalf("%s: %+v", tc.line, recs)
		}
		js := string(recs[0].AppendJSON(nil))
		if strings.Contains(tc.line, `"level"`) && recs[0].Level() != record.LevelWarn {
			t.Errorf("%s: level %v, want the last one, warn", tc.line, recs[0].Level())
		}
		if tc.want != "" {
			fields := "null"
			if recs[0].Fields != nil {
				fields = string(record.ObjectValue(recs[0].Fields).AppendJSON(nil))
			}
			if got := recs[0].Message + " " + fields; got != tc.want {
				t.Errorf("%s\n got %s\nwant %s", tc.line, got, tc.want)
			}
			continue
		}
		fs := recs[0].Fields
		if len(fs) != 101 || fs[3].Key != "k3" || fs[3].Value.Str() != "x" || fs[99].Value.Str() != "y" || fs[100].Key != "k100" {
			t.Errorf("%d keys: %s", len(fs), js)
		}
		assertNoDupKeys(t, recs[0].Fields)
	}
}

// assertNoDupKeys fails when an object at any level repeats a key.
func assertNoDupKeys(t *testing.T, fields []record.Field) {
	t.Helper()
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if seen[f.Key] {
			t.Fatalf("key %q twice in %s", f.Key, record.ObjectValue(fields).AppendJSON(nil))
		}
		seen[f.Key] = true
		assertNoDupKeysIn(t, f.Value)
	}
}

func assertNoDupKeysIn(t *testing.T, v record.Value) {
	t.Helper()
	switch v.Kind() {
	case record.KindObject:
		assertNoDupKeys(t, v.Object())
	case record.KindArray:
		for _, item := range v.Array() {
			assertNoDupKeysIn(t, item)
		}
	}
}
