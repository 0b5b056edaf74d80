package parsers

import (
	"sync"
	"unsafe"

	"github.com/obsadapter/obsadapter/record"
)

// unsafeString views b as a string without copying. Callers guarantee that
// b is never written again while the string lives (Stream.ownLine), or that
// the string does not outlive the current line (Stream.loadLine).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Records' text and field slices are carved from blocks shared by many
// records instead of being allocated one by one: two allocations a line were
// a tenth of the parse time. A block is never written again where it was
// handed out, so what records hold stays immutable; it is freed once no
// record from it is left, which the pipeline's bounded queues bound.
// Anything that keeps a record's string for long (a metric label, a sample)
// clones it, as it would any substring of a line.
//
// A stream's first block (and its first after Compact) is small, and each
// next one twice the last up to the full size: a file that gets a line now
// and then must not keep a full block per file alive.
const (
	textBlock       = 32 << 10 // bytes
	firstTextBlock  = 512
	fieldBlock      = 256 // fields, and array items
	firstFieldBlock = fieldBlock / 8
)

// slabs is a stream's current blocks.
type slabs struct {
	text   []byte         // len is what is handed out
	fields []record.Field // len is what is handed out
	values []record.Value // len is what is handed out

	// With a pool (Stream.ReuseBlocks), full-size blocks come from it, and
	// a full-size block the stream moves on from is retired: kept for
	// TakeRetired, numbered so that one a held record may still use is not
	// let go. gen numbers blocks in the order they were started.
	pool          *BlockPool
	gen           uint64
	cur           blockGens // the current blocks' gens
	retiredText   []genBlock[byte]
	retiredFields []genBlock[record.Field]
	retiredValues []genBlock[record.Value]
}

type genBlock[T any] struct {
	gen   uint64
	block []T
}

// lineRoom returns room for a line of n bytes plus spare bytes after it,
// with len n. Nothing is handed out until commitLine.
func (sl *slabs) lineRoom(n, spare int) []byte {
	need := n + spare
	if need > textBlock/4 {
		return make([]byte, n, need)
	}
	if cap(sl.text)-len(sl.text) < need {
		sl.newTextBlock(need)
	}
	start := len(sl.text)
	return sl.text[start : start+n : start+need]
}

func (sl *slabs) newTextBlock(need int) {
	size := nextTextBlock(cap(sl.text), need)
	if sl.pool != nil && cap(sl.text) == textBlock {
		sl.retiredText = append(sl.retiredText, genBlock[byte]{sl.cur.text, sl.text[:0]})
	}
	var b []byte
	if sl.pool != nil && size == textBlock {
		b = sl.pool.takeText()
	}
	if b == nil {
		b = make([]byte, 0, size)
	}
	sl.gen++
	sl.text, sl.cur.text = b, sl.gen
}

// commitLine hands out the part of the room lineRoom returned that the
// record used (the line and what keep appended).
func (sl *slabs) commitLine(used []byte) {
	if len(used) == 0 || cap(sl.text) == len(sl.text) {
		return
	}
	start := len(sl.text)
	if unsafe.SliceData(used) == unsafe.SliceData(sl.text[start:start+1]) {
		sl.text = sl.text[:start+len(used)]
	}
}

// newFields returns n zeroed fields whose capacity ends at n, so an append
// by whoever holds them cannot reach a neighbour's.
func (sl *slabs) newFields(n int) []record.Field {
	if n <= firstFieldBlock && cap(sl.fields)-len(sl.fields) < n {
		sl.cur.fields = nextBlock(sl, &sl.fields, &sl.retiredFields, sl.cur.fields, sl.pool.takeFields)
	}
	return carve(&sl.fields, n)
}

// newValues is newFields for array items.
func (sl *slabs) newValues(n int) []record.Value {
	if n <= firstFieldBlock && cap(sl.values)-len(sl.values) < n {
		sl.cur.values = nextBlock(sl, &sl.values, &sl.retiredValues, sl.cur.values, sl.pool.takeValues)
	}
	return carve(&sl.values, n)
}

// nextBlock replaces a full field or value block (retiring it when it is
// pooled), from the pool when it has one, and returns the new block's gen.
func nextBlock[T any](sl *slabs, block *[]T, retired *[]genBlock[T], gen uint64, take func() []T) uint64 {
	if sl.pool != nil && cap(*block) == fieldBlock {
		*retired = append(*retired, genBlock[T]{gen, (*block)[:0]})
	}
	size := min(max(2*cap(*block), firstFieldBlock), fieldBlock)
	var b []T
	if sl.pool != nil && size == fieldBlock {
		b = take()
		clear(b[:cap(b)]) // carve hands out zeroed elements
	}
	if b == nil {
		b = make([]T, 0, size)
	}
	*block = b
	sl.gen++
	return sl.gen
}

// carve hands out n zeroed elements of *block, starting a new block when it
// has no room; a request too large for the first block gets its own array.
// (So a new block always has room, and carve stays small enough to inline.)
func carve[T any](block *[]T, n int) []T {
	if n > firstFieldBlock {
		return make([]T, n)
	}
	if cap(*block)-len(*block) < n {
		*block = make([]T, 0, min(max(2*cap(*block), firstFieldBlock), fieldBlock))
	}
	start := len(*block)
	*block = (*block)[:start+n]
	return (*block)[start : start+n : start+n]
}

// blockGens are a gen for each kind of block.
type blockGens struct{ text, fields, values uint64 }

// noGens is above every gen: nothing held.
var noGens = blockGens{^uint64(0), ^uint64(0), ^uint64(0)}

func (g blockGens) min(o blockGens) blockGens {
	return blockGens{min(g.text, o.text), min(g.fields, o.fields), min(g.values, o.values)}
}

// inUse is, per kind, the oldest block a line parsed from now on may use:
// the current one, or when there is none the next to start. A record held
// from the line pins those blocks and every later one.
func (sl *slabs) inUse() blockGens {
	g := sl.cur
	if cap(sl.text) == 0 {
		g.text = sl.gen + 1
	}
	if cap(sl.fields) == 0 {
		g.fields = sl.gen + 1
	}
	if cap(sl.values) == 0 {
		g.values = sl.gen + 1
	}
	return g
}

// takeRetired moves the retired blocks older than before, kind by kind,
// into b.
func (sl *slabs) takeRetired(b *Blocks, before blockGens) {
	sl.retiredText = moveOlder(sl.retiredText, &b.text, before.text)
	sl.retiredFields = moveOlder(sl.retiredFields, &b.fields, before.fields)
	sl.retiredValues = moveOlder(sl.retiredValues, &b.values, before.values)
}

func moveOlder[T any](retired []genBlock[T], to *[][]T, before uint64) []genBlock[T] {
	kept := retired[:0]
	for _, r := range retired {
		if r.gen < before {
			*to = append(*to, r.block)
		} else {
			kept = append(kept, r)
		}
	}
	clear(retired[len(kept):])
	return kept
}

// Blocks are full-size blocks a stream no longer carves from, on their way
// back to its pool once no record carved from them is in use.
type Blocks struct {
	text   [][]byte
	fields [][]record.Field
	values [][]record.Value
}

// Empty reports whether there is nothing to give back.
func (b *Blocks) Empty() bool { return len(b.text)+len(b.fields)+len(b.values) == 0 }

// BlockPool holds full-size blocks that finished batches gave back, for the
// streams of one source to carve from again instead of allocating: a
// backlog read then leaves the GC almost nothing, where each line's text
// and fields were garbage within a second. Bounded; safe for concurrent use.
type BlockPool struct {
	mu     sync.Mutex
	text   [][]byte
	fields [][]record.Field
	values [][]record.Value
}

// The pool's bounds, about what the pipeline's queues hold at once
// (3 MiB of text, 2 MiB of fields, 0.5 MiB of array items).
const (
	poolTextBlocks  = 96
	poolFieldBlocks = 256
	poolValueBlocks = 128
)

// Release gives blocks back (beyond the bounds they are left to the GC) and
// empties b. Call it only once no record carved from them is in use.
func (p *BlockPool) Release(b *Blocks) {
	p.mu.Lock()
	p.text = appendBounded(p.text, b.text, poolTextBlocks)
	p.fields = appendBounded(p.fields, b.fields, poolFieldBlocks)
	p.values = appendBounded(p.values, b.values, poolValueBlocks)
	p.mu.Unlock()
	clear(b.text)
	clear(b.fields)
	clear(b.values)
	b.text, b.fields, b.values = b.text[:0], b.fields[:0], b.values[:0]
}

// Drain lets every pooled block go, for an idle adapter to give the memory
// back.
func (p *BlockPool) Drain() {
	p.mu.Lock()
	p.text, p.fields, p.values = nil, nil, nil
	p.mu.Unlock()
}

func appendBounded[T any](dst, src []T, bound int) []T {
	return append(dst, src[:min(len(src), max(bound-len(dst), 0))]...)
}

func (p *BlockPool) takeText() []byte { return take(p, &p.text) }

func (p *BlockPool) takeFields() []record.Field {
	if p == nil {
		return nil
	}
	return take(p, &p.fields)
}

func (p *BlockPool) takeValues() []record.Value {
	if p == nil {
		return nil
	}
	return take(p, &p.values)
}

func take[T any](p *BlockPool, list *[]T) T {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	n := len(*list)
	if n == 0 {
		return zero
	}
	b := (*list)[n-1]
	(*list)[n-1] = zero
	*list = (*list)[:n-1]
	return b
}

// nextTextBlock is the size of the text block after one of size last: twice
// it, within firstTextBlock and textBlock, with room for need (at most
// textBlock/4).
func nextTextBlock(last, need int) int {
	size := min(max(2*last, firstTextBlock), textBlock)
	for size < need {
		size *= 2
	}
	return size
}

// Len is the number of blocks pooled.
func (p *BlockPool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.text) + len(p.fields) + len(p.values)
}
