package collector

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Discovery: which files the source reads. A scan matches the include
// globs (less the excludes), watches their directories for wake-ups, and
// opens what is new; identity (tail_identity.go) decides where to read it
// from.

// scan matches the globs, opens new files and notices files that are no
// longer under any matching path (renamed away or deleted).
func (s *fileSource) scan(now time.Time) {
	// A sweep stats every matching file: syscall.Stat into one Stat_t costs
	// no allocation per file, which with 10,000 files is most of it.
	type found struct {
		path string
		key  devIno
		size int64
		mod  time.Time
	}
	var matched []found
	var st syscall.Stat_t
	for _, path := range s.matches() {
		if err := syscall.Stat(path, &st); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
			matched = append(matched, found{path, devIno{uint64(st.Dev), st.Ino}, st.Size, time.Unix(st.Mtim.Unix())})
		}
	}
	// Truncations first: a copytruncate copy found below must be able to
	// match the content that was just truncated away. A file whose size and
	// time did not change costs nothing more.
	for _, m := range matched {
		tf := s.files[m.key]
		if tf == nil || m.size == tf.lastSize && m.mod.Equal(tf.lastMod) {
			continue
		}
		tf.due = true
		if tf.f != nil { // a parked one is reopened, checked and read by the pass, within max_open_files
			s.checkTruncation(tf, now)
		}
	}
	for _, tf := range s.openFiles() {
		if tf.rotated && tf.f != nil {
			s.checkTruncation(tf, now)
		}
	}
	for _, ef := range s.waker.TakeOpened() {
		s.adoptEarly(ef, now)
	}
	if s.firstStart && s.cfg.StartAt == "end" {
		s.startAt = map[devIno]int64{}
		for _, m := range matched {
			s.startAt[m.key] = m.size
		}
	}
	seen := map[devIno]bool{}
	var fresh []string
	for _, m := range matched {
		path, key := m.path, m.key
		if seen[key] {
			continue // the same file under a second matching name (symlink, hard link)
		}
		seen[key] = true
		if tf := s.files[key]; tf != nil {
			if tf.path != path {
				s.moveTo(tf, path)
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
		fresh = append(fresh, path)
	}
	// Within max_open_files: idle files are parked to make room; what still
	// does not fit is opened by a later scan, once the files just opened
	// are read.
	room := s.maxOpen - s.openCount()
	room += s.park(len(fresh) - room)
	deferred := len(fresh) > room
	for _, path := range fresh[:min(len(fresh), max(room, 0))] {
		s.open(path, now)
	}
	if deferred {
		s.rescanSoon = true
	}
	for key, pf := range s.pending {
		s.judge(pf, now, !pf.seen) // one no longer under a matching name must be read now
		pf.seen = false
		seen[key] = seen[key] || s.files[key] != nil && !s.files[key].rotated
	}
	s.expireMarks(now)
	var vanished []*tailedFile // parked files no longer under a matching name
	for key, tf := range s.files {
		if seen[key] || tf.rotated {
			continue
		}
		if tf.f == nil {
			vanished = append(vanished, tf)
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
	s.lostWhileParked(vanished, now)
	s.firstStart = false // start_at applies to the first scan only
	s.watchDirs()
	if s.emptyAfter > 0 {
		s.checkEmpty(now)
	}
	s.publish() // before reading: a pass blocked on a full pipeline must not hide new files from checkpoints
}

// checkEmpty says so, once, in the log, the sources API and readiness, when a
// source that must find files (the pod source) has found none for
// emptyAfter; it takes the problem back when files appear.
func (s *fileSource) checkEmpty(now time.Time) {
	if s.since.IsZero() {
		s.since = now
	}
	if len(s.files) > 0 || len(s.pending) > 0 {
		if s.emptyWarned {
			s.deps.status.setProblem("")
			s.emptyWarned = false
		}
		return
	}
	if s.emptyWarned || now.Sub(s.since) < s.emptyAfter {
		return
	}
	s.emptyWarned = true
	problem := "no log files found under " + strings.Join(s.globs(), " or ") + " for " + s.emptyAfter.String() + s.emptyHint
	s.deps.logger.Warn("source reads nothing", "source", s.cfg.Name, "problem", problem)
	s.deps.status.setProblem(problem)
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
// each glob's fixed directory prefix, every directory its directory part
// matches now (a container's directory that appears after the pod started
// is watched as soon as a sweep or its create event finds it), and the
// directory of each file.
func (s *fileSource) watchDirs() {
	for _, g := range s.globs() {
		s.waker.Watch(staticDir(g))
		if dir := filepath.Dir(g); dir != staticDir(g) {
			dirs, _ := filepath.Glob(dir)
			for _, d := range dirs {
				s.waker.Watch(d)
			}
		}
	}
	for _, tf := range s.files {
		s.waker.Watch(filepath.Dir(tf.path))
		if tf.target != "" {
			s.waker.Watch(filepath.Dir(tf.target))
		}
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
