package buffer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kinds opens each kind of buffer in the same way, so the shared
// behaviour is tested once for both.
var kinds = []struct {
	name string
	open func(t *testing.T, dir string, o Options) Buffer
}{
	{"memory", func(t *testing.T, _ string, o Options) Buffer { return NewMemory(o) }},
	{"spool", func(t *testing.T, dir string, o Options) Buffer {
		s, _, err := OpenSpool(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

func items(from, n, records int) []*Item {
	var out []*Item
	for i := from; i < from+n; i++ {
		out = append(out, &Item{ID: "id-" + strconv.Itoa(i), Data: []byte("message " + strconv.Itoa(i)), Records: records})
	}
	return out
}

func forEachKind(t *testing.T, f func(t *testing.T, open func(Options) Buffer)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			f(t, func(o Options) Buffer {
				b := k.open(t, dir, o)
				t.Cleanup(func() { b.Close(ErrClosed) })
				return b
			})
		})
	}
}

func next(t *testing.T, b Buffer) *Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it, err := b.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return it
}

func TestOrderAndAck(t *testing.T) {
	forEachKind(t, func(t *testing.T, open func(Options) Buffer) {
		var released int
		b := open(Options{MaxRecords: 100, MaxBytes: 1 << 20, Release: func([]byte) { released++ }})
		var waits []func(context.Context) error
		for i := range 3 {
			w, err := b.Put(context.Background(), items(i*2, 2, 5))
			if err != nil {
				t.Fatal(err)
			}
			waits = append(waits, w)
		}
		if r, _ := b.Depth(); r != 30 {
			t.Fatalf("depth %d records, want 30", r)
		}
		for i := range 6 {
			it := next(t, b)
			if want := "id-" + strconv.Itoa(i); it.ID != want || string(it.Data) != "message "+strconv.Itoa(i) || it.Records != 5 {
				t.Fatalf("item %d: %q %q %d, want %s", i, it.ID, it.Data, it.Records, want)
			}
			b.Ack(it)
		}
		for i, w := range waits {
			if err := w(context.Background()); err != nil {
				t.Fatalf("wait %d: %v", i, err)
			}
		}
		if r, _ := b.Depth(); r != 0 {
			t.Fatalf("depth %d records after every ack", r)
		}
		if released != 6 {
			t.Errorf("released %d buffers, want 6", released)
		}
	})
}

func TestTooLarge(t *testing.T) {
	forEachKind(t, func(t *testing.T, open func(Options) Buffer) {
		b := open(Options{MaxRecords: 10, MaxBytes: 1 << 20})
		if _, err := b.Put(context.Background(), items(0, 1, 11)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
	})
}

func TestFullBlocks(t *testing.T) {
	forEachKind(t, func(t *testing.T, open func(Options) Buffer) {
		b := open(Options{MaxRecords: 10, MaxBytes: 1 << 20})
		if _, err := b.Put(context.Background(), items(0, 2, 5)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := b.Put(ctx, items(2, 1, 5)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Put into a full buffer: %v", err)
		}
		if r, _ := b.Depth(); r != 10 {
			t.Fatalf("depth %d, want 10", r)
		}
		b.Ack(next(t, b))
		if _, err := b.Put(context.Background(), items(2, 1, 5)); err != nil {
			t.Fatalf("Put after an ack made room: %v", err)
		}
	})
}

func TestDropOldest(t *testing.T) {
	forEachKind(t, func(t *testing.T, open func(Options) Buffer) {
		dropped := 0
		b := open(Options{MaxRecords: 10, MaxBytes: 1 << 20, DropOldest: true, OnDrop: func(n int) { dropped += n }})
		for i := range 4 {
			if _, err := b.Put(context.Background(), items(i, 1, 5)); err != nil {
				t.Fatal(err)
			}
			if r, _ := b.Depth(); r > 10 {
				t.Fatalf("depth %d beyond the bound", r)
			}
		}
		if dropped == 0 {
			t.Fatal("nothing dropped")
		}
		// The newest item is kept.
		var last *Item
		for r, _ := b.Depth(); r > 0; r, _ = b.Depth() {
			last = next(t, b)
			b.Ack(last)
		}
		if last == nil || last.ID != "id-3" {
			t.Fatalf("last item %+v, want id-3", last)
		}
	})
}

func TestMemoryWaits(t *testing.T) {
	t.Run("dropped", func(t *testing.T) {
		q := NewMemory(Options{MaxRecords: 10, MaxBytes: 1 << 20, DropOldest: true})
		w, err := q.Put(context.Background(), items(0, 1, 10))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Put(context.Background(), items(1, 1, 10)); err != nil {
			t.Fatal(err)
		}
		if err := w(context.Background()); !errors.Is(err, ErrDropped) {
			t.Fatalf("wait: %v, want ErrDropped", err)
		}
	})
	t.Run("ctx withdraws", func(t *testing.T) {
		q := NewMemory(Options{MaxRecords: 10, MaxBytes: 1 << 20})
		w, err := q.Put(context.Background(), items(0, 2, 1))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := w(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("wait: %v", err)
		}
		if r, _ := q.Depth(); r != 0 {
			t.Fatalf("%d records still held after the wait gave up", r)
		}
	})
	t.Run("close fails the waits", func(t *testing.T) {
		q := NewMemory(Options{MaxRecords: 10, MaxBytes: 1 << 20})
		w, err := q.Put(context.Background(), items(0, 2, 3))
		if err != nil {
			t.Fatal(err)
		}
		next(t, q) // one in flight
		cause := errors.New("shut down")
		if kept, lost, err := q.Close(cause); kept != 0 || lost != 6 || err != nil {
			t.Fatalf("Close: kept %d lost %d err %v", kept, lost, err)
		}
		if err := w(context.Background()); err != cause {
			t.Fatalf("wait: %v, want the cause", err)
		}
		if _, err := q.Put(context.Background(), items(2, 1, 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Put after Close: %v", err)
		}
	})
}

func TestSpoolKeepsWhatIsNotAcked(t *testing.T) {
	dir := t.TempDir()
	o := Options{MaxRecords: 100, MaxBytes: 1 << 20}
	s, _, err := OpenSpool(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), items(0, 3, 2)); err != nil {
		t.Fatal(err)
	}
	s.Ack(next(t, s))
	s.Abandon(next(t, s)) // taken, not delivered: stays
	if kept, lost, err := s.Close(ErrClosed); kept != 4 || lost != 0 || err != nil {
		t.Fatalf("Close: kept %d lost %d err %v", kept, lost, err)
	}
	s, recovered, err := OpenSpool(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ErrClosed)
	// Close marked the first item acknowledged: only the others come back.
	if recovered != 4 {
		t.Fatalf("recovered %d records, want 4", recovered)
	}
	for i := 1; i < 3; i++ {
		if it := next(t, s); it.ID != "id-"+strconv.Itoa(i) {
			t.Fatalf("item %d is %s", i, it.ID)
		}
	}
}

// TestSpoolAckMark: what a restart sends again, by how the last run ended.
// A clean Close marks the acknowledged prefix of each kept segment (acks
// out of order count once the ones before them came); a crash, or a
// damaged mark, re-sends the whole segment (at-least-once).
func TestSpoolAckMark(t *testing.T) {
	o := Options{MaxRecords: 100, MaxBytes: 1 << 20}
	for _, tc := range []struct {
		name  string
		acks  []int // of the 5 items taken, by index
		end   func(t *testing.T, s *Spool, dir string)
		first int // the first item a restart sends
	}{
		{"in order", []int{0, 1}, closeSpool, 2},
		{"out of order", []int{2, 0, 1, 4}, closeSpool, 3},
		{"first not acked", []int{1, 2}, closeSpool, 0},
		{"crash", []int{0, 1, 2}, func(*testing.T, *Spool, string) {}, 0},
		{"damaged mark", []int{0, 1, 2}, func(t *testing.T, s *Spool, dir string) {
			closeSpool(t, s, dir)
			marks, _ := filepath.Glob(filepath.Join(dir, "*"+ackSuffix))
			if len(marks) != 1 {
				t.Fatalf("marks %v", marks)
			}
			if err := os.WriteFile(marks[0], []byte("not a mark!!"), 0o640); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"mark off a frame's start", []int{0, 1, 2}, func(t *testing.T, s *Spool, dir string) {
			closeSpool(t, s, dir)
			marks, _ := filepath.Glob(filepath.Join(dir, "*"+ackSuffix))
			if len(marks) != 1 {
				t.Fatalf("marks %v", marks)
			}
			seg := &segment{ackedTo: 5, f: mustOpen(t, strings.TrimSuffix(marks[0], ackSuffix)+segSuffix)}
			if err := writeMark(seg); err != nil {
				t.Fatal(err)
			}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _, err := OpenSpool(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(context.Background(), items(0, 6, 1)); err != nil {
				t.Fatal(err)
			}
			var taken []*Item
			for range 5 {
				taken = append(taken, next(t, s))
			}
			for _, i := range tc.acks {
				s.Ack(taken[i])
			}
			tc.end(t, s, dir)
			s2, _, err := OpenSpool(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close(ErrClosed)
			if it := next(t, s2); it.ID != "id-"+strconv.Itoa(tc.first) {
				t.Fatalf("first item after restart is %s, want id-%d", it.ID, tc.first)
			}
		})
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func closeSpool(t *testing.T, s *Spool, _ string) {
	t.Helper()
	if _, _, err := s.Close(ErrClosed); err != nil {
		t.Fatal(err)
	}
}

// TestSpoolAckMarkRemoved: a segment acknowledged to its end after a
// restart goes, and its mark with it.
func TestSpoolAckMarkRemoved(t *testing.T) {
	dir := t.TempDir()
	o := Options{MaxRecords: 100, MaxBytes: 1 << 20}
	s, _, err := OpenSpool(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), items(0, 2, 1)); err != nil {
		t.Fatal(err)
	}
	s.Ack(next(t, s))
	closeSpool(t, s, dir)
	s, recovered, err := OpenSpool(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if recovered != 1 {
		t.Fatalf("recovered %d, want 1", recovered)
	}
	s.Ack(next(t, s))
	closeSpool(t, s, dir)
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range left {
		if strings.HasSuffix(f, ackSuffix) || strings.HasSuffix(f, ".tmp") {
			t.Errorf("%s left behind", filepath.Base(f))
		}
	}
}

// TestSpoolFormatV1 loads a segment written by the spool before it moved
// into this package: existing spools must still load after an upgrade.
func TestSpoolFormatV1(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/spool-v1/00000000000000000000.seg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000000.seg"), src, 0o640); err != nil {
		t.Fatal(err)
	}
	corrupt := 0
	s, recovered, err := OpenSpool(dir, Options{MaxRecords: 100, MaxBytes: 1 << 20, OnCorrupt: func() { corrupt++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ErrClosed)
	if recovered != 11 || corrupt != 0 {
		t.Fatalf("recovered %d records (want 11), %d corrupt frames", recovered, corrupt)
	}
	want := []Item{{ID: "chunk-a", Data: []byte("first message"), Records: 3}, {ID: "chunk-b", Data: []byte("second"), Records: 1}, {ID: "", Data: []byte("third, no id"), Records: 7}}
	for i, w := range want {
		it := next(t, s)
		if it.ID != w.ID || string(it.Data) != string(w.Data) || it.Records != w.Records {
			t.Fatalf("item %d: %q %q %d, want %q %q %d", i, it.ID, it.Data, it.Records, w.ID, w.Data, w.Records)
		}
		s.Ack(it)
	}
	// New frames are written in the same format, byte for byte.
	s2dir := t.TempDir()
	s2, _, err := OpenSpool(s2dir, Options{MaxRecords: 100, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var in []*Item
	for _, w := range want {
		in = append(in, &Item{ID: w.ID, Data: w.Data, Records: w.Records})
	}
	if _, err := s2.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	s2.Close(ErrClosed)
	got, _ := os.ReadFile(filepath.Join(s2dir, "00000000000000000000.seg"))
	if string(got) != string(src) {
		t.Fatalf("frames differ from the v1 format\n got % x\nwant % x", got, src)
	}
}

// TestSpoolTornAndCorrupt: a frame whose payload checksum fails is skipped;
// a torn tail ends the segment; both are counted once.
func TestSpoolTornAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	o := Options{MaxRecords: 100, MaxBytes: 1 << 20}
	s, _, err := OpenSpool(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), items(0, 3, 1)); err != nil {
		t.Fatal(err)
	}
	s.Close(ErrClosed)
	path := filepath.Join(dir, "00000000000000000000.seg")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frame := len(data) / 3
	data[frame+FrameHeader+6] ^= 0xff      // corrupt the second frame's payload
	data = append(data, data[:frame/2]...) // a torn fourth frame
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	corrupt := 0
	o.OnCorrupt = func() { corrupt++ }
	s, recovered, err := OpenSpool(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ErrClosed)
	if recovered != 2 || corrupt != 2 {
		t.Fatalf("recovered %d records (want 2), %d corrupt frames (want 2)", recovered, corrupt)
	}
	for _, want := range []string{"id-0", "id-2"} {
		it := next(t, s)
		if it.ID != want {
			t.Fatalf("got %s, want %s", it.ID, want)
		}
		s.Ack(it)
	}
	if corrupt != 2 {
		t.Errorf("corrupt frames counted again when read: %d", corrupt)
	}
}

// A segment dropped while the sender holds one of its chunks: that chunk
// is counted as dropped only if it is never acknowledged.
func TestSpoolDropCountsHeldChunkOnce(t *testing.T) {
	for _, tc := range []struct {
		name        string
		settle      func(b *Spool, held *Item)
		wantDropped int
	}{
		{"held chunk acknowledged", func(b *Spool, held *Item) { b.Ack(held) }, 5},
		{"held chunk abandoned", func(b *Spool, held *Item) { b.Abandon(held) }, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dropped := 0
			b, _, err := OpenSpool(t.TempDir(), Options{MaxRecords: 10, MaxBytes: 1 << 20, DropOldest: true, OnDrop: func(n int) { dropped += n }})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close(ErrClosed) })
			if _, err := b.Put(context.Background(), items(0, 2, 5)); err != nil {
				t.Fatal(err)
			}
			held := next(t, b)
			// Ten records more: the first segment (the held chunk and one
			// queued behind it) goes.
			if _, err := b.Put(context.Background(), items(2, 1, 10)); err != nil {
				t.Fatal(err)
			}
			if dropped != 5 {
				t.Fatalf("dropped %d at the drop, want 5 (the held chunk is not lost yet)", dropped)
			}
			tc.settle(b, held)
			if dropped != tc.wantDropped {
				t.Fatalf("dropped %d, want %d", dropped, tc.wantDropped)
			}
			if r, _ := b.Depth(); r != 10 {
				t.Fatalf("depth %d, want 10", r)
			}
		})
	}
}

// TestFail: an item the peer refused for good leaves the buffer like an
// acknowledged one, and a memory wait reports why.
func TestFail(t *testing.T) {
	forEachKind(t, func(t *testing.T, open func(Options) Buffer) {
		b := open(Options{MaxRecords: 100, MaxBytes: 1 << 20})
		w, err := b.Put(context.Background(), items(0, 2, 3))
		if err != nil {
			t.Fatal(err)
		}
		refused := errors.New("refused")
		b.Fail(next(t, b), refused)
		b.Ack(next(t, b))
		if r, _ := b.Depth(); r != 0 {
			t.Errorf("%d records held after Fail and Ack", r)
		}
		err = w(context.Background())
		switch {
		case b.Durable() && err != nil:
			t.Errorf("spool wait: %v, want nil (safe once on disk)", err)
		case !b.Durable() && err != refused:
			t.Errorf("memory wait: %v, want the refusal", err)
		}
	})
}
