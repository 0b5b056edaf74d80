package collector

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// Identity: which file is which. A file is its device and inode plus a
// fingerprint of its first bytes, so a reused inode or a copy
// (copytruncate) is told apart from the file a checkpoint names, and a copy
// being written is held until it can be judged.

// fingerprintSize is how many of a file's first bytes identify its content,
// next to device and inode (as the OpenTelemetry file consumer does).
const fingerprintSize = 1024

// minCopyFingerprint is the shortest prefix trusted to say that a file with a
// new inode is a copy of one already read: shorter prefixes are too likely to
// be shared by unrelated files, and a wrong match would skip lines.
const minCopyFingerprint = 64

type devIno struct{ dev, ino uint64 }

// pendingFile is a new file held open, not read yet: it may be a copy still
// being written, or a copytruncate copy whose original is not truncated yet.
// Holding it open keeps its lines even if it is deleted meanwhile.
type pendingFile struct {
	f     *os.File
	key   devIno
	path  string
	since time.Time
	seen  bool
}

// contentMark remembers a file's first bytes and how far it was read, after
// the file was truncated, so a copy of it can continue where reading stopped.
type contentMark struct {
	dev    uint64
	fp     []byte
	offset int64
	at     time.Time
	// track is the truncated file's delivery state, which its copy takes
	// over: what was read but is not acknowledged yet stays owed by the copy
	// (a crash re-reads it from there), and the checkpoint keeps the mark
	// while no copy has claimed it, so a restart can still match a copy.
	// nil for marks made from checkpoint entries, whose offsets are safe.
	track *fileTrack
}

// maxMarks bounds the truncated contents remembered for copies not seen yet.
const maxMarks = 16

func keyOf(st fs.FileInfo) devIno {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return devIno{uint64(sys.Dev), sys.Ino}
	}
	return devIno{}
}

func readPrefix(f *os.File) []byte {
	buf := make([]byte, fingerprintSize)
	n, _ := f.ReadAt(buf, 0)
	if n < len(buf) { // kept per file: no unused capacity
		return bytes.Clone(buf[:n])
	}
	return buf
}

// judge decides where a pending file starts, unless it must wait: while it
// may still become a copy of a file already read. vanished forces the
// decision (the file left the globs while pending) and drains it.
func (s *fileSource) judge(pf *pendingFile, now time.Time, vanished bool) {
	st, err := pf.f.Stat()
	if err != nil {
		delete(s.pending, pf.key)
		pf.f.Close()
		s.sourceError("stat", pf.path, err)
		return
	}
	key, size, fp := pf.key, st.Size(), readPrefix(pf.f)
	forced := vanished || now.Sub(pf.since) >= s.cfg.RotateWait
	if !forced && s.mayBeCopyInProgress(key, size, fp) {
		s.judgeSoon = true
		return
	}
	delete(s.pending, key)
	offset, how, prev := s.startOffset(key, size, fp)
	if how == "copy" {
		s.deps.metrics.rotations.WithLabelValues(s.cfg.Name, "copy").Inc()
	}
	s.deps.logger.Debug("file opened", "source", s.cfg.Name, "path", pf.path, "offset", offset, "start", how, "ino", key.ino, "size", size, "vanished", vanished)
	var tf *tailedFile
	if prev != nil {
		tf = s.continueTrack(pf.f, key, pf.path, prev, offset, now)
	} else {
		if offset == 0 {
			fp = nil // grows from the bytes read, never from a prefix that may still be half-written
		}
		tf = s.startFile(pf.f, key, pf.path, fp, offset, now)
	}
	if vanished {
		tf.rotated, tf.idleSince = true, now
	}
}

func (s *fileSource) startFile(f *os.File, key devIno, path string, fp []byte, offset int64, now time.Time) *tailedFile {
	s.gen++
	h := fnv.New64a()
	h.Write(fp)
	fmt.Fprint(h, s.gen)
	track := &fileTrack{
		source: s.cfg.Name, id: record.FileID{Dev: key.dev, Ino: key.ino, Fingerprint: h.Sum64()},
		path: path, fp: fp, acked: offset, changes: &s.deps.status.changes,
	}
	return s.attach(f, key, path, track, offset, now)
}

// continueTrack reads a copytruncate copy as the continuation of the
// truncated file it copies: same delivery state, same offsets. What was
// read from the original but is not acknowledged yet is owed by the copy
// now, so the checkpoint never claims it before it is delivered.
func (s *fileSource) continueTrack(f *os.File, key devIno, path string, t *fileTrack, offset int64, now time.Time) *tailedFile {
	for i, r := range s.retired {
		if r == t {
			s.retired = append(s.retired[:i], s.retired[i+1:]...)
			break
		}
	}
	t.setClosed(false)
	t.setPath(path)
	return s.attach(f, key, path, t, offset, now)
}

func (s *fileSource) attach(f *os.File, key devIno, path string, track *fileTrack, offset int64, now time.Time) *tailedFile {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		s.sourceError("seek", path, err)
	}
	track.read.Store(offset)
	stream := s.parsing.NewStream(s.meta(path))
	stream.ReuseBlocks(s.deps.blocks)
	tf := &tailedFile{f: f, key: key, path: path, due: true, track: track, fp: track.fpNow(), fr: newFramer(offset, s.cfg.MaxLineBytes), stream: stream, accounted: offset, idleSince: now}
	if st, err := f.Stat(); err == nil {
		tf.lastSize, tf.lastMod = st.Size(), st.ModTime()
	}
	s.track(tf)
	s.deps.metrics.filesWatched.WithLabelValues(s.cfg.Name).Set(float64(len(s.files)))
	return tf
}

// startOffset decides where a judged file starts and, for a copy of a file
// truncated in this run, whose delivery state it continues.
func (s *fileSource) startOffset(key devIno, size int64, fp []byte) (int64, string, *fileTrack) {
	// The same inode may have several entries: the live file and contents
	// truncated away from it that a copy may still continue. Its own is the
	// longest fingerprint its first bytes still start with.
	if es := s.awaiting[key]; len(es) > 0 { // opened later than the first scan (max_open_files)
		delete(s.awaiting, key)
		s.tracksSet = true
		best := -1
		for i, e := range es {
			if bytes.HasPrefix(fp, e.FP) && e.Offset <= size && (best < 0 || len(e.FP) > len(es[best].FP)) {
				best = i
			}
		}
		for i, e := range es { // the others are contents truncated away: a copy may continue them, for a while
			if i != best {
				s.remember(contentMark{dev: e.Dev, fp: e.FP, offset: e.Offset, at: s.deps.clock.Now()})
			}
		}
		if best >= 0 {
			return es[best].Offset, "checkpoint", nil
		}
		s.deps.metrics.rotations.WithLabelValues(s.cfg.Name, "truncate").Inc()
		return 0, "truncated or replaced while stopped", nil
	}
	best, sameInode := -1, false
	for i, e := range s.restored {
		if e.Dev != key.dev || e.Ino != key.ino {
			continue
		}
		sameInode = true
		if bytes.HasPrefix(fp, e.FP) && e.Offset <= size && (best < 0 || len(e.FP) > len(s.restored[best].FP)) {
			best = i
		}
	}
	if best >= 0 {
		e := s.restored[best]
		s.restored = append(s.restored[:best], s.restored[best+1:]...)
		return e.Offset, "checkpoint", nil
	}
	if sameInode {
		// Truncated (or the inode reused) while stopped: what the entries
		// described may live on in a copy, which continues from them.
		s.deps.metrics.rotations.WithLabelValues(s.cfg.Name, "truncate").Inc()
		return 0, "truncated or replaced while stopped", nil
	}
	if off, prev, ok := s.copyOf(key, size, fp); ok {
		return off, "copy", prev
	}
	if at, ok := s.startAt[key]; ok { // found by the very first scan with start_at: end
		delete(s.startAt, key)
		return min(at, size), "end", nil
	}
	return 0, "beginning", nil
}

// mayBeCopyInProgress tells whether a new file may still turn out to be a
// copy of content already read: its bytes so far are a proper prefix of a
// known file's first bytes (inotify shows a copy before its bytes are
// written), it starts like truncated content but is shorter than what was
// read of it (still being written), or it already matches a file that is
// still being read and not truncated yet (copytruncate truncates right after
// the copy; continuing from the truncation point reads every line exactly
// once).
func (s *fileSource) mayBeCopyInProgress(key devIno, size int64, fp []byte) bool {
	partOf := func(dev uint64, known []byte, offset int64) bool {
		if dev != key.dev || len(known) < minCopyFingerprint {
			return false
		}
		if len(fp) < len(known) {
			return bytes.HasPrefix(known, fp)
		}
		return bytes.HasPrefix(fp, known) && size < offset
	}
	found := false
	s.candidates(fp, func(tf *tailedFile) bool {
		found = partOf(tf.key.dev, tf.fp, 0) || tf.key.dev == key.dev && !tf.rotated && bytes.HasPrefix(fp, tf.fp)
		return !found
	})
	if found {
		return true
	}
	for _, c := range s.recent {
		if partOf(c.dev, c.fp, c.offset) {
			return true
		}
	}
	for _, e := range s.restored {
		if partOf(e.Dev, e.FP, e.Offset) {
			return true
		}
	}
	return false
}

// copyOf finds content already read that this file starts with: a
// copytruncate copy, or a file moved while we were stopped. It continues
// where reading that content stopped, so nothing is read twice; a copy
// shorter than that holds nothing unread and continues at its end. For
// content truncated in this run it returns the truncated file's track.
func (s *fileSource) copyOf(key devIno, size int64, fp []byte) (int64, *fileTrack, bool) {
	match := func(dev uint64, old []byte) bool {
		return dev == key.dev && len(old) >= minCopyFingerprint && bytes.HasPrefix(fp, old)
	}
	var from *tailedFile
	s.candidates(fp, func(tf *tailedFile) bool {
		if match(tf.key.dev, tf.fp) {
			from = tf
		}
		return from == nil
	})
	if from != nil {
		return min(from.fr.last, size), nil, true
	}
	for i := len(s.recent) - 1; i >= 0; i-- {
		if c := s.recent[i]; match(c.dev, c.fp) {
			s.recent = append(s.recent[:i], s.recent[i+1:]...)
			return min(c.offset, size), c.track, true
		}
	}
	for i, e := range s.restored {
		if match(e.Dev, e.FP) {
			s.restored = append(s.restored[:i], s.restored[i+1:]...)
			return min(e.Offset, size), nil, true
		}
	}
	return 0, nil, false
}

// remember keeps truncated content for a copy of it to continue; the
// oldest is forgotten beyond maxMarks.
func (s *fileSource) remember(c contentMark) {
	s.recent = append(s.recent, c)
	if len(s.recent) > maxMarks {
		s.forget(s.recent[0])
		s.recent = s.recent[1:]
	}
}

// expireMarks forgets truncated content no copy can claim any more: a copy
// exists before its original is truncated, so by the time a mark is
// rotate_wait old every candidate was judged (pending ones wait at most that).
func (s *fileSource) expireMarks(now time.Time) {
	kept := s.recent[:0]
	for _, c := range s.recent {
		if now.Sub(c.at) > s.cfg.RotateWait {
			s.forget(c)
			continue
		}
		kept = append(kept, c)
	}
	clear(s.recent[len(kept):])
	s.recent = kept
}

// forget lets the checkpoint drop a mark's track once it is delivered.
func (s *fileSource) forget(c contentMark) {
	if c.track != nil {
		c.track.setClosed(true)
	}
}
