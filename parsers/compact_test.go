package parsers

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// TestIdleStreamsRetainLittle: a file source tails up to 10,000 files, one
// stream each, and most sit idle at their end. After Compact an idle stream
// keeps only its state. Measured (go1.26, amd64), bytes per stream: "mixed
// formats" 1,164 (Stream 576 in its size class, one substream 320, the
// learner 96, its four slots 160, the layout's description 16), "json" 892,
// "cri" 1,212 (two substreams), "held record" 4,780 (the record waiting for
// its continuation keeps its slots, its 2 KiB text block and 1 KiB fields
// block). Before Compact and slab growth a stream kept 52,772. The bounds
// leave room for allocator and size-class changes, not for another block.
func TestIdleStreamsRetainLittle(t *testing.T) {
	const n = 10000
	cri := func(stream, line string) string { return "2026-11-23T20:31:02.123456789Z " + stream + " F " + line }
	tests := []struct {
		name   string
		lines  []string
		flush  bool // as the tailer does once the held record times out
		bound  uint64
		subs   [3]bool // which substreams exist
		learns bool    // whether the plain substream learned a layout
	}{
		{
			name: "mixed formats",
			lines: []string{
				`{"level":"info","msg":"started","port":8080}`,
				`level=warn msg="slow query" ms=1200`,
				`2026-11-23T20:31:02.123Z INFO worker: ready`,
				`161203 071405 4187 INFO storage.BlockReceiver: Receiving block`,
			},
			flush: true, bound: 1400, subs: [3]bool{true, false, false}, learns: true,
		},
		{
			name:  "json",
			lines: []string{`{"level":"info","msg":"started","port":8080}`, `{"level":"warn","msg":"slow","ms":1200}`},
			flush: true, bound: 1024, subs: [3]bool{true, false, false},
		},
		{
			name:  "cri",
			lines: []string{cri("stdout", `{"level":"info","msg":"listening"}`), cri("stderr", "I1123 20:31:03.000000       1 main.go:12] starting")},
			flush: true, bound: 1400, subs: [3]bool{false, true, true},
		},
		{
			name: "held record",
			lines: []string{
				`level=warn msg="slow query" ms=1200`,
				`161203 071405 4187 INFO storage.BlockReceiver: Receiving block`,
			},
			bound: 5120, subs: [3]bool{true, false, false}, learns: true,
		},
	}
	cfg := DefaultConfig()
	cfg.Timezone = "UTC"
	c, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	metas := make([]Meta, n)
	for i := range metas {
		metas[i] = Meta{Source: "app", Path: fmt.Sprintf("/var/log/app/%05d.log", i)}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := make([][]byte, len(tt.lines))
			for i, l := range tt.lines {
				lines[i] = []byte(l)
			}
			streams := make([]*Stream, n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range streams {
				s := c.NewStream(metas[i])
				for _, l := range lines {
					s.Feed(l, record.Position{}, false, testNow)
				}
				if tt.flush {
					s.Flush(testNow.Add(cfg.MultilineTimeout))
				}
				s.Compact()
				streams[i] = s
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			per := (after.HeapAlloc - before.HeapAlloc) / n
			t.Logf("%d bytes per idle stream", per)
			if per > tt.bound {
				t.Errorf("an idle stream keeps %d bytes, want at most %d", per, tt.bound)
			}
			s := streams[0]
			for i, sub := range s.subs {
				if (sub != nil) != tt.subs[i] {
					t.Errorf("substream %q exists: %v, want %v", streamNames[i], sub != nil, tt.subs[i])
				}
			}
			if learns := s.subs[streamNone] != nil && s.subs[streamNone].det.learn != nil; learns != tt.learns {
				t.Errorf("learner made: %v, want %v", learns, tt.learns)
			}
			runtime.KeepAlive(streams)
		})
	}
}

// TestCompactKeepsState: Compact at any point changes no record, and keeps a
// held multiline record, a partial envelope line, the learned layout and the
// counters.
func TestCompactKeepsState(t *testing.T) {
	var testdata []string
	for _, dir := range []string{"mixed", "multiline", "cri", "docker", "learned"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.log"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			testdata = append(testdata, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
		}
	}
	tests := []struct {
		name    string
		cfg     func(*Config)
		lines   []string
		compact func(i int) bool // after line i
	}{
		{
			name: "held java trace",
			lines: []string{
				`2026-11-23 20:31:02,123 ERROR [main] com.example.App - request failed`,
				`java.lang.IllegalStateException: boom`,
				`	at com.example.App.handle(App.java:42)`,
				`	at com.example.App.main(App.java:7)`,
				`2026-11-23 20:31:03,000 INFO [main] com.example.App - next`,
			},
			compact: func(i int) bool { return i == 1 || i == 2 },
		},
		{
			name: "partial cri line",
			lines: []string{
				`2026-11-23T20:31:03.100000000Z stdout P {"level":"warn","msg":"a very long line`,
				`2026-11-23T20:31:03.100000100Z stderr F plain on stderr`,
				`2026-11-23T20:31:03.100000200Z stdout P  split by the runtime`,
				`2026-11-23T20:31:03.100000300Z stdout F  in three"}`,
			},
			compact: func(i int) bool { return i < 3 },
		},
		{
			name: "partial docker line",
			lines: []string{
				`{"log":"first half of a line ","stream":"stdout","time":"2026-11-23T20:31:02.1Z"}`,
				`{"log":"and its rest\n","stream":"stdout","time":"2026-11-23T20:31:02.2Z"}`,
			},
			compact: func(i int) bool { return i == 0 },
		},
		{
			name: "learned layout with headerless lines",
			lines: []string{
				`161203 071405 4187 INFO storage.BlockReceiver: Receiving block blk_1`,
				`161203 071406 4187 INFO storage.BlockReceiver: Receiving block blk_2`,
				`161203 071407 4187 INFO storage.BlockReceiver: Receiving block blk_3`,
				`161203 071408 4187 WARN storage.DataNode: slow write`,
				`written over two lines`,
				`161203 071409 4187 INFO storage.BlockReceiver: Receiving block blk_4`,
			},
			compact: func(i int) bool { return i%2 == 1 },
		},
		{
			name:    "multiline start pattern",
			cfg:     func(c *Config) { c.Multiline = Multiline{Mode: MultilineStart, Start: `^\d{4}-`} },
			lines:   []string{"2026-11-23 a", "  more", "b", "2026-11-23 c"},
			compact: func(i int) bool { return true },
		},
		{name: "testdata, after every line", lines: testdata, compact: func(int) bool { return true }},
		{name: "testdata, after every seventh line", lines: testdata, compact: func(i int) bool { return i%7 == 0 }},
		{
			name:    "testdata, multiline off",
			cfg:     func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} },
			lines:   testdata,
			compact: func(i int) bool { return i%3 == 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := feedAll(t, newTestStream(t, tt.cfg), tt.lines)
			s := newTestStream(t, tt.cfg)
			var (
				kept []record.Record
				got  []string
				off  int64
			)
			take := func(rs []record.Record) {
				for _, r := range rs {
					kept = append(kept, r)
					got = append(got, string(r.AppendJSON(nil)))
				}
			}
			buf := make([]byte, 0, 4096)
			for i, l := range tt.lines {
				off += int64(len(l)) + 1
				buf = append(buf[:0], l...)
				take(s.Feed(buf, record.Position{Offset: off}, false, testNow))
				for k := range buf {
					buf[k] = '#'
				}
				if !tt.compact(i) {
					continue
				}
				resume, resumeOK := s.Resume()
				deadline, deadlineOK := s.Deadline()
				layouts, stats := fmt.Sprint(s.Layouts()), s.Stats()
				s.Compact()
				s.Compact()
				if r, ok := s.Resume(); r != resume || ok != resumeOK {
					t.Fatalf("line %d: Resume %v %v after Compact, was %v %v", i, r, ok, resume, resumeOK)
				}
				if d, ok := s.Deadline(); !d.Equal(deadline) || ok != deadlineOK {
					t.Fatalf("line %d: Deadline %v %v after Compact, was %v %v", i, d, ok, deadline, deadlineOK)
				}
				if l := fmt.Sprint(s.Layouts()); l != layouts {
					t.Fatalf("line %d: layouts %s after Compact, were %s", i, l, layouts)
				}
				if st := s.Stats(); st != stats {
					t.Fatalf("line %d: stats %+v after Compact, were %+v", i, st, stats)
				}
			}
			take(s.FlushAll(testNow))
			if len(got) != len(want) {
				t.Fatalf("%d records with Compact, %d without", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("record %d with Compact:\n%s\nwithout:\n%s", i, got[i], want[i])
				}
				if now := string(kept[i].AppendJSON(nil)); now != got[i] {
					t.Fatalf("record %d changed after it was emitted:\nthen %s\nnow  %s", i, got[i], now)
				}
			}
		})
	}
}

// TestCompiledNewStream: streams of one Compiled share its zone and
// patterns; making one is a single allocation, so no zone is loaded and no
// pattern compiled per stream.
func TestCompiledNewStream(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"timezone", func(c *Config) { c.Timezone = "Europe/Berlin" }},
		{"regex", func(c *Config) {
			c.Format, c.Regex, c.TimeLayout = "regex", `^(?P<time>\S+) (?P<level>\w+) (?P<message>.*)$`, time.RFC3339
		}},
		{"multiline start", func(c *Config) { c.Multiline = Multiline{Mode: MultilineStart, Start: `^\d{4}-`} }},
		{"cri", func(c *Config) { c.Format = "cri" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.cfg(&cfg)
			c, err := Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			meta := Meta{Source: "app", Path: "/var/log/app.log"}
			a, b := c.NewStream(meta), c.NewStream(meta)
			if a.p.loc != c.loc || b.p.loc != c.loc {
				t.Fatalf("streams have their own Location")
			}
			if cfg.Timezone != "" && c.loc.String() != cfg.Timezone {
				t.Fatalf("Location %s, want %s", c.loc, cfg.Timezone)
			}
			if allocs := testing.AllocsPerRun(100, func() { c.NewStream(meta) }); allocs != 1 {
				t.Fatalf("NewStream makes %v allocations, want 1", allocs)
			}
		})
	}
}

// TestCompileReportsLikeValidate: Compile rejects what Validate rejects,
// with the same message, and NewStream passes it on.
func TestCompileReportsLikeValidate(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.Format = "nope" },
		func(c *Config) { c.Timezone = "Mars/Olympus" },
		func(c *Config) { c.Format, c.Regex = "regex", "(" },
		func(c *Config) { c.Multiline = Multiline{Mode: MultilineStart, Start: "["} },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		want := cfg.Validate()
		c, err := Compile(cfg)
		_, serr := NewStream(cfg, Meta{})
		if want == nil || err == nil || c != nil || err.Error() != want.Error() || serr == nil || serr.Error() != want.Error() {
			t.Errorf("Validate %v; Compile %v, %v; NewStream %v", want, c, err, serr)
		}
	}
}

// TestSlabGrowth: a stream's first text block is small and each next one
// twice the last, up to textBlock, always with room for the line.
func TestSlabGrowth(t *testing.T) {
	tests := []struct {
		name             string
		last, need, want int
	}{
		{"first", 0, 100, firstTextBlock},
		{"doubles", firstTextBlock, 100, 2 * firstTextBlock},
		{"stops at textBlock", textBlock, 100, textBlock},
		{"a first long line", 0, textBlock / 4, textBlock / 4},
		{"doubles past need", 2 * firstTextBlock, 4*firstTextBlock + 1, 8 * firstTextBlock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextTextBlock(tt.last, tt.need); got != tt.want {
				t.Fatalf("nextTextBlock(%d, %d) = %d, want %d", tt.last, tt.need, got, tt.want)
			}
		})
	}
	s := newTestStream(t, nil)
	s.Feed([]byte(`level=info msg=one a=1`), record.Position{}, false, testNow)
	if c, f := cap(s.p.text), cap(s.p.slabs.fields); c != firstTextBlock || f != firstFieldBlock {
		t.Fatalf("one line: text block %d, fields block %d; want %d and %d", c, f, firstTextBlock, firstFieldBlock)
	}
	for range 1000 {
		s.Feed([]byte(`level=info msg="one of many lines" a=1 b=2 c=3`), record.Position{}, false, testNow)
	}
	if c, f := cap(s.p.text), cap(s.p.slabs.fields); c != textBlock || f != fieldBlock {
		t.Fatalf("many lines: text block %d, fields block %d; want %d and %d", c, f, textBlock, fieldBlock)
	}
}
