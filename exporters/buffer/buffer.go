// Package buffer holds what a delivering exporter has accepted but its peer
// has not yet acknowledged: in memory (Memory) or in an fsynced disk spool
// (Spool), behind one interface, Buffer. The exporter puts encoded items in
// and one sender goroutine takes them out in order, delivers each and acks
// it. The package knows nothing of any wire protocol; it imports only the
// standard library.
package buffer

import (
	"context"
	"errors"
)

// Item is one unit of delivery: one encoded message that the peer
// acknowledges as a whole.
type Item struct {
	ID      string // what the peer's ack names; at most 255 bytes
	Data    []byte // the encoded message
	Records int    // the records it carries

	done     chan error // Memory: the wait for its ack
	seg      *segment   // Spool: where it lies,
	off, end int64      // and its frame's bytes there
}

// Buffer is a bounded, ordered buffer of items waiting for their ack.
//
// Put may be called from any goroutine (the exporter serialises its own
// calls to keep order); Next, Ack and Abandon belong to one sender goroutine.
type Buffer interface {
	// Put stores items behind every item put before; it blocks while the
	// bounds are full (or, with drop-oldest, drops the oldest items). A
	// durable buffer returns once the items are fsynced, and its wait
	// returns nil at once; otherwise wait returns once every item is
	// acknowledged (nil), dropped (ErrDropped) or failed by Close, or, when
	// its ctx ends first, withdraws the items the sender has not taken and
	// returns an error wrapping ctx.Err(). An item larger than the bounds
	// fails with ErrTooLarge. When Put fails, the items it queued in memory
	// are withdrawn (a spool keeps what it has already written).
	Put(ctx context.Context, items []*Item) (wait func(context.Context) error, err error)
	// Durable reports whether Put returns only once the items would survive
	// a crash, so the caller may treat them as safe.
	Durable() bool
	// Next blocks until an item is available or ctx ends.
	Next(ctx context.Context) (*Item, error)
	// Ack releases an acknowledged item.
	Ack(it *Item)
	// Fail releases an item the peer refused for good (the caller counts
	// it): its wait, if it still waits, returns err.
	Fail(it *Item, err error)
	// Abandon gives back an item the sender took but will not deliver
	// (shutdown); a durable buffer keeps it for the next start.
	Abandon(it *Item)
	// Depth is what is not yet acknowledged, in records and bytes.
	Depth() (records, bytes int64)
	// Segments is the number of spool files (0 in memory).
	Segments() int
	// Changes is closed at the next change of depth.
	Changes() <-chan struct{}
	// Close stops the buffer. A durable buffer keeps what is left for the
	// next start (kept); otherwise every wait still pending returns cause
	// and the records are lost (lost).
	Close(cause error) (kept, lost int64, err error)
}

// Options bound a buffer and say what happens at its edges.
type Options struct {
	MaxRecords, MaxBytes int64
	// DropOldest makes room by dropping the oldest items instead of
	// blocking Put.
	DropOldest bool
	// OnDrop counts the records dropped by DropOldest.
	OnDrop func(records int)
	// OnCorrupt counts spool frames skipped as torn or corrupt.
	OnCorrupt func()
	// Release is handed an item's Data once the buffer no longer reads it
	// (after Ack in memory, once written in a spool), so the caller can
	// reuse the memory. Optional.
	Release func(data []byte)
}

func (o Options) withDefaults() Options {
	if o.OnDrop == nil {
		o.OnDrop = func(int) {}
	}
	if o.OnCorrupt == nil {
		o.OnCorrupt = func() {}
	}
	if o.Release == nil {
		o.Release = func([]byte) {}
	}
	return o
}

var (
	// ErrTooLarge: an item does not fit the bounds even in an empty buffer.
	ErrTooLarge = errors.New("chunk is larger than the buffer's bounds")
	// ErrDropped: the item was dropped to make room (drop-oldest).
	ErrDropped = errors.New("dropped by buffer.on_full: drop_oldest")
	// ErrClosed: the buffer (and so its exporter) is closed.
	ErrClosed = errors.New("exporter is closed")
)

var (
	_ Buffer = (*Memory)(nil)
	_ Buffer = (*Spool)(nil)
)

// MemoryDepth is b's depth when it is held in memory, and zero for a spool
// or no buffer yet: the queue gauges of a delivering exporter.
func MemoryDepth(b Buffer) (records, bytes int64) {
	if b == nil || b.Durable() {
		return 0, 0
	}
	return b.Depth()
}

// SpoolDepth is b's depth and files when it is a spool, and zero otherwise.
func SpoolDepth(b Buffer) (records, bytes int64, segments int) {
	if b == nil || !b.Durable() {
		return 0, 0, 0
	}
	records, bytes = b.Depth()
	return records, bytes, b.Segments()
}
