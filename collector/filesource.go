package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// fingerprintSize is how many of a file's first bytes identify its content,
// next to device and inode (as the OpenTelemetry file consumer does).
const fingerprintSize = 1024

// minCopyFingerprint is the shortest prefix trusted to say that a file with a
// new inode is a copy of one already read: shorter prefixes are too likely to
// be shared by unrelated files, and a wrong match would skip lines.
const minCopyFingerprint = 64

// perFileReadBudget bounds how much one file is read in one pass, so many
// busy files share the source fairly and batches keep flowing.
const perFileReadBudget = 4 << 20

type devIno struct{ dev, ino uint64 }

// fileSource tails the files matching a source's globs: new files are found
// by rescanning, every open file is read to its end on each pass, rotated and
// deleted files are drained before they are let go, and the offsets of what
// every exporter has acknowledged are what the checkpoint keeps.
type fileSource struct {
	cfg    SourceConfig
	deps   sourceDeps
	meta   func(path string) parsers.Meta
	globs  func() []string        // include patterns (the pod source computes its own)
	accept func(path string) bool // a further filter on matches (the pod source's containers)

	waker      waker
	firstStart bool // no checkpoint existed: start_at applies to files found by the first scan
	scanned    bool
	nextScan   time.Time

	files      map[devIno]*tailedFile
	retired    []*fileTrack            // closed files whose last marks are still in flight
	restored   []checkpointEntry       // this source's checkpoint entries not yet matched to a file
	recent     []contentMark           // contents that were truncated away, for copytruncate copies
	scratch    []byte                  // for comparing a file's first bytes with its fingerprint
	pending    map[devIno]*pendingFile // new files held open until they can be judged (copies being made)
	rescanSoon bool
	moreToRead bool          // a pass stopped at a file's read budget: read on without waiting
	touched    []*tailedFile // files with lines in the batch being built
	batcher
	gen uint64
}

// tailedFile is one open file being read.
type tailedFile struct {
	f         *os.File
	key       devIno
	track     *fileTrack
	fr        *framer
	stream    *parsers.Stream
	accounted int64 // offset below which every line's records were handed to a batch
	inBatch   bool
	rotated   bool // no longer found under any matching path: drain, then close
	idleSince time.Time
	lastSize  int64
	lastMod   time.Time
}

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

func newFileSource(cfg SourceConfig, deps sourceDeps, restored []checkpointEntry, firstStart bool) *fileSource {
	s := &fileSource{
		cfg: cfg, deps: deps, restored: restored, firstStart: firstStart,
		files: map[devIno]*tailedFile{}, pending: map[devIno]*pendingFile{},
	}
	s.batcher = newBatcher(cfg, deps, s.liveStreams, s.markFiles)
	s.globs = func() []string { return cfg.Include }
	s.meta = func(path string) parsers.Meta {
		return parsers.Meta{Source: cfg.Name, Path: path, Kubernetes: deps.kubernetes}
	}
	return s
}

func (s *fileSource) name() string { return s.cfg.Name }

// run tails until ctx ends, then reads what is left, flushes held records and
// hands over the last batch.
func (s *fileSource) run(ctx context.Context) error {
	if s.waker == nil {
		s.waker = newFSWaker(s.deps.logger, s.matchesPath)
	}
	defer s.waker.Close()
	s.drainOrphans(s.deps.clock.Now())
	for {
		s.pass(s.deps.clock.Now())
		if ctx.Err() != nil {
			break
		}
		if s.moreToRead { // a file stopped at its read budget: no event will come for a backlog
			s.moreToRead = false
			continue
		}
		wait := s.cfg.PollInterval
		if s.rescanSoon {
			wait = 10 * time.Millisecond // a deferred file is being written: look again shortly
		}
		if d, ok := s.nextDeadline(); ok {
			wait = min(wait, max(d.Sub(s.deps.clock.Now()), time.Millisecond))
		}
		t := s.deps.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.waker.C():
		case <-t.C():
		}
		t.Stop()
	}
	s.finish(s.deps.clock.Now())
	return nil
}

// nextDeadline is the earliest time something must happen without input: a
// held multiline record timing out, or a rotated file's wait ending.
func (s *fileSource) nextDeadline() (time.Time, bool) {
	var first time.Time
	for _, tf := range s.files {
		if d, ok := tf.stream.Deadline(); ok && (first.IsZero() || d.Before(first)) {
			first = d
		}
		if tf.rotated {
			if d := tf.idleSince.Add(s.cfg.RotateWait); first.IsZero() || d.Before(first) {
				first = d
			}
		}
	}
	return first, !first.IsZero()
}

// pass is one step of the tailer: rescan when due, read every file, flush
// what timed out, let go of drained rotated files, hand over the batch.
// Tests drive it directly with their own clock.
func (s *fileSource) pass(now time.Time) {
	if !s.scanned || !now.Before(s.nextScan) || s.waker.TakeRescan() || s.rescanSoon {
		s.rescanSoon = false
		s.scan(now)
		s.scanned = true
		s.nextScan = now.Add(s.cfg.PollInterval)
	}
	for _, tf := range s.openFiles() {
		s.readFile(tf, now)
	}
	for _, tf := range s.files {
		s.add(tf, tf.stream.Flush(now))
		if tf.rotated && !now.Before(tf.idleSince.Add(s.cfg.RotateWait)) {
			s.closeFile(tf, now)
		}
	}
	s.send()
	s.publish()
}

// openFiles lists the open files, for loops that may replace entries of
// s.files (a truncation found while reading starts a new state).
func (s *fileSource) openFiles() []*tailedFile {
	out := make([]*tailedFile, 0, len(s.files))
	for _, tf := range s.files {
		out = append(out, tf)
	}
	return out
}

// finish is the last pass at shutdown: everything readable is read and every
// held record flushed, so a pod's last lines are delivered. A last scan takes
// the files the waker opened and judges the pending ones: a file that is no
// longer under a matching name (deleted, renamed away) is read now, since a
// restart would not find it. Copies still being written stay pending; the
// checkpoint keeps the truncated contents they continue, so the restart
// judges them.
func (s *fileSource) finish(now time.Time) {
	s.scan(now)
	for _, tf := range s.openFiles() {
		s.readFile(tf, now)
	}
	for _, tf := range s.files {
		s.add(tf, tf.stream.FlushAll(now))
	}
	for _, tf := range s.files {
		if tf.rotated { // drained just now and gone from the globs: nothing to resume
			s.closeFile(tf, now)
		}
	}
	s.send()
	for _, tf := range s.files {
		tf.f.Close()
	}
	for _, pf := range s.pending { // never read: a restart judges them again
		pf.f.Close()
	}
	s.deps.metrics.filesWatched.WithLabelValues(s.cfg.Name).Set(0)
	s.publish()
}

// scan matches the globs, opens new files and notices files that are no
// longer under any matching path (renamed away or deleted).
func (s *fileSource) scan(now time.Time) {
	// Truncations first: a copytruncate copy found below must be able to
	// match the content that was just truncated away.
	for _, tf := range s.openFiles() {
		s.checkTruncation(tf, now)
	}
	for _, ef := range s.waker.TakeOpened() {
		s.adoptEarly(ef, now)
	}
	seen := map[devIno]bool{}
	for _, path := range s.matches() {
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		key := keyOf(st)
		if seen[key] {
			continue // the same file under a second matching name (symlink, hard link)
		}
		seen[key] = true
		if tf := s.files[key]; tf != nil {
			if tf.track.pathNow() != path {
				tf.track.setPath(path)
			}
			if tf.rotated { // back under a matching name, e.g. renamed to app.log.1 with an app.log* glob
				tf.rotated = false
			}
			continue
		}
		if pf := s.pending[key]; pf != nil {
			pf.path, pf.seen = path, true
			continue
		}
		s.open(path, now)
	}
	for key, pf := range s.pending {
		s.judge(pf, now, !pf.seen) // one no longer under a matching name must be read now
		pf.seen = false
		seen[key] = seen[key] || s.files[key] != nil && !s.files[key].rotated
	}
	s.expireMarks(now)
	for key, tf := range s.files {
		if seen[key] || tf.rotated {
			continue
		}
		tf.rotated, tf.idleSince = true, now
		kind := "rename"
		if st, err := tf.f.Stat(); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink == 0 {
				kind = "delete"
			}
		}
		s.deps.metrics.rotations.WithLabelValues(s.cfg.Name, kind).Inc()
	}
	s.firstStart = false // start_at applies to the first scan only
	s.watchDirs()
}

// adoptEarly takes a file the waker opened on creation as pending, unless it
// is already known; whether it is still under a matching name is judged by
// the scan that follows.
func (s *fileSource) adoptEarly(ef earlyFile, now time.Time) {
	st, err := ef.f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		ef.f.Close()
		return
	}
	key := keyOf(st)
	if s.files[key] != nil || s.pending[key] != nil {
		ef.f.Close()
		return
	}
	s.pending[key] = &pendingFile{f: ef.f, key: key, path: ef.path, since: now}
}

// matchesPath tells whether a path belongs to this source: it matches an
// include glob and no exclude. The waker asks it from its own goroutine, so
// it reads only the immutable config.
func (s *fileSource) matchesPath(path string) bool {
	ok := false
	for _, g := range s.globs() {
		if m, _ := filepath.Match(g, path); m {
			ok = true
			break
		}
	}
	if !ok || s.accept != nil && !s.accept(path) {
		return false
	}
	for _, ex := range s.cfg.Exclude {
		if m, _ := filepath.Match(ex, path); m {
			return false
		}
		if m, _ := filepath.Match(ex, filepath.Base(path)); m {
			return false
		}
	}
	return true
}

func (s *fileSource) matches() []string {
	var out []string
	for _, g := range s.globs() {
		m, err := filepath.Glob(g)
		if err != nil {
			continue // validated at config time
		}
		for _, path := range m {
			if s.matchesPath(path) {
				out = append(out, path)
			}
		}
	}
	return out
}

// watchDirs asks the waker to watch the directories that can hold matches:
// each glob's fixed directory prefix and the directory of each open file.
func (s *fileSource) watchDirs() {
	for _, g := range s.globs() {
		s.waker.Watch(staticDir(g))
	}
	for _, tf := range s.files {
		s.waker.Watch(filepath.Dir(tf.track.pathNow()))
	}
}

// staticDir is the longest directory prefix of a glob without wildcards.
func staticDir(glob string) string {
	dir := filepath.Dir(glob)
	for strings.ContainsAny(dir, "*?[\\") {
		dir = filepath.Dir(dir)
	}
	return dir
}

func keyOf(st fs.FileInfo) devIno {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return devIno{uint64(sys.Dev), sys.Ino}
	}
	return devIno{}
}

func readPrefix(f *os.File) []byte {
	buf := make([]byte, fingerprintSize)
	n, _ := f.ReadAt(buf, 0)
	return buf[:n]
}

// open starts tailing a newly matched file, deciding where to start: at its
// checkpoint, where an identical file stopped (a copy), at its end on the very
// first start with start_at: end, or else at its beginning.
func (s *fileSource) open(path string, now time.Time) {
	f, err := os.Open(path)
	if err != nil {
		s.sourceError("open", path, err)
		return
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		s.sourceError("stat", path, err)
		return
	}
	pf := &pendingFile{f: f, key: keyOf(st), path: path, since: now, seen: true}
	s.pending[pf.key] = pf
	s.judge(pf, now, false)
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
		s.rescanSoon = true
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
		path: path, fp: fp, acked: offset,
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
	t.mu.Lock()
	t.closed, t.path = false, path
	t.mu.Unlock()
	return s.attach(f, key, path, t, offset, now)
}

func (s *fileSource) attach(f *os.File, key devIno, path string, track *fileTrack, offset int64, now time.Time) *tailedFile {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		s.sourceError("seek", path, err)
	}
	track.read.Store(offset)
	stream, err := parsers.NewStream(s.cfg.Config, s.meta(path))
	if err != nil { // the config was validated; this is a bug, not input
		panic(fmt.Sprintf("parsers.NewStream with a validated config: %v", err))
	}
	tf := &tailedFile{f: f, key: key, track: track, fr: newFramer(offset, s.cfg.MaxLineBytes), stream: stream, accounted: offset, idleSince: now}
	if st, err := f.Stat(); err == nil {
		tf.lastSize, tf.lastMod = st.Size(), st.ModTime()
	}
	s.files[key] = tf
	s.deps.metrics.filesWatched.WithLabelValues(s.cfg.Name).Set(float64(len(s.files)))
	s.publish() // at once: a pass blocked on a full pipeline must not hide the file from checkpoints
	return tf
}

// startOffset decides where a judged file starts and, for a copy of a file
// truncated in this run, whose delivery state it continues.
func (s *fileSource) startOffset(key devIno, size int64, fp []byte) (int64, string, *fileTrack) {
	// The same inode may have several entries: the live file and contents
	// truncated away from it that a copy may still continue. Its own is the
	// longest fingerprint its first bytes still start with.
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
	if s.firstStart && s.cfg.StartAt == "end" {
		return size, "end", nil
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
	for _, tf := range s.files {
		known := tf.track.fpNow()
		if partOf(tf.key.dev, known, 0) {
			return true
		}
		if tf.key.dev == key.dev && !tf.rotated && len(known) >= minCopyFingerprint && bytes.HasPrefix(fp, known) {
			return true
		}
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
	for _, tf := range s.files {
		if match(tf.key.dev, tf.track.fpNow()) {
			return min(tf.fr.last, size), nil, true
		}
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
		c.track.mu.Lock()
		c.track.closed = true
		c.track.mu.Unlock()
	}
}

// checkTruncation notices copytruncate: the file is shorter than what was
// read, or its first bytes changed (truncated and rewritten past the old
// offset between two looks). Reading restarts at 0 under a new identity.
func (s *fileSource) checkTruncation(tf *tailedFile, now time.Time) {
	st, err := tf.f.Stat()
	if err != nil {
		return
	}
	size, mod := st.Size(), st.ModTime()
	tf.track.size.Store(size)
	changed := size != tf.lastSize || !mod.Equal(tf.lastMod)
	tf.lastSize, tf.lastMod = size, mod
	if size < tf.fr.pos || changed && s.rewritten(tf) {
		s.truncated(tf, now)
	}
}

// rewritten tells whether the file no longer starts with the bytes read
// from it: it was truncated and written again.
func (s *fileSource) rewritten(tf *tailedFile) bool {
	fp := tf.track.fpNow()
	if len(fp) == 0 {
		return false
	}
	if s.scratch == nil {
		s.scratch = make([]byte, fingerprintSize)
	}
	n, _ := tf.f.ReadAt(s.scratch[:len(fp)], 0)
	return !bytes.Equal(s.scratch[:n], fp)
}

// truncated retires the file's state and starts reading it again from 0 on
// the same descriptor. Reading stopped at the last complete line: a copy of
// the content continues there (the partial line after it included), under
// the same track, which the checkpoint keeps meanwhile.
func (s *fileSource) truncated(tf *tailedFile, now time.Time) *tailedFile {
	read := tf.fr.last
	s.deps.metrics.rotations.WithLabelValues(s.cfg.Name, "truncate").Inc()
	s.deps.logger.Info("file truncated, reading it again from the start", "source", s.cfg.Name, "path", tf.track.pathNow(), "was_read_to", read, "size", tf.lastSize)
	s.add(tf, tf.stream.FlushAll(now))
	s.release(tf.stream)
	tf.track.read.Store(read)
	fp := tf.track.fpNow()
	claimable := len(fp) >= minCopyFingerprint
	s.retire(tf, !claimable)
	if claimable {
		s.remember(contentMark{dev: tf.key.dev, fp: fp, offset: read, at: now, track: tf.track})
	}
	delete(s.files, tf.key)
	s.rescanSoon = true                                               // its copy is judged at once, while the mark is fresh
	return s.startFile(tf.f, tf.key, tf.track.pathNow(), nil, 0, now) // the fingerprint grows from what is read
}

// readFile reads the file from where it stopped to its current end (within
// the per-pass budget) and feeds every complete line to its stream. After
// each read it checks that the file still starts with the bytes read from
// it: a file truncated and regrown past the offset since the last scan (or
// while the pass was blocked on a full pipeline) would otherwise hand over
// the middle of its new content as the rest of the old.
func (s *fileSource) readFile(tf *tailedFile, now time.Time) {
	start := tf.fr.pos
	defer func() {
		if tf.fr.pos-start >= perFileReadBudget {
			s.moreToRead = true
		}
	}()
	for tf.fr.pos-start < perFileReadBudget {
		for {
			line, end, truncated, ok := tf.fr.next()
			if !ok {
				break
			}
			s.feed(tf, line, end, truncated, now)
		}
		n, err := tf.fr.fill(tf.f)
		if n > 0 && s.rewritten(tf) {
			tf.fr.unfill(n)
			s.noteRead(tf, start, now)
			s.readFile(s.truncated(tf, now), now)
			return
		}
		s.growFingerprint(tf, n)
		if n == 0 || err != nil {
			if err != nil && !errors.Is(err, io.EOF) {
				s.sourceError("read", tf.track.pathNow(), err)
			}
			break
		}
	}
	s.noteRead(tf, start, now)
}

func (s *fileSource) noteRead(tf *tailedFile, start int64, now time.Time) {
	if n := tf.fr.pos - start; n > 0 {
		s.deps.metrics.bytesRead.WithLabelValues(s.cfg.Name).Add(float64(n))
		tf.track.read.Store(tf.fr.pos)
		tf.track.size.Store(max(tf.track.size.Load(), tf.fr.pos))
		tf.idleSince = now
	}
}

// growFingerprint extends the file's fingerprint with its first bytes as
// they are read, so it describes what was read: a copy of this file can be
// recognised even if it was made between two scans, and a truncation
// followed by new content is seen even past the old offset.
func (s *fileSource) growFingerprint(tf *tailedFile, n int) {
	fp := tf.track.fpNow()
	end := tf.fr.pos
	if n == 0 || len(fp) >= fingerprintSize || int64(len(fp)) >= end {
		return
	}
	if int64(len(fp)) < end-int64(n) { // started past a prefix taken when the file was shorter
		tf.track.setFP(readPrefix(tf.f))
		return
	}
	take := int(min(end, fingerprintSize)) - len(fp)
	start := tf.fr.end - int(end-int64(len(fp)))
	tf.track.setFP(append(append(make([]byte, 0, len(fp)+take), fp...), tf.fr.buf[start:start+take]...))
}

func (s *fileSource) feed(tf *tailedFile, line []byte, end int64, truncated bool, now time.Time) {
	recs := tf.stream.Feed(line, record.Position{File: tf.track.id, Offset: end}, truncated, now)
	s.take(tf, end, recs)
}

// add hands records flushed out of a stream (timeouts, EOF) to the batch.
func (s *fileSource) add(tf *tailedFile, recs []record.Record) {
	if len(recs) == 0 {
		return
	}
	s.take(tf, tf.fr.last, recs)
}

// take puts a file's records in the batch and accounts the file up to read,
// or up to where the record its stream still holds begins.
func (s *fileSource) take(tf *tailedFile, read int64, recs []record.Record) {
	tf.accounted = read
	if r, held := tf.stream.Resume(); held {
		tf.accounted = r.Offset
	}
	if !tf.inBatch {
		tf.inBatch = true
		s.touched = append(s.touched, tf)
	}
	s.batcher.add(recs)
}

// markFiles seals a batch: each file with lines in it gets a mark at the
// offset below which all its lines are in this batch or earlier ones.
func (s *fileSource) markFiles(b *batch) bool {
	for _, tf := range s.touched {
		b.marks = append(b.marks, markRef{file: tf.track, seq: tf.track.push(tf.accounted)})
		tf.inBatch = false
	}
	marked := len(s.touched) > 0
	s.touched = s.touched[:0]
	return marked
}

// liveStreams are the open files' streams.
func (s *fileSource) liveStreams() iter.Seq[*parsers.Stream] {
	return func(yield func(*parsers.Stream) bool) {
		for _, tf := range s.files {
			if !yield(tf.stream) {
				return
			}
		}
	}
}

// closeFile lets go of a rotated or deleted file once it has been drained
// and stayed idle for rotate_wait; its unterminated last line is complete
// now, since nobody will write to it under this name again.
func (s *fileSource) closeFile(tf *tailedFile, now time.Time) {
	s.readFile(tf, now)
	tf = s.files[tf.key] // a new state if reading found the file truncated
	if line, end, truncated, ok := tf.fr.rest(); ok {
		s.feed(tf, line, end, truncated, now)
	}
	s.add(tf, tf.stream.FlushAll(now))
	tf.accounted = tf.fr.pos
	if !tf.inBatch {
		tf.inBatch = true
		s.touched = append(s.touched, tf)
	}
	s.release(tf.stream)
	s.retire(tf, true)
	delete(s.files, tf.key)
	tf.f.Close()
	s.deps.metrics.filesWatched.WithLabelValues(s.cfg.Name).Set(float64(len(s.files)))
	s.deps.logger.Debug("file released", "source", s.cfg.Name, "path", tf.track.pathNow(), "offset", tf.fr.pos)
}

// retire lets go of a file's state; closed says nothing can resume it any
// more (otherwise a copy may still claim it: see contentMark.track).
func (s *fileSource) retire(tf *tailedFile, closed bool) {
	tf.track.mu.Lock()
	tf.track.closed = closed
	tf.track.mu.Unlock()
	s.retired = append(s.retired, tf.track)
}

// publish updates what the sources API and the checkpoint writer see. Closed
// files are dropped once everything read from them is acknowledged.
func (s *fileSource) publish() {
	kept := s.retired[:0]
	for _, t := range s.retired {
		if snap := t.snapshot(); !snap.Closed || snap.InFlight > 0 || snap.Acked < snap.Read {
			kept = append(kept, t)
		}
	}
	s.retired = kept
	tracks := make([]*fileTrack, 0, len(s.files)+len(s.retired))
	for _, tf := range s.files {
		tracks = append(tracks, tf.track)
	}
	tracks = append(tracks, s.retired...)
	st := s.deps.status
	st.mu.Lock()
	st.tracks = tracks
	st.lastPass = s.deps.clock.Now()
	st.mu.Unlock()
}

// drainOrphans handles files that were rotated while obsadapter was stopped:
// a checkpointed file no longer under a matching name is looked for by
// identity in the directories the globs cover, and read from its checkpoint
// to its end before it is let go.
func (s *fileSource) drainOrphans(now time.Time) {
	if len(s.restored) == 0 {
		return
	}
	s.scan(now)
	dirs := map[string]bool{}
	for _, g := range s.globs() {
		if m, _ := filepath.Glob(filepath.Dir(g)); len(m) > 0 {
			for _, d := range m {
				dirs[d] = true
			}
		}
	}
	for _, e := range s.restored {
		dirs[filepath.Dir(e.Path)] = true
	}
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, de := range entries {
			if !de.Type().IsRegular() || len(s.restored) == 0 {
				continue
			}
			info, err := de.Info()
			if err != nil {
				continue
			}
			key := keyOf(info)
			if s.files[key] != nil || s.pending[key] != nil {
				continue
			}
			for i, e := range s.restored {
				if e.Dev != key.dev || e.Ino != key.ino {
					continue
				}
				path := filepath.Join(dir, de.Name())
				f, err := os.Open(path)
				if err != nil {
					s.sourceError("open", path, err)
					break
				}
				fp := readPrefix(f)
				if !bytes.HasPrefix(fp, e.FP) || e.Offset > info.Size() {
					f.Close()
					continue // another entry of the same inode may be this content
				}
				s.restored = append(s.restored[:i], s.restored[i+1:]...)
				tf := s.startFile(f, key, path, fp, e.Offset, now)
				tf.rotated = true
				s.deps.logger.Info("draining a file rotated while stopped", "source", s.cfg.Name, "path", path, "was", e.Path, "offset", e.Offset)
				break
			}
		}
	}
	// What is left was truncated or deleted while stopped. Its copy, if one
	// is still being written, can continue it for another rotate_wait.
	for _, e := range s.restored {
		s.deps.logger.Info("checkpointed content not found; its unread end is lost unless a copy of it appears", "source", s.cfg.Name, "path", e.Path, "offset", e.Offset)
		s.remember(contentMark{dev: e.Dev, fp: e.FP, offset: e.Offset, at: now})
	}
	s.restored = nil
}

func (s *fileSource) sourceError(op, path string, err error) {
	s.deps.metrics.sourceErrors.WithLabelValues(s.cfg.Name).Inc()
	s.deps.logger.Warn("source error", "source", s.cfg.Name, "op", op, "path", path, "err", err)
}
