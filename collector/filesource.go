package collector

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
)

// The file tailer, in pieces a reader can name:
//   filesource.go     the core: the source's state, its run loop, a pass, the
//                     last pass at shutdown;
//   tail_discover.go  which files: globs, excludes, watched directories,
//                     opening what appears;
//   tail_identity.go  which file is which: device, inode and fingerprint,
//                     checkpoints resumed, copies (copytruncate) recognised;
//   tail_rotate.go    files that change under us: truncation, rotation,
//                     letting a drained file go;
//   tail_park.go      max_open_files: parking idle files, reopening them;
//   tail_fpindex.go   finding copy candidates by a fingerprint's first bytes;
//   tail_read.go      reading lines and handing records to the batcher;
//   batcher.go        batches and their checkpoint marks (every source type);
//   delivery.go       what happens to the marks once exporters answer.

// fileSource tails the files matching a source's globs: new files are found
// by rescanning, the files written are read to their end on each pass,
// rotated and deleted files are drained before they are let go, and the
// offsets of what every exporter has acknowledged are what the checkpoint
// keeps.
type fileSource struct {
	cfg     SourceConfig
	deps    sourceDeps
	parsing *parsers.Compiled // the parsing options, compiled once for every file's stream
	meta    func(path string) parsers.Meta
	globs   func() []string        // include patterns (the pod source computes its own)
	accept  func(path string) bool // a further filter on matches (the pod source's containers)

	waker      waker
	firstStart bool // no checkpoint existed: start_at applies to files found by the first scan
	// startAt are the sizes the first scan found files at, under start_at:
	// end, for those it opens later (max_open_files).
	startAt  map[devIno]int64
	scanned  bool
	nextScan time.Time

	files     map[devIno]*tailedFile
	byPath    map[string]*tailedFile // the files by the matching path they are under, for written events
	fps       fpIndex                // the files by their first bytes, for copy detection
	maxOpen   int                    // max_open_files, within the process's descriptor limit
	tracksSet bool                   // files came or went since the last publish
	retired   []*fileTrack           // closed files whose last marks are still in flight
	restored  []checkpointEntry      // this source's checkpoint entries not yet matched to a file
	// awaiting are checkpoint entries of files still under matching names
	// that a scan has not opened yet (beyond max_open_files at start).
	awaiting   map[devIno][]checkpointEntry
	recent     []contentMark           // contents that were truncated away, for copytruncate copies
	scratch    []byte                  // for comparing a file's first bytes with its fingerprint
	pending    map[devIno]*pendingFile // new files held open until they can be judged (copies being made)
	rescanSoon bool
	judgeSoon  bool          // a pending file may be a copy being written: judge it again shortly, without a sweep
	precise    bool          // the waker reported every write since the last pass
	moreToRead bool          // a pass stopped at a file's read budget: read on without waiting
	touched    []*tailedFile // files with lines in the batch being built

	// A source that must find files (the pod source) reports when it has
	// found none for emptyAfter; 0 for file sources, whose logs may come
	// later.
	emptyAfter  time.Duration
	emptyHint   string
	since       time.Time
	emptyWarned bool
	batcher
	gen uint64
}

// tailedFile is one file being read. f is nil while the file is parked:
// closed to stay within max_open_files, reopened when it changes.
type tailedFile struct {
	f         *os.File
	key       devIno
	path      string // where the source last found it (track.path is the API's copy)
	target    string // what path links to, when it is a symlink
	fp        []byte // track.fp, read here without its lock
	due       bool   // changed since it was last read: read it in this pass
	unread    bool   // a pass stopped at its read budget
	compacted bool   // idle: its stream and framer hold no buffers
	uncounted bool   // its stream's counters moved since the batcher last counted them
	track     *fileTrack
	fr        *framer
	stream    *parsers.Stream // nil while parked with nothing held: made again on reopen
	accounted int64           // offset below which every line's records were handed to a batch
	inBatch   bool
	rotated   bool // no longer found under any matching path: drain, then close
	idleSince time.Time
	lastSize  int64
	lastMod   time.Time
}

func newFileSource(cfg SourceConfig, deps sourceDeps, restored []checkpointEntry, firstStart bool) *fileSource {
	s := &fileSource{
		cfg: cfg, deps: deps, restored: restored, firstStart: firstStart,
		files: map[devIno]*tailedFile{}, pending: map[devIno]*pendingFile{}, byPath: map[string]*tailedFile{}, fps: newFPIndex(),
		awaiting: map[devIno][]checkpointEntry{},
		maxOpen:  openFileLimit(cfg.MaxOpenFiles, deps.logger, cfg.Name),
	}
	parsing, err := parsers.Compile(cfg.Config)
	if err != nil { // the config was validated; this is a bug, not input
		panic(fmt.Sprintf("parsers.Compile with a validated config: %v", err))
	}
	s.parsing = parsing
	s.batcher = newBatcher(cfg, deps, s.liveStreams(), s.markFiles)
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
		wait := max(s.nextScan.Sub(s.deps.clock.Now()), time.Millisecond)
		if s.rescanSoon || s.judgeSoon {
			wait = 10 * time.Millisecond // a deferred file is being written: look again shortly
		}
		if d, ok := s.nextDeadline(); ok {
			wait = min(wait, max(d.Sub(s.deps.clock.Now()), time.Millisecond))
		}
		if d, ok := s.flushDeadline(s.deps.clock.Now()); ok {
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
		if tf.stream == nil {
			continue // parked and let go of its stream: nothing held
		}
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
//
// Which files are read: with precise notifications, the files written
// since the last pass, those a sweep found changed, rotated ones (written
// through descriptors under names no longer watched) and those with a
// backlog; otherwise every open file, as polling must. Idle files cost no
// system call between sweeps.
func (s *fileSource) pass(now time.Time) {
	written, precise := s.waker.TakeWritten()
	s.precise = precise
	if !precise && s.nextScan.After(now.Add(s.cfg.PollInterval)) {
		s.nextScan = now // notifications just became unreliable: sweep now, then every poll_interval
	}
	// Before the sweep: a parked file written and then rotated away must be
	// known as written when the sweep misses it.
	for path := range written {
		if tf := s.byPath[path]; tf != nil {
			tf.due = true
		}
	}
	if !s.scanned || !now.Before(s.nextScan) || s.waker.TakeRescan() || s.rescanSoon {
		s.rescanSoon, s.judgeSoon = false, false
		s.scan(now)
		s.scanned = true
		s.nextScan = now.Add(s.sweepEvery(precise))
	} else if s.judgeSoon {
		s.judgeSoon = false
		for _, pf := range s.pending {
			s.judge(pf, now, false)
		}
		s.publish()
	}
	open := s.openCount()
	for _, tf := range s.openFiles() {
		if !tf.due && !tf.unread && !tf.rotated && (precise || tf.f == nil) {
			continue
		}
		reopened := tf.f == nil
		if reopened {
			if !s.reopen(tf) {
				continue
			}
			open++
		}
		tf.due, tf.unread = false, false
		s.checkTruncation(tf, now)
		tf = s.files[tf.key] // a new state if it was truncated
		s.readFile(tf, now)
		// Many parked files changing at once are read one after another,
		// each closed again at once, without a sort per file.
		if reopened && open > s.maxOpen && parkable(tf) {
			s.parkFile(tf)
			open--
		}
	}
	for _, tf := range s.files {
		if tf.stream == nil {
			continue
		}
		s.add(tf, tf.stream.Flush(now))
		if tf.rotated && !now.Before(tf.idleSince.Add(s.cfg.RotateWait)) {
			s.closeFile(tf, now)
		} else if !tf.compacted && now.Sub(tf.idleSince) >= s.cfg.PollInterval {
			s.compact(tf)
		}
	}
	open = s.openCount()
	open -= s.park(open - s.maxOpen)
	s.deps.metrics.filesOpen.WithLabelValues(s.cfg.Name).Set(float64(open))
	s.flushChain(now, false)
	s.send()
	s.publish()
}

// sweepEvery is how often globs are matched and every file stat'ed: the
// poll interval when that is how changes are found, thirty times it as a
// safety net when notifications report every write. A sweep of 1,000
// files costs about 5 ms; every 10 s that was most of the idle cost of a
// pod's worth of files (0.06 CPU-s a minute against 0.04 now).
func (s *fileSource) sweepEvery(precise bool) time.Duration {
	if precise {
		return 30 * s.cfg.PollInterval
	}
	return s.cfg.PollInterval
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
		reopened := tf.f == nil
		if reopened && (!tf.due || !s.reopen(tf)) {
			continue // parked and unchanged: nothing to read
		}
		s.checkTruncation(tf, now)
		tf = s.files[tf.key]
		s.readFile(tf, now)
		if reopened && parkable(tf) {
			s.parkFile(tf) // read: no need to hold it until the end
		}
	}
	for _, tf := range s.files {
		if tf.stream != nil {
			s.add(tf, tf.stream.FlushAll(now))
		}
	}
	for _, tf := range s.files {
		if tf.rotated { // drained just now and gone from the globs: nothing to resume
			s.closeFile(tf, now)
		}
	}
	s.flushChain(now, true)
	s.send()
	for _, tf := range s.files {
		if tf.f != nil {
			tf.f.Close()
		}
	}
	for _, pf := range s.pending { // never read: a restart judges them again
		pf.f.Close()
	}
	s.deps.metrics.filesWatched.WithLabelValues(s.cfg.Name).Set(0)
	s.publish()
}

// publish updates what the sources API and the checkpoint writer see. Closed
// files are dropped once everything read from them is acknowledged.
func (s *fileSource) publish() {
	before := len(s.retired)
	kept := s.retired[:0]
	for _, t := range s.retired {
		if snap := t.snapshot(); !snap.Closed || snap.InFlight > 0 || snap.Acked < snap.Read {
			kept = append(kept, t)
		}
	}
	s.retired = kept
	if !s.tracksSet && len(kept) == before { // the same tracks: publishing 10,000 again each pass is waste
		st := s.deps.status
		st.mu.Lock()
		st.lastPass = s.deps.clock.Now()
		st.mu.Unlock()
		return
	}
	s.tracksSet = false
	tracks := make([]*fileTrack, 0, len(s.files)+len(s.retired))
	for _, tf := range s.files {
		tracks = append(tracks, tf.track)
	}
	tracks = append(tracks, s.retired...)
	var awaiting []checkpointEntry
	for _, es := range s.awaiting {
		awaiting = append(awaiting, es...)
	}
	st := s.deps.status
	st.mu.Lock()
	st.tracks = tracks
	st.awaiting = awaiting
	st.changes.Add(1)
	st.lastPass = s.deps.clock.Now()
	st.mu.Unlock()
}

func (s *fileSource) sourceError(op, path string, err error) {
	s.deps.metrics.sourceErrors.WithLabelValues(s.cfg.Name).Inc()
	s.deps.logger.Warn("source error", "source", s.cfg.Name, "op", op, "path", path, "err", err)
}
