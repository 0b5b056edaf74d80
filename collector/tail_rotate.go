package collector

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Rotation and truncation: a file shorter than what was read, or rewritten
// from its start, is read again from 0; a file renamed or deleted away is
// drained, then let go after rotate_wait; files of a checkpoint that no
// longer exist under their names are drained at start.

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
	fp := tf.fp
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
	fp := tf.fp
	claimable := len(fp) >= minCopyFingerprint
	s.retire(tf, !claimable)
	if claimable {
		s.remember(contentMark{dev: tf.key.dev, fp: fp, offset: read, at: now, track: tf.track})
	}
	s.rescanSoon = true                                   // its copy is judged at once, while the mark is fresh
	nf := s.startFile(tf.f, tf.key, tf.path, nil, 0, now) // the fingerprint grows from what is read
	s.publish()
	return nf
}

// closeFile lets go of a rotated or deleted file once it has been drained
// and stayed idle for rotate_wait; its unterminated last line is complete
// now, since nobody will write to it under this name again. A parked file
// (no descriptor) is let go with what was read.
func (s *fileSource) closeFile(tf *tailedFile, now time.Time) {
	if tf.f != nil {
		s.readFile(tf, now)
		tf = s.files[tf.key] // a new state if reading found the file truncated
	}
	if tf.stream != nil { // a parked file without one held nothing, no partial line either
		if line, end, truncated, ok := tf.fr.rest(); ok {
			s.feed(tf, line, end, truncated, now)
		}
		s.add(tf, tf.stream.FlushAll(now))
		s.release(tf.stream)
	}
	tf.accounted = tf.fr.pos
	if !tf.inBatch {
		tf.inBatch = true
		s.touched = append(s.touched, tf)
	}
	s.retire(tf, true)
	if tf.f != nil {
		tf.f.Close()
	}
	s.deps.metrics.filesWatched.WithLabelValues(s.cfg.Name).Set(float64(len(s.files)))
	s.deps.logger.Debug("file released", "source", s.cfg.Name, "path", tf.track.pathNow(), "offset", tf.fr.pos)
}

// retire lets go of a file's state; closed says nothing can resume it any
// more (otherwise a copy may still claim it: see contentMark.track).
func (s *fileSource) retire(tf *tailedFile, closed bool) {
	tf.track.setClosed(closed)
	s.retired = append(s.retired, tf.track)
	s.tracksSet = true
	s.untrack(tf)
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
	wanted := map[devIno]bool{}
	for _, e := range s.restored {
		dirs[filepath.Dir(e.Path)] = true
		wanted[devIno{e.Dev, e.Ino}] = true
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
			if s.matchesPath(filepath.Join(dir, de.Name())) {
				continue // under a matching name: a scan opens it (later, beyond max_open_files)
			}
			info, err := de.Info()
			if err != nil {
				continue
			}
			key := keyOf(info)
			if !wanted[key] || s.files[key] != nil || s.pending[key] != nil {
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
	// Entries of files still under their matching names that the first scan
	// did not open (max_open_files) wait for a later scan. What is left was
	// truncated or deleted while stopped. Its copy, if one is still being
	// written, can continue it for another rotate_wait.
	live := map[devIno]bool{} // files under a matching name, perhaps not their checkpointed one
	if len(s.restored) > 0 {
		var st syscall.Stat_t
		for _, p := range s.matches() {
			if syscall.Stat(p, &st) == nil {
				live[devIno{uint64(st.Dev), st.Ino}] = true
			}
		}
	}
	for _, e := range s.restored {
		if live[devIno{e.Dev, e.Ino}] {
			s.awaiting[devIno{e.Dev, e.Ino}] = append(s.awaiting[devIno{e.Dev, e.Ino}], e)
			s.tracksSet = true
			continue
		}
		s.deps.logger.Info("checkpointed content not found; its unread end is lost unless a copy of it appears", "source", s.cfg.Name, "path", e.Path, "offset", e.Offset)
		s.remember(contentMark{dev: e.Dev, fp: e.FP, offset: e.Offset, at: now})
	}
	s.restored = nil
	s.publish()
}
