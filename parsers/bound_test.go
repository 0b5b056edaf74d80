package parsers

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

// TestEscapedSizeBound: a line whose escaped form would multiply its size
// is cut so that its record's JSON stays within the larger of
// max_record_bytes and the line's length, plus 4 KiB; it is marked
// truncated and counted once. Lines whose JSON is no longer than
// themselves are not cut.
func TestEscapedSizeBound(t *testing.T) {
	const mib = 1 << 20
	rep := func(s string, n int) string { return strings.Repeat(s, n/len(s)+1)[:n] }
	trace := []string{"Exception in thread \"main\" java.lang.IllegalStateException: boom"}
	for i := 0; i < 20; i++ {
		trace = append(trace, "\tat "+rep("\x00", 64<<10))
	}
	for _, tc := range []struct {
		name  string
		lines []string
		cut   bool
	}{
		{"NUL", []string{rep("\x00", mib)}, true},
		{"control", []string{rep("\x01\x02\x1f\x7f\x08\x0c", mib)}, true},
		{"quotes", []string{rep(`"\`, mib)}, true},
		{"tabs and text", []string{rep("a\tb\"c", mib)}, true},
		{"json raw control", []string{`{"level":"error","msg":"` + rep("\x00", mib-64) + `","user":"bob"}`}, true},
		{"json escaped", []string{`{"msg":"` + rep(`\u0000`, 6*(mib/6-20)) + `"}`}, false},
		// Docker escapes the control characters it stores: the envelope is as
		// long as the record's JSON.
		{"docker", []string{`{"log":"` + rep(`\u0000`, 6*(mib/6-20)) + `\n","stream":"stdout","time":"2026-11-23T20:31:02Z"}`}, false},
		{"multiline", trace, true},
		{"plain text", []string{rep("abc ", mib)}, false},
		{"one short NUL line", []string{rep("\x00", 100)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStream(t, nil)
			var recs []record.Record
			var raw int
			for _, l := range tc.lines {
				raw = max(raw, len(l))
				recs = append(recs, s.Feed([]byte(l), record.Position{}, false, testNow)...)
			}
			recs = append(recs, s.FlushAll(testNow)...)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			js := r.AppendJSON(nil)
			limit := max(mib, raw) + 4<<10
			if len(js) > limit || !json.Valid(js) {
				t.Fatalf("%d bytes of JSON (valid %v), limit %d", len(js), json.Valid(js), limit)
			}
			if r.Truncated != tc.cut {
				t.Fatalf("truncated %v, want %v (%d bytes)", r.Truncated, tc.cut, len(js))
			}
			want := uint64(0)
			if tc.cut {
				want = 1
				// Cut close to the limit, not far below it.
				if len(js) < limit-64 {
					t.Errorf("%d bytes, far below the limit %d", len(js), limit)
				}
			}
			if st := s.Stats(); st.Truncated != want {
				t.Errorf("counted %d truncated, want %d", st.Truncated, want)
			}
			if tc.name == "json raw control" {
				if v, _ := r.Lookup("user"); v.Str() != "bob" || r.Level() != record.LevelError {
					t.Errorf("the short field or the level was lost: %s", js[:200])
				}
			}
		})
	}
}

// TestEscapedSizeBoundOnceCounted: a line the framer cut and escaping would
// blow up is cut again but counted once.
func TestEscapedSizeBoundOnceCounted(t *testing.T) {
	s := newTestStream(t, func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} })
	line := bytes.Repeat([]byte{0}, 1<<20)
	recs := s.Feed(line, record.Position{}, true, testNow)
	if len(recs) != 1 || !recs[0].Truncated || len(recs[0].AppendJSON(nil)) > 1<<20+4<<10 {
		t.Fatalf("%d records", len(recs))
	}
	if st := s.Stats(); st.Truncated != 1 {
		t.Fatalf("counted %d", st.Truncated)
	}
}
