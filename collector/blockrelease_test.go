package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// A batch that finishes before an earlier one keeps its blocks until the
// earlier one is done: that one's records may view them.
func TestBlockReleaseInSendOrder(t *testing.T) {
	pool := &parsers.BlockPool{}
	r := newBlockRelease(pool)
	// Real retired blocks: a stream with a pool fills some.
	st, err := parsers.NewStream(parsers.DefaultConfig(), parsers.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	st.ReuseBlocks(&parsers.BlockPool{})
	now := time.Now()
	line := []byte(strings.Repeat("x", 1000))
	blocks := func() parsers.Blocks {
		var b parsers.Blocks
		for b.Empty() {
			st.Feed(line, record.Position{}, false, now)
			st.FlushAll(now)
			st.TakeRetired(&b)
		}
		return b
	}
	seqs := []uint64{r.number(), r.number(), r.number()}
	r.finished(seqs[2], blocks())
	r.finished(seqs[1], blocks())
	if n := pool.Len(); n != 0 {
		t.Fatalf("pool got %d blocks while batch 0 was still out", n)
	}
	r.finished(seqs[0], blocks())
	if n := pool.Len(); n < 3 {
		t.Fatalf("pool got %d blocks once every batch was done, want every one of the 3 batches'", n)
	}
	if len(r.done) != 0 {
		t.Fatalf("%d finished batches still waiting", len(r.done))
	}
}
