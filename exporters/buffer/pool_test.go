package buffer

import "testing"

// TestPoolBounds: a returned buffer serves the next Get of its size, and
// the pool keeps the larger buffers within its bounds.
func TestPoolBounds(t *testing.T) {
	var p Pool
	b := p.Get(100)
	p.Put(append(b, "x"...))
	if again := p.Get(50); &again[:1][0] != &b[:1][0] || len(again) != 0 {
		t.Error("the returned buffer was not reused, emptied")
	}
	for i := range 2 * maxFreeBufs {
		p.Put(make([]byte, 0, 1<<10+i))
	}
	if len(p.free) != maxFreeBufs {
		t.Errorf("%d free buffers, want %d", len(p.free), maxFreeBufs)
	}
	for _, b := range p.free {
		if cap(b) < 1<<10+maxFreeBufs {
			t.Errorf("a small buffer (%d) was kept over a larger one", cap(b))
		}
	}
	p.Put(make([]byte, 0, maxFreeBytes+1))
	total := 0
	for _, b := range p.free {
		total += cap(b)
	}
	if total > maxFreeBytes {
		t.Errorf("free buffers hold %d bytes, more than %d", total, maxFreeBytes)
	}
}
