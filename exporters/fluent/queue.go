package fluent

import (
	"context"
	"errors"
	"sync"
)

// buffer holds chunks until the aggregator acknowledges them: memQueue in
// memory, spool on disk. One sender goroutine takes chunks in order.
type buffer interface {
	// put stores chunks: memQueue returns once they are queued (Export then
	// waits for their acks), spool once they are fsynced.
	put(ctx context.Context, cs []*chunk) error
	// next blocks until a chunk is available or ctx ends.
	next(ctx context.Context) (*chunk, error)
	// ack releases an acknowledged chunk.
	ack(c *chunk)
	// depth is what is not yet acknowledged, in records and bytes.
	depth() (records, bytes int64)
	// changes is closed at the next change of depth.
	changes() <-chan struct{}
}

var (
	errTooLarge = errors.New("chunk is larger than the buffer's bounds")
	errDropped  = errors.New("dropped by buffer.on_full: drop_oldest")
	errClosed   = errors.New("exporter is closed")
)

// memQueue is the bounded in-memory buffer (records and bytes). When full it
// blocks put, or with dropOldest drops the oldest chunk not yet being sent;
// the Export waiting for that chunk gets errDropped.
type memQueue struct {
	mu                   sync.Mutex
	items                []*chunk
	inflight             *chunk
	records, bytes       int64
	maxRecords, maxBytes int64
	dropOldest           bool
	closed               bool
	changed              chan struct{}
	onDrop               func(records int)
}

func newMemQueue(maxRecords, maxBytes int64, dropOldest bool, onDrop func(int)) *memQueue {
	return &memQueue{maxRecords: maxRecords, maxBytes: maxBytes, dropOldest: dropOldest, changed: make(chan struct{}), onDrop: onDrop}
}

// notify must be called with mu held.
func (q *memQueue) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *memQueue) changes() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

func (q *memQueue) depth() (int64, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.records, q.bytes
}

func (q *memQueue) put(ctx context.Context, cs []*chunk) error {
	for _, c := range cs {
		n, size := int64(c.records), int64(len(c.msg))
		if n > q.maxRecords || size > q.maxBytes {
			return errTooLarge
		}
		c.done = make(chan error, 1)
		for {
			q.mu.Lock()
			if q.closed {
				q.mu.Unlock()
				return errClosed
			}
			if q.records+n <= q.maxRecords && q.bytes+size <= q.maxBytes {
				q.items = append(q.items, c)
				q.records += n
				q.bytes += size
				q.notify()
				q.mu.Unlock()
				break
			}
			if q.dropOldest && len(q.items) > 0 {
				old := q.items[0]
				q.items = q.items[1:]
				q.records -= int64(old.records)
				q.bytes -= int64(len(old.msg))
				old.done <- errDropped
				q.onDrop(old.records)
				q.notify()
				q.mu.Unlock()
				continue
			}
			ch := q.changed
			q.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// cancel removes chunks that the sender has not taken yet (their Export gave
// up); a chunk being sent stays, and may arrive twice after a retry.
func (q *memQueue) cancel(cs []*chunk) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range cs {
		for i, it := range q.items {
			if it == c {
				q.items = append(q.items[:i:i], q.items[i+1:]...)
				q.records -= int64(c.records)
				q.bytes -= int64(len(c.msg))
				q.notify()
				break
			}
		}
	}
}

func (q *memQueue) next(ctx context.Context) (*chunk, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			c := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.inflight = c
			q.notify()
			q.mu.Unlock()
			return c, nil
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// sending reports whether the sender holds a chunk.
func (q *memQueue) sending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inflight != nil
}

func (q *memQueue) ack(c *chunk) {
	q.mu.Lock()
	q.records -= int64(c.records)
	q.bytes -= int64(len(c.msg))
	q.inflight = nil
	q.notify()
	q.mu.Unlock()
	c.done <- nil
}

// abort fails every chunk still held (at shutdown) and returns their records.
func (q *memQueue) abort(err error) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	n := q.records
	if q.inflight != nil {
		q.inflight.done <- err
		q.inflight = nil
	}
	for _, c := range q.items {
		c.done <- err
	}
	q.items, q.records, q.bytes = nil, 0, 0
	q.notify()
	return n
}
