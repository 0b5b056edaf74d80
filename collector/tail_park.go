package collector

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Descriptors: a source holds at most max_open_files open. Beyond that the
// files idle longest are parked: closed, keeping their offset, stream and
// identity, and reopened by path when a written event or a sweep shows
// them changed; the reopened file must be the same device and inode, and
// the truncation check that follows compares its first bytes with the
// fingerprint. Rotated files are never parked, so they are drained.

var errLostWhileParked = errors.New("rotated away or deleted while closed for max_open_files: its unread end is lost")

// fdReserve are descriptors left to the rest of the process (listeners,
// connections, the spool, the inotify instance).
const fdReserve = 64

// openFileLimit is max_open_files, lowered to fit the process's descriptor
// limit (Go raises the soft limit to the hard one at start).
func openFileLimit(want int, logger *slog.Logger, source string) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > uint64(want+fdReserve) {
		return want
	}
	limit := max(int(rl.Cur)-fdReserve, 16)
	logger.Info("max_open_files lowered to fit the descriptor limit", "source", source, "max_open_files", want, "using", limit, "rlimit_nofile", rl.Cur)
	return limit
}

// track registers a file under its path for written events, and under its
// target's path when the path is a symlink (as /var/log/containers/*.log
// are): written events name the directory the write happened in.
func (s *fileSource) track(tf *tailedFile) {
	s.files[tf.key] = tf
	s.tracksSet = true
	s.indexPath(tf)
	s.fps.add(tf)
}

func (s *fileSource) indexPath(tf *tailedFile) {
	tf.target = ""
	if fi, err := os.Lstat(tf.path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(tf.path); err == nil {
			tf.target = target
			s.byPath[target] = tf
		}
	}
	s.byPath[tf.path] = tf
}

// untrack forgets a file that is let go or replaced by a new state.
func (s *fileSource) untrack(tf *tailedFile) {
	if s.files[tf.key] == tf {
		delete(s.files, tf.key)
		s.fps.remove(tf)
	}
	s.unindexPath(tf)
}

func (s *fileSource) unindexPath(tf *tailedFile) {
	for _, p := range []string{tf.path, tf.target} {
		if s.byPath[p] == tf {
			delete(s.byPath, p)
		}
	}
}

// moveTo notes that a file is now found under path (renamed within the
// globs, or found first under a second name).
func (s *fileSource) moveTo(tf *tailedFile, path string) {
	s.unindexPath(tf)
	tf.path = path
	s.indexPath(tf)
	tf.track.setPath(path)
}

// openCount is how many descriptors the source holds.
func (s *fileSource) openCount() int {
	n := len(s.pending)
	for _, tf := range s.files {
		if tf.f != nil {
			n++
		}
	}
	return n
}

// parkable: open, read to its end and not rotated (rotated files are
// drained through their descriptor).
func parkable(tf *tailedFile) bool {
	return tf.f != nil && !tf.rotated && !tf.due && !tf.unread
}

// parkFile closes a parkable file, keeping its state.
func (s *fileSource) parkFile(tf *tailedFile) {
	tf.f.Close()
	tf.f = nil
	tf.compacted = false // compacted while open, it may now let go of its stream
	s.compact(tf)
}

// park closes up to n of the files idle longest and returns how many it
// closed.
func (s *fileSource) park(n int) int {
	if n <= 0 {
		return 0
	}
	var idle []*tailedFile
	for _, tf := range s.files {
		if parkable(tf) {
			idle = append(idle, tf)
		}
	}
	slices.SortFunc(idle, func(a, b *tailedFile) int { return a.idleSince.Compare(b.idleSince) })
	idle = idle[:min(n, len(idle))]
	for _, tf := range idle {
		s.parkFile(tf)
	}
	return len(idle)
}

// reopen opens a parked file again where reading stopped. A path that
// names another file now means the parked one was rotated away or deleted
// while closed: the sweep that follows treats it as gone.
func (s *fileSource) reopen(tf *tailedFile) bool {
	f, err := os.Open(tf.path)
	if err != nil {
		s.rescanSoon = true
		return false
	}
	st, err := f.Stat()
	if err != nil || keyOf(st) != tf.key {
		f.Close()
		s.rescanSoon = true
		return false
	}
	if _, err := f.Seek(tf.fr.pos, io.SeekStart); err != nil {
		f.Close()
		s.sourceError("seek", tf.path, err)
		return false
	}
	tf.f = f
	if tf.stream == nil {
		tf.stream = s.parsing.NewStream(s.meta(tf.path))
		tf.stream.ReuseBlocks(s.deps.blocks)
	}
	return true
}

// lostWhileParked handles parked files no longer under any matching path.
// Those that may hold unread lines (written since they were parked, or
// when writes are not reported) are looked for by identity where rotation
// puts files (their directory, or their symlink target's), each directory
// listed once, and drained from there as any rotated file; deleted, what
// was written after they were parked is lost and reported. The others are
// let go, remembering their content so that one coming back under a
// matching name continues where it was.
func (s *fileSource) lostWhileParked(files []*tailedFile, now time.Time) {
	if len(files) == 0 {
		return
	}
	wanted := map[devIno]*tailedFile{}
	dirs := map[string]bool{}
	for _, tf := range files {
		if tf.due || tf.lastSize > tf.fr.pos || !s.precise {
			wanted[tf.key] = tf
			dirs[filepath.Dir(tf.path)] = true
			if tf.target != "" {
				dirs[filepath.Dir(tf.target)] = true
			}
		}
	}
	for dir := range dirs {
		entries, _ := os.ReadDir(dir)
		for _, de := range entries {
			info, err := de.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			if tf := wanted[keyOf(info)]; tf != nil && s.reopenRotated(tf, filepath.Join(dir, de.Name()), now) {
				delete(wanted, tf.key)
			}
		}
	}
	for _, tf := range files {
		if s.files[tf.key] != tf || tf.f != nil {
			continue // found and reopened
		}
		if wanted[tf.key] != nil && (tf.due || tf.lastSize > tf.fr.pos) {
			s.sourceError("drain", tf.path, errLostWhileParked)
		} else if len(tf.fp) >= minCopyFingerprint {
			s.remember(contentMark{dev: tf.key.dev, fp: tf.fp, offset: tf.fr.last, at: now})
		}
		s.closeFile(tf, now)
	}
}

// reopenRotated reopens a parked file under the name it was rotated to and
// marks it rotated, so it is drained before it is let go.
func (s *fileSource) reopenRotated(tf *tailedFile, path string, now time.Time) bool {
	old := tf.path
	s.moveTo(tf, path)
	if !s.reopen(tf) {
		s.moveTo(tf, old)
		return false
	}
	tf.rotated, tf.idleSince, tf.due = true, now, true
	s.deps.metrics.rotations.WithLabelValues(s.cfg.Name, "rename").Inc()
	return true
}

// compact lets an idle file's buffers go: its framer's read buffer and its
// stream's scratch. A parked file whose stream holds nothing (no record,
// no partial line) lets go of the stream too, so it costs only its
// identity and offsets; reopening makes a new one, which detects the
// format (and learns a header layout) again from the next lines.
func (s *fileSource) compact(tf *tailedFile) {
	if tf.compacted || tf.stream == nil {
		return
	}
	tf.fr.release()
	if _, held := tf.stream.Resume(); tf.f == nil && !held && tf.fr.buf == nil {
		s.release(tf.stream)
		tf.stream, tf.uncounted, tf.compacted = nil, false, true
		return
	}
	tf.stream.Compact()
	_, held := tf.stream.Resume() // a held record keeps its blocks: compact again once it is out
	tf.compacted = !held
}
