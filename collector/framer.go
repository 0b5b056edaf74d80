package collector

import (
	"bytes"
	"io"
	"sync"
)

const readChunk = 64 << 10

// framer splits a byte stream into lines and knows the offset just past each
// line. A line longer than maxLine is cut to maxLine bytes and the rest of it
// is skipped up to its newline: the one bounded loss, reported as truncated.
// Memory stays within maxLine plus one read chunk whatever the input.
type framer struct {
	buf        []byte
	start, end int   // unconsumed bytes are buf[start:end]
	pos        int64 // offset of buf[end] in the input
	last       int64 // offset just past the last line returned
	maxLine    int
	discarding bool   // inside an over-long line, skipping to its newline
	long       []byte // the kept head of the over-long line
}

func newFramer(offset int64, maxLine int) *framer {
	return &framer{pos: offset, last: offset, maxLine: maxLine}
}

// chunks lends read buffers of readChunk bytes: a file holds one only while
// it is being read, so thousands of idle files hold none.
var chunks = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// release lends the buffer back when nothing is pending in it (no partial
// line), so an idle file costs no read buffer; the next fill takes one.
func (f *framer) release() {
	if f.buf == nil || f.start != f.end || f.discarding {
		return
	}
	if len(f.buf) == readChunk {
		b := f.buf[:readChunk]
		chunks.Put(&b)
	}
	f.buf, f.start, f.end = nil, 0, 0
	f.long = nil
}

// next returns the next complete line without its newline (and without a
// trailing \r), the offset just past the newline, and whether the line was
// cut. ok is false when more input is needed. line aliases the buffer and is
// valid until the next call to fill.
func (f *framer) next() (line []byte, end int64, truncated, ok bool) {
	for {
		i := bytes.IndexByte(f.buf[f.start:f.end], '\n')
		if i < 0 {
			f.holdPartial()
			return nil, 0, false, false
		}
		line = f.buf[f.start : f.start+i]
		f.start += i + 1
		end = f.pos - int64(f.end-f.start)
		f.last = end
		if f.discarding {
			f.discarding = false
			return trimCR(f.long), end, true, true
		}
		if len(line) > f.maxLine {
			return line[:f.maxLine], end, true, true
		}
		return trimCR(line), end, false, true
	}
}

// holdPartial enforces the line bound on an unterminated line: once it
// reaches maxLine its head is kept aside and the rest is skipped.
func (f *framer) holdPartial() {
	if f.discarding {
		f.start = f.end
		return
	}
	if f.end-f.start > f.maxLine {
		f.long = append(f.long[:0], f.buf[f.start:f.start+f.maxLine]...)
		f.discarding = true
		f.start = f.end
	}
}

// fill reads once from r, compacting and growing the buffer as needed.
func (f *framer) fill(r io.Reader) (int, error) {
	if f.buf == nil {
		if f.maxLine+1 >= readChunk {
			f.buf = *chunks.Get().(*[]byte)
		} else {
			f.buf = make([]byte, f.maxLine+1)
		}
	}
	if f.start > 0 {
		n := copy(f.buf, f.buf[f.start:f.end])
		f.start, f.end = 0, n
	}
	if f.end == len(f.buf) {
		grown := make([]byte, min(2*len(f.buf), f.maxLine+readChunk))
		copy(grown, f.buf[:f.end])
		f.buf = grown
	}
	n, err := r.Read(f.buf[f.end:])
	f.end += n
	f.pos += int64(n)
	return n, err
}

// unfill takes back the last n bytes read, when they turn out to come from
// a file rewritten under the reader (truncated and regrown past its offset).
func (f *framer) unfill(n int) {
	f.end -= n
	f.pos -= int64(n)
}

// rest returns the unterminated tail at the end of an input that will not
// grow any more (stdin at EOF, a rotated file drained), and consumes it.
func (f *framer) rest() (line []byte, end int64, truncated, ok bool) {
	if f.discarding {
		f.discarding = false
		f.start, f.last = f.end, f.pos
		return trimCR(f.long), f.pos, true, true
	}
	if f.start == f.end {
		return nil, 0, false, false
	}
	line = f.buf[f.start:f.end]
	f.start, f.last = f.end, f.pos
	return trimCR(line), f.pos, false, true
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
