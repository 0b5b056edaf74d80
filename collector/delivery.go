package collector

import (
	"sync"
	"sync/atomic"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// Delivery state, all of it: where a checkpoint advances.
//
// A file source pushes a mark on the file's fileTrack for each batch it
// seals (marks in: fileTrack.push, filesource.go's add), the pipeline's
// runners report per exporter whether the batch is safe (acks in:
// batch.exporterDone, then batch.finish), and fileTrack.ack advances the
// file's low-water mark (acked) past every leading mark that is done and
// safe in every exporter: THE place a checkpoint advances. checkpointEntries
// turns the marks into what checkpoint.go writes (entries out).

// batch is what a source hands to the pipeline: records plus the checkpoint
// marks they carry. Once every exporter is done with it, each mark is
// acknowledged on its file, and the file's low-water mark may advance.
type batch struct {
	records record.Batch
	marks   []markRef
	source  string
	// recycle takes the records' array back once every exporter is done
	// with it (nil: not recycled). Exporters keep nothing of a batch after
	// Export returns or its wait settles.
	recycle chan<- record.Batch
	// routes[i] is the exporter mask of records[i] (bit j: the pipeline's
	// exporter j), set by a route processor; nil: every record goes to
	// every exporter. every and some are the AND and the OR of the masks.
	routes      []uint64
	every, some uint64
	routesBack  chan<- []uint64 // takes routes' array back when done (nil: not recycled)

	// blocks go back to their pool through release once the batch and
	// every earlier one of its source are done: records view them.
	blocks  parsers.Blocks
	release *blockRelease
	seq     uint64

	remaining atomic.Int32 // exporters still working on it
	unsafe    atomic.Bool  // some exporter gave up without delivering it
}

// markRef points at one pending checkpoint mark of one file.
type markRef struct {
	file *fileTrack
	seq  uint64
}

func (b *batch) exporterDone(delivered bool) {
	if !delivered {
		b.unsafe.Store(true)
	}
	if b.remaining.Add(-1) == 0 {
		b.finish()
	}
}

func (b *batch) finish() {
	safe := !b.unsafe.Load()
	for _, m := range b.marks {
		m.file.ack(m.seq, safe)
	}
	if b.recycle != nil {
		clear(b.records) // the spare array must not keep parsed strings alive
		select {
		case b.recycle <- b.records[:0]:
		default:
		}
		b.records = nil
	}
	if b.routesBack != nil {
		select {
		case b.routesBack <- b.routes[:0]:
		default:
		}
		b.routes = nil
	}
	if b.release != nil {
		b.release.finished(b.seq, b.blocks)
		b.blocks = parsers.Blocks{}
	}
}

// blockRelease gives a source's retired blocks back to its pool in the
// order its batches were sent, each once its batch and every earlier one
// are finished: batches can finish out of order (a route leaves a batch
// nothing for a slow exporter), and the records of an earlier batch may
// view blocks that a later one carries.
type blockRelease struct {
	pool *parsers.BlockPool
	mu   sync.Mutex
	sent uint64 // batches numbered so far
	next uint64 // the oldest batch not yet finished
	done map[uint64]parsers.Blocks
}

func newBlockRelease(pool *parsers.BlockPool) *blockRelease {
	if pool == nil {
		return nil
	}
	return &blockRelease{pool: pool, done: map[uint64]parsers.Blocks{}}
}

// number gives the next batch sent its place in the order.
func (r *blockRelease) number() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	return r.sent - 1
}

// finished takes batch seq's blocks and releases every batch's whose turn
// has come.
func (r *blockRelease) finished(seq uint64, b parsers.Blocks) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[seq] = b
	for {
		b, ok := r.done[r.next]
		if !ok {
			return
		}
		delete(r.done, r.next)
		r.next++
		r.pool.Release(&b)
	}
}

// setRoutes attaches the records' exporter masks.
func (b *batch) setRoutes(routes []uint64) {
	b.routes, b.every, b.some = routes, allExporters, 0
	for _, m := range routes {
		b.every &= m
		b.some |= m
	}
}

// wants reports whether the exporter with this mask bit gets any record.
func (b *batch) wants(bit uint64) bool {
	return len(b.records) > 0 && (b.routes == nil || b.some&bit != 0)
}

// fileTrack is the delivery state of one file: the offsets read and safely
// delivered, and the marks still in flight, acknowledged strictly in order so
// the checkpoint never passes a record that is not safe in every exporter.
type fileTrack struct {
	source string
	id     record.FileID

	mu      sync.Mutex
	path    string
	fp      []byte // the file's first bytes, up to fingerprintSize
	base    uint64 // sequence number of pending[0]
	pending []mark // in send order
	acked   int64  // low-water mark: every byte below is safe
	read    atomic.Int64
	size    atomic.Int64
	closed  bool
	idle    chan struct{} // closed when nothing is left in flight; made by drained
	// changes counts, for the whole source, every change a checkpoint
	// would show, so an unchanged checkpoint is not written again.
	changes *atomic.Uint64
}

// changed notes a change the checkpoint shows; mu held.
func (t *fileTrack) changed() {
	if t.changes != nil {
		t.changes.Add(1)
	}
}

// setClosed says whether anything can still resume the file.
func (t *fileTrack) setClosed(closed bool) {
	t.mu.Lock()
	t.closed = closed
	t.changed()
	t.mu.Unlock()
}

type mark struct {
	offset int64
	done   bool
	safe   bool
}

// push records that everything below offset has been handed over in the
// batch being sealed, and returns the mark's sequence number.
func (t *fileTrack) push(offset int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = append(t.pending, mark{offset: offset})
	t.changed()
	return t.base + uint64(len(t.pending)-1)
}

func (t *fileTrack) ack(seq uint64, safe bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := seq - t.base
	if i >= uint64(len(t.pending)) {
		return
	}
	t.pending[i].done, t.pending[i].safe = true, safe
	t.changed()
	n := 0
	for n < len(t.pending) && t.pending[n].done && t.pending[n].safe {
		if t.pending[n].offset > t.acked {
			t.acked = t.pending[n].offset
		}
		n++
	}
	if n > 0 {
		t.pending = append(t.pending[:0], t.pending[n:]...)
		t.base += uint64(n)
	}
	if len(t.pending) == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// drained is closed once no batch with the file's lines is in flight.
func (t *fileTrack) drained() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) == 0 {
		return closedChan
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	return t.idle
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *fileTrack) pathNow() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.path
}

func (t *fileTrack) setPath(p string) {
	t.mu.Lock()
	t.path = p
	t.changed()
	t.mu.Unlock()
}

func (t *fileTrack) fpNow() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fp
}

func (t *fileTrack) setFP(fp []byte) {
	t.mu.Lock()
	t.fp = fp
	t.changed()
	t.mu.Unlock()
}

// snapshot is a consistent view for checkpoints and the sources API.
func (t *fileTrack) snapshot() fileSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fileSnapshot{
		Source: t.source, Path: t.path, ID: t.id, FP: append([]byte(nil), t.fp...),
		Acked: t.acked, Read: t.read.Load(), Size: t.size.Load(), InFlight: len(t.pending), Closed: t.closed,
	}
}

type fileSnapshot struct {
	Source   string
	Path     string
	ID       record.FileID
	FP       []byte
	Acked    int64
	Read     int64
	Size     int64
	InFlight int
	Closed   bool
}

// checkpoints lists the source's files' safe offsets.
func (st *sourceStatus) checkpoints() []checkpointEntry {
	st.mu.Lock()
	tracks, awaiting := st.tracks, st.awaiting
	st.mu.Unlock()
	return append(checkpointEntries(tracks), awaiting...)
}

// checkpointEntries are the files' low-water marks as checkpoint entries:
// the offset below which every record is safe everywhere.
func checkpointEntries(tracks []*fileTrack) []checkpointEntry {
	out := make([]checkpointEntry, 0, len(tracks))
	for _, t := range tracks {
		s := t.snapshot()
		if s.Closed && s.InFlight == 0 && s.Acked >= s.Read {
			continue // let go and fully delivered: nothing to resume
		}
		out = append(out, checkpointEntry{Source: s.Source, Path: s.Path, Dev: s.ID.Dev, Ino: s.ID.Ino, FP: s.FP, Offset: s.Acked})
	}
	return out
}
