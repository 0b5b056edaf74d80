package buffer

import "sync"

// Pool keeps the memory of items the buffer has released (Options.Release)
// for the exporter's next items: at hundreds of thousands of records per
// second, fresh buffers of a few hundred KiB per item were a large share of
// all allocation, and so of GC work. It is bounded in buffers and bytes,
// since items may be large. The zero Pool is ready to use; Put comes from
// the sender's goroutine and Get from the exporter's, hence the lock.
type Pool struct {
	mu   sync.Mutex
	free [][]byte
}

// The buffers kept: enough for the items a pipeline keeps on their way at
// once.
const (
	maxFreeBufs  = 8
	maxFreeBytes = 16 << 20
)

// Get returns the smallest free buffer of at least size bytes, emptied, or
// a new one.
func (p *Pool) Get(size int) []byte {
	p.mu.Lock()
	best := -1
	for i, b := range p.free {
		if cap(b) >= size && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := p.free[best]
		last := len(p.free) - 1
		p.free[best], p.free[last] = p.free[last], nil
		p.free = p.free[:last]
		p.mu.Unlock()
		return b[:0]
	}
	p.mu.Unlock()
	return make([]byte, 0, size)
}

// Put takes back a buffer nothing reads any more. When the pool is full, a
// larger buffer replaces the smallest: the large ones are those worth
// keeping.
func (p *Pool) Put(b []byte) {
	if cap(b) > maxFreeBytes {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	total, small := 0, -1
	for i, f := range p.free {
		total += cap(f)
		if small < 0 || cap(f) < cap(p.free[small]) {
			small = i
		}
	}
	switch {
	case len(p.free) < maxFreeBufs && total+cap(b) <= maxFreeBytes:
		p.free = append(p.free, b[:0])
	case small >= 0 && cap(b) > cap(p.free[small]) && total-cap(p.free[small])+cap(b) <= maxFreeBytes:
		p.free[small] = b[:0]
	}
}
