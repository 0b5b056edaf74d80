package parsers

import (
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
}

// lineRoom returns room for a line of n bytes plus spare bytes after it,
// with len n. Nothing is handed out until commitLine.
func (sl *slabs) lineRoom(n, spare int) []byte {
	need := n + spare
	if need > textBlock/4 {
		return make([]byte, n, need)
	}
	if cap(sl.text)-len(sl.text) < need {
		sl.text = make([]byte, 0, nextTextBlock(cap(sl.text), need))
	}
	start := len(sl.text)
	return sl.text[start : start+n : start+need]
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
func (sl *slabs) newFields(n int) []record.Field { return carve(&sl.fields, n) }

// newValues is newFields for array items.
func (sl *slabs) newValues(n int) []record.Value { return carve(&sl.values, n) }

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
