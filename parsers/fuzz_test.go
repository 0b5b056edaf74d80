package parsers

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/obsadapter/obsadapter/record"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ (lines taken from the
// golden inputs). Run each target with e.g.
//
//	go test -run '^$' -fuzz '^FuzzStream$' -fuzztime 60s ./parsers/

// checkRecord asserts what every emitted record must satisfy.
func checkRecord(t *testing.T, r record.Record, maxMsg int) {
	t.Helper()
	js := r.AppendJSON(nil)
	if !json.Valid(js) {
		t.Fatalf("invalid JSON: %q", js)
	}
	if n := r.JSONSize(); n != len(js) {
		t.Fatalf("JSONSize %d, AppendJSON %d bytes: %q", n, len(js), js)
	}
	if !utf8.ValidString(r.Message) {
		t.Fatalf("message is not UTF-8: %q", r.Message)
	}
	if len(r.Message) > maxMsg {
		t.Fatalf("message of %d bytes exceeds the bound %d", len(r.Message), maxMsg)
	}
	if r.Format == "" || r.ObservedTime.IsZero() {
		t.Fatalf("record without format or observed time: %s", js)
	}
}

// FuzzStream feeds the input's lines (envelopes, multiline, any format)
// through auto-detection, reusing the caller's buffer, and checks that
// records are valid, bounded (their JSON too: within the larger of
// MaxRecordBytes and the input's length, plus slack, however much escaping
// would expand them) and do not alias that buffer.
func FuzzStream(f *testing.F) {
	f.Add([]byte("2026-11-23T20:31:02Z stdout P {\"a\":\n2026-11-23T20:31:02Z stdout F 1}\n"))
	f.Add([]byte("{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-11-23T20:31:02Z\"}\n"))
	f.Add([]byte("ERROR:app:boom\nTraceback (most recent call last):\n  File \"x\"\nValueError: v\n"))
	f.Add([]byte(strings.Repeat("\x00", 1000) + "\n{\"msg\":\"" + strings.Repeat("\x01\"", 500) + "\",\"a\":\"\x02\x02\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.Timezone = "UTC"
		cfg.MaxRecordBytes = 1024
		s, err := NewStream(cfg, Meta{Source: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		maxMsg := cfg.MaxRecordBytes + len(data)*3 + 16
		maxJSON := max(cfg.MaxRecordBytes, len(data)) + slack
		check := func(r record.Record) {
			t.Helper()
			checkRecord(t, r, maxMsg)
			if n := r.JSONSize(); n > maxJSON {
				t.Fatalf("%d bytes of JSON, over the bound %d", n, maxJSON)
			}
		}
		buf := make([]byte, 0, 256)
		var kept []record.Record
		var snapshots [][]byte
		now := testNow
		for line := range bytes.Lines(data) {
			buf = append(buf[:0], bytes.TrimSuffix(line, []byte("\n"))...)
			for _, r := range s.Feed(buf, record.Position{}, false, now) {
				check(r)
				kept = append(kept, r)
				snapshots = append(snapshots, r.AppendJSON(nil))
			}
			for i := range buf {
				buf[i] = 0xff
			}
			now = now.Add(300 * time.Millisecond)
			for _, r := range s.Flush(now) {
				check(r)
			}
		}
		for _, r := range s.FlushAll(now) {
			check(r)
		}
		for i := range kept {
			if got := kept[i].AppendJSON(nil); !bytes.Equal(got, snapshots[i]) {
				t.Fatalf("record changed after its line's buffer was reused:\n%s\n%s", snapshots[i], got)
			}
		}
		if _, ok := s.Resume(); ok {
			t.Fatal("something still held after FlushAll")
		}
	})
}

// FuzzEnvelope checks the CRI and docker unwrappers on single lines.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte("2026-11-23T20:31:02.123456789Z stderr F hello"))
	f.Add([]byte(`{"log":"a\u00e9\n","stream":"stdout","time":"2026-11-23T20:31:02Z","attrs":{"k":[1,{"x":null}]}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if e, ok := parseCRI(line, &minuteCache{}); ok {
			if !bytes.HasSuffix(line, e.content) || e.stream == streamNone {
				t.Fatalf("CRI content %q is not the line's tail", e.content)
			}
		}
		if e, _, ok := parseDocker(line, nil); ok {
			var v struct {
				Log string `json:"log"`
			}
			// Compare only valid UTF-8: encoding/json replaces each invalid
			// byte, the stream replaces runs of them later.
			if err := json.Unmarshal(line, &v); err == nil && utf8.Valid(line) {
				want := strings.TrimSuffix(strings.TrimSuffix(v.Log, "\n"), "\r")
				if !e.partial && string(e.content) != want && strings.HasSuffix(v.Log, "\n") {
					t.Fatalf("docker log %q, encoding/json says %q", e.content, want)
				}
			}
		}
	})
}

func newFuzzParser() *parser {
	var buf []byte
	return &parser{loc: time.UTC, now: testNow, buf: &buf}
}

// FuzzJSON checks that every JSON object encoding/json accepts is accepted,
// that parsing never panics and that no object, at any level, keeps a key
// twice.
func FuzzJSON(f *testing.F) {
	f.Add(`{"level":"info","msg":"x","n":[1,2.5,{"a":null}],"t":true}`)
	f.Add(`{"ts":1795466662.5,"lvl":40,"message":"\ud83d\ude00 \"q\""}`)
	f.Add(`{"a":1,"b":{"c":1,"c":[{"d":1,"d":2}]},"a":2,"msg":"x","msg":"y"}`)
	f.Fuzz(func(t *testing.T, line string) {
		p := newFuzzParser()
		var r record.Record
		ok := parseJSON(p, line, &r)
		trimmed := strings.TrimSpace(line)
		if !ok && json.Valid([]byte(line)) && strings.HasPrefix(trimmed, "{") && utf8.ValidString(line) && nestingDepth(line) < maxJSONDepth {
			t.Fatalf("valid JSON object rejected: %q", line)
		}
		if ok {
			checkRecordParts(t, r)
			assertNoDupKeys(t, r.Fields)
		}
	})
}

func nestingDepth(s string) int {
	d, max := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			d++
			if d > max {
				max = d
			}
		case '}', ']':
			d--
		}
	}
	return max
}

func checkRecordParts(t *testing.T, r record.Record) {
	t.Helper()
	r.ObservedTime = testNow
	if js := r.AppendJSON(nil); !json.Valid(js) {
		t.Fatalf("invalid JSON: %q", js)
	}
}

// FuzzLogfmt checks the logfmt parser: no panics, and every accepted line
// has non-empty keys.
func FuzzLogfmt(f *testing.F) {
	f.Add(`time=2026-11-23T20:31:02Z level=info msg="a \"b\"" k= x=1`)
	f.Fuzz(func(t *testing.T, line string) {
		p := newFuzzParser()
		var r record.Record
		if parseLogfmt(p, line, &r) {
			for _, fl := range r.Fields {
				if fl.Key == "" {
					t.Fatalf("empty key from %q", line)
				}
			}
			checkRecordParts(t, r)
		}
	})
}

// FuzzSyslog checks the RFC 3164/5424 parser: no panics, and the message
// is part of the line.
func FuzzSyslog(f *testing.F) {
	f.Add(`<34>Nov 23 20:31:02 host app[1]: msg`)
	f.Add(`<165>1 2026-11-23T20:31:08.003Z host app - ID47 [id@1 a="1" b="x\]"] msg`)
	f.Fuzz(func(t *testing.T, line string) {
		p := newFuzzParser()
		var r record.Record
		if parseSyslog(p, line, &r) {
			checkRecordParts(t, r)
		}
	})
}

// FuzzTime checks the hand-written time parsers against each other and
// against time.Parse where both accept the input.
func FuzzTime(f *testing.F) {
	for _, s := range []string{"2026-11-23T20:31:02.123456789Z", "2026-11-23 20:31:02,123", "Nov  3 20:31:02", "23/Nov/2026:20:31:02 +0100", "1795466662.25", "Mon Nov 23 20:31:02.123456 2026"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tt, n, ok := isoTime(s, time.UTC); ok {
			if n > len(s) {
				t.Fatalf("consumed %d of %d bytes", n, len(s))
			}
			if ref, err := time.Parse(time.RFC3339Nano, s); err == nil && n == len(s) && !ref.Equal(tt) {
				t.Fatalf("%q: got %v, time.Parse says %v", s, tt, ref)
			}
		}
		if _, n, ok := stampTime(s, time.UTC, testNow); ok && n > len(s) {
			t.Fatalf("stampTime consumed %d of %d", n, len(s))
		}
		if _, n, ok := looseLeadingTime(s, time.UTC, testNow); ok && n > len(s) {
			t.Fatalf("looseLeadingTime consumed %d of %d", n, len(s))
		}
		anyTime(s, time.UTC)
		clfTime(s)
		ctimeTime(s, time.UTC)
		if tt, ok := looseTime(s, time.UTC, testNow); ok && tt.IsZero() {
			t.Fatalf("%q parsed to the zero time", s)
		}
	})
}

// FuzzMinuteCache: the stream's cached ISO and access-log time parsing
// must agree with isoTime and clfTime exactly, whatever time was parsed
// before (prev primes the cache), in UTC and in a zone with DST.
func FuzzMinuteCache(f *testing.F) {
	for _, c := range [][2]string{
		{"2026-11-23T20:31:02.123456Z", "2026-11-23T20:31:59.9+01:00"},
		{"2026-11-23T20:31:02Z", "2026-11-23T20:31:60Z"},
		{"2026-02-28T23:59:00", "2026-02-29T00:00:01"},
		{"2026-02-31T10:00:00Z", "2026-02-31T10:00:05Z"},
		{"2026-03-29 01:59:30", "2026-03-29 02:30:00"},
		{"2026/10/25 02:30:00", "2026/10/25 02:30:00.5 x"},
		{"1969-12-31T23:59:59Z", "2026-11-23T24:00:00Z"},
		{"2026-11-23T20:31:02-0800", "2026-11-23T20:31:0"},
		{"23/Nov/2026:20:31:02 +0000", "23/Nov/2026:20:31:59 -0130"},
		{"31/Nov/2026:20:31:02 +0000", "31/Nov/2026:20:31:03 +0000"},
		{"23/Nov/2026:20:31:02 +0000", "23/Nov/2026:20:31:61 +0000"},
	} {
		f.Add(c[0], c[1])
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, prev, s string) {
		for _, loc := range []*time.Location{time.UTC, berlin} {
			p := &parser{loc: loc}
			p.isoTime(prev)
			got, gotN, gotOK := p.isoTime(s)
			want, wantN, wantOK := isoTime(s, loc)
			if gotOK != wantOK || gotN != wantN || !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("%s after %q: p.isoTime(%q) = %v, %d, %v; isoTime = %v, %d, %v", loc, prev, s, got, gotN, gotOK, want, wantN, wantOK)
			}
			p.clfTime(prev)
			got, gotOK = p.clfTime(s)
			want, wantOK = clfTime(s)
			if gotOK != wantOK || !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("after %q: p.clfTime(%q) = %v, %v; clfTime = %v, %v", prev, s, got, gotOK, want, wantOK)
			}
		}
	})
}

// FuzzLearned throws arbitrary lines at the header learner and its
// timestamp reader: no panic, a valid record, and a layout that, once
// learned, reads the line it was learned from.
func FuzzLearned(f *testing.F) {
	for _, seed := range []string{
		"161203 071405 4187 INFO storage.BlockReceiver: Receiving block blk_1",
		"26/12/03 07:14:05 ERROR scheduler.TaskSetManager: Lost task 3.0",
		"2026-12-03 07:14:05, Warning               CBS    Failed to load package manifest",
		"[12/3/26 7:14:05:123 UTC] 00000001 WsServerImpl  I   WSVR0001I: Server open",
		"Dec 03, 2026 7:14:05 AM org.apache.Foo bar",
		"1796282045.123    123 10.0.0.5 TCP_MISS/200 1234 GET http://x/",
		"[2026-12-03T07:14:05Z INFO  my_crate::server] listening",
		"web-1  | 2026-12-03 07:14:05,123 WARNING [app.db] slow query",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 4096 {
			return
		}
		// The stream hands parsers valid UTF-8 (loadLine); so does this.
		line = strings.ToValidUTF8(line, "\uFFFD")
		var st stamp
		if n, ok := scanStamp(line, &st); ok && (n <= 0 || n > len(line)) {
			t.Fatalf("stamp length %d of %d", n, len(line))
		}
		p := &parser{loc: time.UTC, now: testNow, det: &detector{}}
		var r record.Record
		if parseLearned(p, line, &r) {
			r.Format, r.ObservedTime = "learned", testNow
			checkRecord(t, r, len(line))
			seen := map[string]bool{}
			for _, f := range r.Fields {
				if seen[f.Key] {
					t.Fatalf("field %q twice in %+v from %q", f.Key, r.Fields, line)
				}
				seen[f.Key] = true
			}
			var again record.Record
			if !p.det.learn.cur.apply(p, line, &again) {
				t.Fatalf("the layout %q learned from %q does not read it", p.det.learn.cur.String(), line)
			}
			if again.Message != r.Message || !again.Time.Equal(r.Time) || again.Severity != r.Severity {
				t.Fatalf("reading %q twice differs: %+v then %+v", line, r, again)
			}
		}
	})
}
