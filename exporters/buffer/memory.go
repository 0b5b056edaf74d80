package buffer

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the bounded in-memory buffer (records and bytes). When full it
// blocks Put, or with DropOldest drops the oldest item not yet being sent;
// the wait for that item returns ErrDropped.
type Memory struct {
	opt Options

	mu             sync.Mutex
	items          []*Item
	inflight       *Item
	records, bytes int64
	closed         bool
	changed        chan struct{}
}

// NewMemory returns an empty memory buffer.
func NewMemory(o Options) *Memory {
	return &Memory{opt: o.withDefaults(), changed: make(chan struct{})}
}

// notify must be called with mu held.
func (q *Memory) notify() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *Memory) Durable() bool { return false }
func (q *Memory) Segments() int { return 0 }

func (q *Memory) Changes() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

func (q *Memory) Depth() (int64, int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.records, q.bytes
}

func (q *Memory) Put(ctx context.Context, items []*Item) (func(context.Context) error, error) {
	if err := q.put(ctx, items); err != nil {
		q.cancel(items)
		return nil, err
	}
	return func(ctx context.Context) error { return q.wait(ctx, items) }, nil
}

func (q *Memory) put(ctx context.Context, items []*Item) error {
	for _, c := range items {
		n, size := int64(c.Records), int64(len(c.Data))
		if n > q.opt.MaxRecords || size > q.opt.MaxBytes {
			return ErrTooLarge
		}
		c.done = make(chan error, 1)
		for {
			q.mu.Lock()
			if q.closed {
				q.mu.Unlock()
				return ErrClosed
			}
			if q.records+n <= q.opt.MaxRecords && q.bytes+size <= q.opt.MaxBytes {
				q.items = append(q.items, c)
				q.records += n
				q.bytes += size
				q.notify()
				q.mu.Unlock()
				break
			}
			if q.opt.DropOldest && len(q.items) > 0 {
				old := q.items[0]
				q.items = q.items[1:]
				q.records -= int64(old.Records)
				q.bytes -= int64(len(old.Data))
				// Counted before the waiter wakes, so whoever sees
				// ErrDropped also sees the drop in the metric.
				q.opt.OnDrop(old.Records)
				old.done <- ErrDropped
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

// wait waits for the items of one Put; if ctx ends first, the items the
// sender has not taken yet are withdrawn. It returns the first error.
func (q *Memory) wait(ctx context.Context, items []*Item) error {
	var first error
	for _, c := range items {
		select {
		case err := <-c.done:
			if err != nil && first == nil {
				first = err
			}
		case <-ctx.Done():
			q.cancel(items)
			return fmt.Errorf("waiting for the ack: %w", ctx.Err())
		}
	}
	return first
}

// cancel removes items that the sender has not taken yet (their Export gave
// up); an item being sent stays, and may arrive twice after a retry.
func (q *Memory) cancel(items []*Item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range items {
		for i, it := range q.items {
			if it == c {
				q.items = append(q.items[:i:i], q.items[i+1:]...)
				q.records -= int64(c.Records)
				q.bytes -= int64(len(c.Data))
				q.notify()
				break
			}
		}
	}
}

func (q *Memory) Next(ctx context.Context) (*Item, error) {
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

// Sending reports whether the sender holds an item.
func (q *Memory) Sending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.inflight != nil
}

// Ack signals the item's wait and hands its Data to Options.Release.
func (q *Memory) Ack(c *Item) { q.release(c, nil) }

// Fail is Ack with err for the item's wait.
func (q *Memory) Fail(c *Item, err error) { q.release(c, err) }

func (q *Memory) release(c *Item, err error) {
	q.mu.Lock()
	q.records -= int64(c.Records)
	q.bytes -= int64(len(c.Data))
	q.inflight = nil
	q.notify()
	q.mu.Unlock()
	c.done <- err
	q.opt.Release(c.Data) // its wait only needs done
}

// Abandon does nothing: Close fails the item being sent with the rest.
func (q *Memory) Abandon(*Item) {}

// Close fails every item still held and returns their records as lost.
func (q *Memory) Close(cause error) (kept, lost int64, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	n := q.records
	if q.inflight != nil {
		q.inflight.done <- cause
		q.inflight = nil
	}
	for _, c := range q.items {
		c.done <- cause
	}
	q.items, q.records, q.bytes = nil, 0, 0
	q.notify()
	return 0, n, nil
}
