package buffer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The spool is a directory of append-only segment files, named
// %020d.seg. Each frame is
//
//	u32 payload length | u32 CRC32C(payload) | u32 CRC32C(first 8 bytes)
//	payload: u32 records | u8 id length | id | the item's Data (wire message)
//
// This format is on disk across restarts and upgrades: change it only with a
// reader for the old one. Frames are fsynced before Put returns. A frame whose header checksum
// fails ends its segment (the length cannot be trusted: a torn tail); one
// whose payload checksum fails is skipped. Segments are deleted once every
// chunk in them is acknowledged. Close writes, next to a segment still kept,
// its acknowledged mark %020d.ack: the offset below which every frame was
// acknowledged (u64, then u32 CRC32C of it), so a clean restart re-sends
// none of them; after a crash there is no new mark, and a restart re-sends
// the rest of partly acknowledged segments (at-least-once).
const (
	// FrameHeader is the length of a frame's header, before its payload.
	FrameHeader = 12
	segSuffix   = ".seg"
	ackSuffix   = ".ack"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type segment struct {
	id       uint64
	f        *os.File
	size     int64 // bytes written and synced; frames beyond are not visible
	readOff  int64 // next frame for the sender
	records  int64 // records not yet acknowledged
	inflight int   // chunks handed out, not acknowledged
	// inflightRecords are the records of those chunks: a dropped segment
	// does not count them, since the sender still holds them.
	inflightRecords int64
	sealed          bool // no more writes
	scanned         bool // recovered at start: its bad frames are already counted
	removed         bool
	// ackedTo is the offset below which every frame is acknowledged (or
	// skipped as corrupt); acked holds the frames acknowledged beyond it,
	// by offset, until the ones before them are.
	ackedTo int64
	acked   map[int64]int64
	marked  int64 // the ackedTo on disk in the segment's .ack file
}

// done notes the frame [off, end) acknowledged or skipped.
func (seg *segment) done(off, end int64) {
	if off != seg.ackedTo {
		if seg.acked == nil {
			seg.acked = map[int64]int64{}
		}
		seg.acked[off] = end
		return
	}
	seg.ackedTo = end
	for {
		e, ok := seg.acked[seg.ackedTo]
		if !ok {
			return
		}
		delete(seg.acked, seg.ackedTo)
		seg.ackedTo = e
	}
}

func (seg *segment) ackPath() string {
	return strings.TrimSuffix(seg.f.Name(), segSuffix) + ackSuffix
}

// Spool is the durable Buffer: items are fsynced into segment files before
// Put returns, and what is not acknowledged at Close is delivered after the
// next OpenSpool of the same directory.
type Spool struct {
	dir      string
	segBytes int64
	opt      Options

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is written to
	records int64
	bytes   int64
	nextID  uint64
	closed  bool
	changed chan struct{}
}

// OpenSpool recovers the segments a previous run left in dir and starts a
// new one to write to. It reports how many records it recovered; the frames
// it had to skip as torn or corrupt go to Options.OnCorrupt.
func OpenSpool(dir string, o Options) (*Spool, int64, error) {
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, opt: o, changed: make(chan struct{}),
		segBytes: max(o.MaxBytes/8, 64<<10)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		if base, ok := strings.CutSuffix(e.Name(), ackSuffix); ok {
			if _, err := os.Stat(filepath.Join(dir, base+segSuffix)); errors.Is(err, os.ErrNotExist) {
				os.Remove(filepath.Join(dir, e.Name())) // its segment is gone
			}
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), segSuffix), 10, 64)
		if err != nil || !strings.HasSuffix(e.Name(), segSuffix) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, 0, fmt.Errorf("spool: %w", err)
		}
		seg := &segment{id: id, f: f, sealed: true, scanned: true}
		mark := readMark(seg.ackPath())
		if seg.size, seg.records, seg.ackedTo, err = s.scan(f, mark); err != nil {
			f.Close()
			return nil, 0, err
		}
		seg.readOff, seg.marked = seg.ackedTo, seg.ackedTo
		if seg.records == 0 {
			f.Close()
			os.Remove(f.Name())
			os.Remove(seg.ackPath())
			continue
		}
		s.segs = append(s.segs, seg)
		s.records += seg.records
		s.bytes += seg.size
		s.nextID = max(s.nextID, id+1)
	}
	slices.SortFunc(s.segs, func(a, b *segment) int { return cmpUint(a.id, b.id) })
	if err := s.rotate(); err != nil {
		return nil, 0, err
	}
	return s, s.records, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scan walks a recovered segment and returns the length of its valid
// prefix, the records of its frames from the acknowledged mark on, and the
// mark, which must be a frame's start in that prefix (else 0: all frames
// are sent again). Bad frames below the mark were reported by an earlier run.
func (s *Spool) scan(f *os.File, mark int64) (size, records, from int64, err error) {
	var off, all, after int64
	boundary := mark == 0
	for {
		if off == mark {
			boundary = true
		}
		payload, next, err := readFrame(f, off)
		if err == io.EOF {
			break
		}
		if errors.Is(err, errTorn) || errors.Is(err, errCorrupt) {
			if off >= mark {
				s.opt.OnCorrupt()
			}
			if errors.Is(err, errTorn) {
				break
			}
			off = next
			continue
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("spool: reading %s: %w", f.Name(), err)
		}
		n := int64(binary.BigEndian.Uint32(payload))
		all += n
		if off >= mark {
			after += n
		}
		off = next
	}
	if !boundary {
		return off, all, 0, nil
	}
	return off, after, mark, nil
}

// readMark reads an acknowledged mark; 0 when there is none or it is damaged.
func readMark(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.BigEndian.Uint32(b[8:]) {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// writeMark saves seg's acknowledged mark: written aside, fsynced and
// renamed, so a crash leaves the old mark or the new one.
func writeMark(seg *segment) error {
	var b [12]byte
	binary.BigEndian.PutUint64(b[:], uint64(seg.ackedTo))
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	tmp := seg.ackPath() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, seg.ackPath())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: acknowledged mark: %w", err)
	}
	return nil
}

var (
	errTorn    = errors.New("torn frame")
	errCorrupt = errors.New("corrupt frame")
)

// readFrame reads the frame at off. io.EOF means a clean end; errTorn an
// unreadable header (stop here); errCorrupt a bad payload (skip to next).
func readFrame(f *os.File, off int64) (payload []byte, next int64, err error) {
	var h [FrameHeader]byte
	n, err := f.ReadAt(h[:], off)
	if n == 0 && err == io.EOF {
		return nil, off, io.EOF
	}
	if n < FrameHeader {
		return nil, off, errTorn
	}
	if crc32.Checksum(h[:8], castagnoli) != binary.BigEndian.Uint32(h[8:]) {
		return nil, off, errTorn
	}
	size := binary.BigEndian.Uint32(h[:4])
	payload = make([]byte, size)
	if n, _ := f.ReadAt(payload, off+FrameHeader); n < int(size) {
		return nil, off, errTorn
	}
	next = off + FrameHeader + int64(size)
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(h[4:8]) || size < 5 || int(size) < 5+int(payload[4]) {
		return nil, next, errCorrupt
	}
	return payload, next, nil
}

func appendFrame(b []byte, c *Item) []byte {
	start := len(b)
	b = append(b, make([]byte, FrameHeader)...)
	b = binary.BigEndian.AppendUint32(b, uint32(c.Records))
	b = append(b, byte(len(c.ID)))
	b = append(b, c.ID...)
	b = append(b, c.Data...)
	payload := b[start+FrameHeader:]
	binary.BigEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	binary.BigEndian.PutUint32(b[start+8:], crc32.Checksum(b[start:start+8], castagnoli))
	return b
}

// rotate seals the segment being written and starts a new one. mu held (or
// not yet shared).
func (s *Spool) rotate() error {
	if n := len(s.segs); n > 0 && !s.segs[n-1].sealed {
		s.segs[n-1].sealed = true
		s.maybeRemove(s.segs[n-1])
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%020d%s", s.nextID, segSuffix))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.segs = append(s.segs, &segment{id: s.nextID, f: f})
	s.nextID++
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", dir, err)
	}
	return nil
}

func (s *Spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Spool) Durable() bool { return true }

func (s *Spool) Changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Spool) Depth() (int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records, s.bytes
}

func (s *Spool) Segments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segs)
}

// Put appends the items to the current segment and fsyncs before
// returning: then they survive a crash, and their Data goes to
// Options.Release. The wait it returns has nothing left to wait for.
func (s *Spool) Put(ctx context.Context, items []*Item) (func(context.Context) error, error) {
	if err := s.put(ctx, items); err != nil {
		return nil, err
	}
	for _, c := range items {
		s.opt.Release(c.Data) // the sender reads the spool, not these
	}
	return safe, nil
}

func safe(context.Context) error { return nil }

// put holds mu around each frame's write and fsync so the sender never sees
// a frame that is not yet synced.
func (s *Spool) put(ctx context.Context, cs []*Item) error {
	var frame []byte
	for _, c := range cs {
		frame = appendFrame(frame[:0], c)
		n, size := int64(c.Records), int64(len(frame))
		if n > s.opt.MaxRecords || size > s.opt.MaxBytes {
			return ErrTooLarge
		}
		if err := s.reserve(ctx, n, size); err != nil {
			return err
		}
		seg := s.segs[len(s.segs)-1]
		if _, err := seg.f.WriteAt(frame, seg.size); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("spool: write: %w", err)
		}
		if err := seg.f.Sync(); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("spool: fsync: %w", err)
		}
		seg.size += size
		seg.records += n
		s.records += n
		s.bytes += size
		if seg.size >= s.segBytes {
			if err := s.rotate(); err != nil {
				s.notify()
				s.mu.Unlock()
				return err
			}
		}
		s.notify()
		s.mu.Unlock()
	}
	return nil
}

// reserve waits until n records and size bytes fit, or makes room by
// dropping the oldest segments; it returns with mu held on success.
func (s *Spool) reserve(ctx context.Context, n, size int64) error {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.records+n <= s.opt.MaxRecords && s.bytes+size <= s.opt.MaxBytes {
			return nil
		}
		if s.opt.DropOldest {
			if len(s.segs) == 1 {
				if err := s.rotate(); err != nil {
					s.mu.Unlock()
					return err
				}
			}
			old := s.segs[0]
			// The chunks the sender holds may still be acknowledged; they
			// count as dropped only if abandoned (see Abandon).
			s.opt.OnDrop(int(old.records - old.inflightRecords))
			s.remove(old)
			s.notify()
			s.mu.Unlock()
			continue
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// remove deletes a segment; mu held.
func (s *Spool) remove(seg *segment) {
	seg.removed = true
	s.records -= seg.records
	s.bytes -= seg.size
	seg.f.Close()
	os.Remove(seg.f.Name())
	if seg.marked > 0 {
		os.Remove(seg.ackPath())
	}
	s.segs = slices.DeleteFunc(s.segs, func(x *segment) bool { return x == seg })
}

// maybeRemove deletes a sealed segment that is fully read and acknowledged.
func (s *Spool) maybeRemove(seg *segment) {
	if seg.sealed && !seg.removed && seg.inflight == 0 && seg.readOff >= seg.size && seg.records == 0 {
		s.remove(seg)
	}
}

func (s *Spool) Next(ctx context.Context) (*Item, error) {
	for {
		s.mu.Lock()
		var seg *segment
		for _, x := range s.segs {
			if x.readOff < x.size {
				seg = x
				break
			}
		}
		if seg == nil {
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		off := seg.readOff
		s.mu.Unlock()
		// Frames below size are immutable, so they are read without mu.
		payload, next, err := readFrame(seg.f, off)
		s.mu.Lock()
		if seg.removed { // dropped meanwhile
			s.mu.Unlock()
			continue
		}
		switch {
		case err == nil:
			seg.readOff = next
			seg.inflight++
			idLen := int(payload[4])
			c := &Item{Records: int(binary.BigEndian.Uint32(payload)), ID: string(payload[5 : 5+idLen]), Data: payload[5+idLen:],
				seg: seg, off: off, end: next}
			seg.inflightRecords += int64(c.Records)
			s.mu.Unlock()
			return c, nil
		case errors.Is(err, errCorrupt):
			if !seg.scanned {
				s.opt.OnCorrupt()
			}
			seg.readOff = next
			seg.done(off, next) // nothing in it to send again
		default: // torn or unreadable: nothing after it can be trusted
			if !seg.scanned {
				s.opt.OnCorrupt()
			}
			s.records -= seg.records
			seg.records = 0
			seg.readOff = seg.size
		}
		s.maybeRemove(seg)
		s.notify()
		s.mu.Unlock()
	}
}

func (s *Spool) Ack(c *Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := c.seg
	seg.inflight--
	seg.inflightRecords -= int64(c.Records)
	if seg.removed {
		return
	}
	seg.records -= int64(c.Records)
	s.records -= int64(c.Records)
	seg.done(c.off, c.end)
	s.maybeRemove(seg)
	s.notify()
}

// Fail releases the item as Ack does: its Put returned once it was on
// disk, so nobody waits for it.
func (s *Spool) Fail(c *Item, _ error) { s.Ack(c) }

// Abandon returns an item the sender gave up on at shutdown; it stays on
// disk for the next start.
func (s *Spool) Abandon(c *Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seg.inflight--
	c.seg.inflightRecords -= int64(c.Records)
	if c.seg.removed { // drop_oldest removed it from disk: nothing keeps it
		s.opt.OnDrop(c.Records)
	}
}

// Close closes the segment files, keeping the records not yet acknowledged
// on disk for the next start; cause is not needed.
func (s *Spool) Close(error) (kept, lost int64, err error) {
	kept, _ = s.Depth()
	return kept, 0, s.close()
}

func (s *Spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for _, seg := range slices.Clone(s.segs) {
		if seg.records == 0 && seg.inflight == 0 && seg.readOff >= seg.size {
			seg.sealed = true
			s.maybeRemove(seg)
			continue
		}
		if seg.ackedTo > seg.marked {
			errs = append(errs, writeMark(seg))
		}
		errs = append(errs, seg.f.Close())
	}
	s.notify()
	return errors.Join(errs...)
}
