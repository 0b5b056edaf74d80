package parsers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// reuseLines is a mix that fills every kind of block: JSON with arrays
// (values), logfmt (fields), Java traces held across batches, and lines
// too long for a block.
func reuseLines(n int) []string {
	var lines []string
	for i := 0; len(lines) < n; i++ {
		switch i % 6 {
		case 0:
			lines = append(lines, fmt.Sprintf(`{"level":"info","msg":"req %d","tags":["a%d","b","c"],"n":%d,"user":{"id":%d,"name":"u%d"}}`, i, i, i, i, i))
		case 1:
			lines = append(lines, fmt.Sprintf(`time=2026-12-03T10:00:00Z level=warn msg="slow %d" a=1 b=2 c=3 d=4 e=5 f=%d`, i, i))
		case 2:
			lines = append(lines, fmt.Sprintf("2026-12-03 10:00:00,123 ERROR [main] com.example.App - boom %d", i),
				fmt.Sprintf("java.lang.IllegalStateException: state %d", i),
				"\tat com.example.App.run(App.java:10)",
				"\tat com.example.App.main(App.java:5)")
		case 3:
			lines = append(lines, fmt.Sprintf("plain line %d %s", i, strings.Repeat("x", i%200)))
		case 4:
			lines = append(lines, fmt.Sprintf(`{"level":"debug","msg":"big %d","blob":"%s"}`, i, strings.Repeat("y", 9000)))
		case 5:
			lines = append(lines, fmt.Sprintf(`127.0.0.1 - - [03/Dec/2026:10:00:00 +0000] "GET /p/%d HTTP/1.1" 200 %d "-" "curl/8"`, i, i))
		}
	}
	return lines
}

// Blocks a batch retired go back to the pool once that batch and every one
// before it is done; records of batches still in flight must read exactly
// as they did when they were emitted, and every record must equal what a
// stream without a pool makes.
func TestReusedBlocksNeverRewriteLiveRecords(t *testing.T) {
	now := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)
	lines := reuseLines(20000)
	meta := Meta{Source: "app", Path: "/var/log/app.log"}

	plain, err := NewStream(DefaultConfig(), meta)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i, l := range lines {
		for _, r := range plain.Feed([]byte(l), record.Position{Offset: int64(i + 1)}, false, now) {
			want = append(want, string(r.AppendJSON(nil)))
		}
	}
	for _, r := range plain.FlushAll(now) {
		want = append(want, string(r.AppendJSON(nil)))
	}

	type inFlight struct {
		recs   []record.Record
		json   []string
		blocks Blocks
	}
	pool := &BlockPool{}
	st, _ := NewStream(DefaultConfig(), meta)
	st.ReuseBlocks(pool)
	var flight []*inFlight
	var got []string
	released := 0
	check := func() {
		for _, b := range flight {
			for i := range b.recs {
				if j := string(b.recs[i].AppendJSON(nil)); j != b.json[i] {
					t.Fatalf("a record in flight changed after blocks were reused:\nwas %s\nnow %s", b.json[i], j)
				}
			}
		}
	}
	send := func(recs []record.Record) {
		b := &inFlight{recs: recs}
		for i := range recs {
			b.json = append(b.json, string(recs[i].AppendJSON(nil)))
		}
		got = append(got, b.json...)
		st.TakeRetired(&b.blocks)
		flight = append(flight, b)
		for len(flight) > 3 { // three batches in flight, finished in order
			released += len(flight[0].blocks.text) + len(flight[0].blocks.fields) + len(flight[0].blocks.values)
			pool.Release(&flight[0].blocks)
			flight = flight[1:]
			check()
		}
	}
	var batch []record.Record
	for i, l := range lines {
		batch = st.FeedAppend(batch, []byte(l), record.Position{Offset: int64(i + 1)}, false, now)
		if len(batch) >= 97 {
			send(batch)
			batch = nil
		}
	}
	send(append(batch, st.FlushAll(now)...))
	check()
	if released == 0 {
		t.Fatal("no block was ever retired: the test reused nothing")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records from reused blocks differ from a stream without a pool (%d vs %d records)", len(got), len(want))
	}
}

// Without ReuseBlocks a stream retires nothing, so a caller that never
// collects (obsadapter parse, tests) keeps no list growing.
func TestNoPoolRetiresNothing(t *testing.T) {
	st, _ := NewStream(DefaultConfig(), Meta{})
	now := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)
	for i, l := range reuseLines(5000) {
		st.Feed([]byte(l), record.Position{Offset: int64(i)}, false, now)
	}
	var b Blocks
	st.TakeRetired(&b)
	if !b.Empty() || len(st.p.retiredText)+len(st.p.retiredFields)+len(st.p.retiredValues) != 0 {
		t.Fatal("a stream without a pool kept retired blocks")
	}
}

func TestBlockPoolBounded(t *testing.T) {
	pool := &BlockPool{}
	var b Blocks
	for range poolTextBlocks + 10 {
		b.text = append(b.text, make([]byte, 0, textBlock))
	}
	pool.Release(&b)
	pool.Release(&Blocks{text: [][]byte{make([]byte, 0, textBlock)}})
	if len(pool.text) != poolTextBlocks {
		t.Fatalf("pool holds %d text blocks, bound %d", len(pool.text), poolTextBlocks)
	}
	if !b.Empty() {
		t.Fatal("Release left blocks in b")
	}
	pool.Drain()
	if pool.takeText() != nil {
		t.Fatal("Drain left blocks in the pool")
	}
}

// A record held for its continuation lines may straddle a block its stream
// has retired: that block must not go back to the pool before the record
// is out, or another stream of the same source (another file) rewrites it.
func TestHeldRecordKeepsItsBlocks(t *testing.T) {
	now := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)
	var lines []string
	for i := range 200 {
		var objs []string
		for o := range 3 {
			var kv []string
			for k := range 20 {
				kv = append(kv, fmt.Sprintf(`"k%d":"v%d-%d-%d"`, k, i, o, k))
			}
			objs = append(objs, fmt.Sprintf(`"o%d":{%s}`, o, strings.Join(kv, ",")))
		}
		lines = append(lines, fmt.Sprintf(`{"level":"info","msg":"m%d",%s}`, i, strings.Join(objs, ",")))
	}
	jsonOf := func(recs []record.Record) (out []string) {
		for i := range recs {
			out = append(out, string(recs[i].AppendJSON(nil)))
		}
		return out
	}
	plain, _ := NewStream(DefaultConfig(), Meta{Source: "a"})
	var want []string
	for i, l := range lines {
		want = append(want, jsonOf(plain.Feed([]byte(l), record.Position{Offset: int64(i + 1)}, false, now))...)
	}
	want = append(want, jsonOf(plain.FlushAll(now))...)

	pool := &BlockPool{}
	a, _ := NewStream(DefaultConfig(), Meta{Source: "a"})
	b, _ := NewStream(DefaultConfig(), Meta{Source: "b"})
	a.ReuseBlocks(pool)
	b.ReuseBlocks(pool)
	other := reuseLines(60)
	var got []string
	for i, l := range lines {
		// a's records are read at once and then done with, so what a
		// retired goes straight back, and b writes over what it gets.
		got = append(got, jsonOf(a.Feed([]byte(l), record.Position{Offset: int64(i + 1)}, false, now))...)
		var blocks Blocks
		a.TakeRetired(&blocks)
		pool.Release(&blocks)
		for k, o := range other {
			b.Feed([]byte(o), record.Position{Offset: int64(k)}, false, now)
		}
		b.TakeRetired(&blocks)
		pool.Release(&blocks)
	}
	got = append(got, jsonOf(a.FlushAll(now))...)
	if len(pool.fields) == 0 {
		t.Fatal("no field block came back to the pool: the test reused nothing")
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("record %d was rewritten while held:\ngot  %s\nwant %s", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
}
