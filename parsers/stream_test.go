package parsers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

var testNow = time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)

func newTestStream(t testing.TB, mutate func(*Config)) *Stream {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Timezone = "UTC"
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewStream(cfg, Meta{Source: "app", Path: "/var/log/app.log"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// feedAll feeds lines (scribbling over each line's buffer afterwards, as a
// reusing caller would) and returns every record including those flushed at
// EOF, as JSON.
func feedAll(t testing.TB, s *Stream, lines []string) []string {
	t.Helper()
	var out []string
	var off int64
	buf := make([]byte, 0, 4096)
	for _, l := range lines {
		off += int64(len(l)) + 1
		buf = append(buf[:0], l...)
		for _, r := range s.Feed(buf, record.Position{Offset: off}, false, testNow) {
			out = append(out, string(r.AppendJSON(nil)))
		}
		for i := range buf {
			buf[i] = '#'
		}
	}
	for _, r := range s.FlushAll(testNow) {
		out = append(out, string(r.AppendJSON(nil)))
	}
	return out
}

const obs = `"observed_time":"2026-11-23T21:00:00Z"`

func TestStreamFeed(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*Config)
		lines []string
		want  []string
	}{
		{
			name:  "json with aliases and nesting",
			lines: []string{`{"ts":"2026-11-23T20:31:02.123456Z","level":"warn","msg":"slow \"query\"","http":{"status":500},"n":1.5,"ok":true,"tags":["a"]}`},
			want:  []string{`{"time":"2026-11-23T20:31:02.123456Z",` + obs + `,"level":"warn","severity":13,"message":"slow \"query\"","format":"json","source":"app","path":"/var/log/app.log","fields":{"http":{"status":500},"n":1.5,"ok":true,"tags":["a"]}}`},
		},
		{
			name:  "pino numeric level and epoch ms",
			lines: []string{`{"level":50,"time":1795465862123,"pid":7,"hostname":"h","msg":"boom"}`},
			want:  []string{`{"time":"2026-11-23T20:31:02.123Z",` + obs + `,"level":"error","severity":17,"message":"boom","format":"json","source":"app","path":"/var/log/app.log","fields":{"pid":7,"hostname":"h"}}`},
		},
		{
			name:  "logfmt",
			lines: []string{`time="2026-11-23T20:31:02Z" level=info msg="user \"bob\" logged in" user=bob empty=`},
			want:  []string{`{"time":"2026-11-23T20:31:02Z",` + obs + `,"level":"info","severity":9,"message":"user \"bob\" logged in","format":"logfmt","source":"app","path":"/var/log/app.log","fields":{"user":"bob","empty":""}}`},
		},
		{
			name:  "plain with ansi and invalid utf8, blank lines skipped",
			lines: []string{"\x1b[32mhello\x1b[0m w\xffrld", "", "   "},
			want:  []string{`{` + obs + `,"message":"hello w` + "\uFFFD" + `rld","format":"plain","source":"app","path":"/var/log/app.log"}`},
		},
		{
			name: "cri partial lines rejoined per stream",
			lines: []string{
				`2026-11-23T20:31:02.000000001Z stdout P {"level":"info",`,
				`2026-11-23T20:31:02.000000002Z stderr F plain on stderr`,
				`2026-11-23T20:31:02.000000003Z stdout F "msg":"joined"}`,
			},
			want: []string{
				`{"time":"2026-11-23T20:31:02.000000001Z",` + obs + `,"level":"info","severity":9,"message":"joined","format":"json","source":"app","path":"/var/log/app.log","stream":"stdout"}`,
				`{"time":"2026-11-23T20:31:02.000000002Z",` + obs + `,"message":"plain on stderr","format":"plain","source":"app","path":"/var/log/app.log","stream":"stderr"}`,
			},
		},
		{
			name: "docker json-file with partial",
			lines: []string{
				`{"log":"level=warn msg=\"par","stream":"stderr","time":"2026-11-23T20:31:02.5Z"}`,
				`{"log":"tial\"\n","stream":"stderr","time":"2026-11-23T20:31:02.6Z"}`,
			},
			want: []string{`{"time":"2026-11-23T20:31:02.5Z",` + obs + `,"level":"warn","severity":13,"message":"partial","format":"logfmt","source":"app","path":"/var/log/app.log","stream":"stderr"}`},
		},
		{
			name: "java stack trace joined",
			lines: []string{
				`level=error msg="request failed"`,
				`java.lang.IllegalStateException: boom`,
				"\tat com.example.A.b(A.java:10)",
				`Caused by: java.io.IOException: disk`,
				"\t... 3 more",
				`level=info msg=next`,
			},
			want: []string{
				`{` + obs + `,"level":"error","severity":17,"message":"request failed\njava.lang.IllegalStateException: boom\n\tat com.example.A.b(A.java:10)\nCaused by: java.io.IOException: disk\n\t... 3 more","format":"logfmt","source":"app","path":"/var/log/app.log","fields":{"exception":{"type":"java.lang.IllegalStateException"}}}`,
				`{` + obs + `,"level":"info","severity":9,"message":"next","format":"logfmt","source":"app","path":"/var/log/app.log"}`,
			},
		},
		{
			name:  "json with a log key is not a docker envelope",
			lines: []string{`{"log":"app message","level":"info"}`},
			want:  []string{`{` + obs + `,"level":"info","severity":9,"message":"app message","format":"json","source":"app","path":"/var/log/app.log"}`},
		},
		{
			name:  "multiline off",
			cfg:   func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} },
			lines: []string{"a", "\tb"},
			want: []string{
				`{` + obs + `,"message":"a","format":"plain","source":"app","path":"/var/log/app.log"}`,
				`{` + obs + `,"message":"b","format":"plain","source":"app","path":"/var/log/app.log"}`,
			},
		},
		{
			name:  "multiline start pattern",
			cfg:   func(c *Config) { c.Multiline = Multiline{Mode: MultilineStart, Start: `^\d{4}-`} },
			lines: []string{"2026-11-23 20:31:02 [ERROR] first", "unindented detail", "2026-11-23 20:31:03 [INFO] second"},
			want: []string{
				`{"time":"2026-11-23T20:31:02Z",` + obs + `,"level":"error","severity":17,"message":"first\nunindented detail","format":"learned","source":"app","path":"/var/log/app.log"}`,
				`{"time":"2026-11-23T20:31:03Z",` + obs + `,"level":"info","severity":9,"message":"second","format":"learned","source":"app","path":"/var/log/app.log"}`,
			},
		},
		{
			name:  "forced format that does not match stays plain",
			cfg:   func(c *Config) { c.Format = "json" },
			lines: []string{"not json"},
			want:  []string{`{` + obs + `,"message":"not json","format":"plain","source":"app","path":"/var/log/app.log"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStream(t, tt.cfg)
			got := feedAll(t, s, tt.lines)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestStreamHoldAndResume(t *testing.T) {
	s := newTestStream(t, nil)
	if _, ok := s.Deadline(); ok {
		t.Fatal("deadline with nothing held")
	}
	recs := s.Feed([]byte("first"), record.Position{Offset: 6}, false, testNow)
	if len(recs) != 0 {
		t.Fatalf("first line emitted at once: %v", recs)
	}
	if p, ok := s.Resume(); !ok || p.Offset != 0 {
		t.Fatalf("Resume = %v, %v; want 0, true", p, ok)
	}
	s.Feed([]byte("\tcontinued"), record.Position{Offset: 17}, true, testNow.Add(500*time.Millisecond))
	recs = s.Feed([]byte("second"), record.Position{Offset: 24}, false, testNow.Add(600*time.Millisecond))
	if len(recs) != 1 || recs[0].Pos.Offset != 17 || !recs[0].Truncated || recs[0].Message != "first\n\tcontinued" {
		t.Fatalf("got %+v", recs)
	}
	if p, ok := s.Resume(); !ok || p.Offset != 17 {
		t.Fatalf("Resume = %v, %v; want 17, true", p, ok)
	}
	d, ok := s.Deadline()
	if !ok || !d.Equal(testNow.Add(1600*time.Millisecond)) {
		t.Fatalf("Deadline = %v, %v", d, ok)
	}
	if recs := s.Flush(d.Add(-time.Nanosecond)); len(recs) != 0 {
		t.Fatal("flushed before the deadline")
	}
	if recs := s.Flush(d); len(recs) != 1 || recs[0].Message != "second" || recs[0].Pos.Offset != 24 {
		t.Fatalf("Flush at deadline = %+v", recs)
	}
	if _, ok := s.Resume(); ok {
		t.Fatal("Resume with nothing held")
	}
	st := s.Stats()
	if st != (Stats{Lines: 3, Records: 2, Multiline: 1, Truncated: 1}) {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestCRIPartialTimeout(t *testing.T) {
	s := newTestStream(t, func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} })
	s.Feed([]byte("2026-11-23T20:31:02Z stdout P half"), record.Position{Offset: 35}, false, testNow)
	if p, ok := s.Resume(); !ok || p.Offset != 0 {
		t.Fatalf("Resume = %v %v", p, ok)
	}
	recs := s.Flush(testNow.Add(time.Second))
	if len(recs) != 1 || recs[0].Message != "half" || recs[0].Stream != "stdout" || recs[0].Pos.Offset != 35 {
		t.Fatalf("got %+v", recs)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"forced format", func(c *Config) { c.Format = "klog" }, ""},
		{"forced envelope", func(c *Config) { c.Format = "cri" }, ""},
		{"regex", func(c *Config) { c.Format, c.Regex, c.TimeLayout = "regex", `^(?P<message>.*)$`, "2006" }, ""},
		{"regex without format", func(c *Config) { c.Regex = `(?P<message>.*)` }, `regex: only used with format regex, not "auto"`},
		{"unknown format", func(c *Config) { c.Format = "xml" }, `format: unknown format "xml" (known: auto, regex, cri, docker, json`},
		{"regex without groups", func(c *Config) { c.Format, c.Regex = "regex", `^\d+ .*$` }, "regex: missing named group"},
		{"regex invalid", func(c *Config) { c.Format, c.Regex = "regex", `(` }, "regex: error parsing regexp"},
		{"bad start", func(c *Config) { c.Multiline = Multiline{Mode: MultilineStart, Start: "["} }, "multiline.start: "},
		{"bad timeout", func(c *Config) { c.MultilineTimeout = 0 }, "multiline_timeout: must be positive"},
		{"bad zone", func(c *Config) { c.Timezone = "Mars/Olympus" }, "timezone: "},
		{"small record bound", func(c *Config) { c.MaxRecordBytes = 10 }, "max_record_bytes: must be at least 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.cfg(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

// TestRecordsKeepTheirText: records share blocks of text and fields with
// the records parsed after them (slabs), so a record must read the same
// long after it was emitted, however many lines followed.
func TestRecordsKeepTheirText(t *testing.T) {
	var lines []string
	for _, dir := range []string{"mixed", "json", "logfmt", "multiline", "cri", "docker"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.log"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
		}
	}
	if len(lines) < 100 {
		t.Fatalf("only %d lines of testdata", len(lines))
	}
	s := newTestStream(t, nil)
	var kept []record.Record
	var want []string
	buf := make([]byte, 0, 4096)
	take := func(rs []record.Record) {
		for _, r := range rs {
			kept = append(kept, r)
			want = append(want, string(r.AppendJSON(nil)))
		}
	}
	// Enough rounds to fill many text and field blocks.
	for round := 0; round < 50; round++ {
		for _, l := range lines {
			buf = append(buf[:0], l...)
			take(s.Feed(buf, record.Position{}, false, testNow))
			for i := range buf {
				buf[i] = '#'
			}
		}
		take(s.FlushAll(testNow))
	}
	for i := range kept {
		if got := string(kept[i].AppendJSON(nil)); got != want[i] {
			t.Fatalf("record %d changed after it was emitted:\nthen %s\nnow  %s", i, want[i], got)
		}
	}
}

// FeedAppend must give exactly Feed's records, after whatever dst held,
// whose records it must not touch.
func TestFeedAppendMatchesFeed(t *testing.T) {
	lines := []string{
		`{"level":"info","msg":"one","user":"bob"}`,
		`2026-11-23 20:31:02,123 ERROR [main] com.example.App - boom`,
		"java.lang.IllegalStateException: bad",
		"\tat com.example.App.run(App.java:10)",
		`level=warn msg="two" n=3`,
		"plain text",
	}
	now := time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)
	meta := Meta{Source: "app", Path: "/var/log/app.log"}
	a, err := NewStream(DefaultConfig(), meta)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewStream(DefaultConfig(), meta)
	var want []string
	for i, l := range lines {
		for _, r := range a.Feed([]byte(l), record.Position{Offset: int64(i + 1)}, false, now) {
			want = append(want, string(r.AppendJSON(nil)))
		}
	}
	for _, r := range a.FlushAll(now) {
		want = append(want, string(r.AppendJSON(nil)))
	}
	sentinel := record.Record{Message: "already in the batch"}
	dst := []record.Record{sentinel}
	for i, l := range lines {
		dst = b.FeedAppend(dst, []byte(l), record.Position{Offset: int64(i + 1)}, false, now)
	}
	dst = append(dst, b.FlushAll(now)...)
	if dst[0].Message != sentinel.Message {
		t.Fatalf("dst[0] changed to %q", dst[0].Message)
	}
	var got []string
	for _, r := range dst[1:] {
		got = append(got, string(r.AppendJSON(nil)))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("FeedAppend gave\n%s\nFeed gave\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(want) != 4 {
		t.Fatalf("want 4 records (json, java with its trace, logfmt, plain), got %d", len(want))
	}
}
