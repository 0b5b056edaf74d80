package collector

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
)

// waker tells a file source when to look again. Sources also poll on their
// poll_interval, so a missed or unavailable notification only adds latency.
type waker interface {
	C() <-chan struct{}
	// TakeRescan reports (and clears) whether files were created, renamed or
	// removed since the last call, so globs need matching again.
	TakeRescan() bool
	// TakeWritten hands over (and clears) the paths written since the last
	// call. precise is false when the waker cannot tell (no notifications,
	// a directory not watched, an event lost): then every file must be
	// looked at, and sweeps run every poll_interval.
	TakeWritten() (paths map[string]struct{}, precise bool)
	Watch(dir string)
	// TakeOpened hands over files opened the moment they were created, so a
	// file rotated away or deleted before the source looks keeps its lines.
	TakeOpened() []earlyFile
	Close() error
}

// earlyFile is a file the waker opened on its creation event.
type earlyFile struct {
	path string
	f    *os.File
}

// fsWaker turns fsnotify events on watched directories into wake-ups. When
// inotify is unavailable or its watches are exhausted it logs once and the
// source keeps working by polling alone.
type fsWaker struct {
	w       *fsnotify.Watcher
	c       chan struct{}
	rescan  atomic.Bool
	logger  *slog.Logger
	mu      sync.Mutex
	watched map[string]bool
	// unwatched are directories that could not be watched (yet): files
	// in them are found and read by polling only.
	unwatched map[string]bool
	warned    bool
	match     func(path string) bool // whether a created file belongs to the source
	opened    []earlyFile
	written   map[string]struct{}
	// lost: since the last TakeWritten an event may have been missed (the
	// kernel queue overflowed, too many paths, a directory not watched).
	lost bool
}

// maxWritten bounds the written paths kept between two passes; beyond it
// the pass looks at every file, as when polling.
const maxWritten = 4096

func newFSWaker(logger *slog.Logger, match func(string) bool) *fsWaker {
	fw := &fsWaker{c: make(chan struct{}, 1), logger: logger, watched: map[string]bool{}, unwatched: map[string]bool{}, match: match, written: map[string]struct{}{}}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		logger.Warn("file notifications unavailable, polling only", "err", err)
		return fw
	}
	fw.w = w
	go fw.loop()
	return fw
}

func (fw *fsWaker) loop() {
	for {
		select {
		case ev, ok := <-fw.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) && fw.match(ev.Name) {
				// Opened here, not when the source next scans: the source may be
				// blocked on a full pipeline while the file is rotated away.
				if f, err := os.Open(ev.Name); err == nil {
					fw.mu.Lock()
					if len(fw.opened) < maxEarlyOpen {
						fw.opened = append(fw.opened, earlyFile{ev.Name, f})
					} else {
						f.Close() // bounded: beyond this the source's scan finds it
					}
					fw.mu.Unlock()
				}
			}
			fw.mu.Lock()
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) {
				fw.rescan.Store(true)
				delete(fw.watched, ev.Name) // a removed directory loses its watch; watch it again if it returns
			}
			if ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create) || ev.Has(fsnotify.Chmod) {
				if len(fw.written) < maxWritten {
					fw.written[ev.Name] = struct{}{}
				} else {
					fw.lost = true
					fw.rescan.Store(true) // which files changed is not known: sweep
				}
			}
			fw.mu.Unlock()
			select {
			case fw.c <- struct{}{}:
			default:
			}
		case err, ok := <-fw.w.Errors:
			if !ok {
				return
			}
			fw.logger.Warn("file notification error; polling covers it", "err", err)
			fw.rescan.Store(true)
			fw.mu.Lock()
			fw.lost = true
			fw.mu.Unlock()
		}
	}
}

// maxEarlyOpen bounds the descriptors held for a source that is not taking them.
const maxEarlyOpen = 256

func (fw *fsWaker) TakeOpened() []earlyFile {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	out := fw.opened
	fw.opened = nil
	return out
}

func (fw *fsWaker) TakeWritten() (map[string]struct{}, bool) {
	if fw.w == nil {
		return nil, false
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	precise := !fw.lost && len(fw.unwatched) == 0
	fw.lost = false
	if len(fw.written) == 0 {
		return nil, precise
	}
	out := fw.written
	fw.written = make(map[string]struct{}, len(out))
	return out, precise
}

func (fw *fsWaker) C() <-chan struct{} { return fw.c }
func (fw *fsWaker) TakeRescan() bool   { return fw.rescan.Swap(false) }

func (fw *fsWaker) Watch(dir string) {
	if fw.w == nil {
		return
	}
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.watched[dir] {
		return
	}
	if err := fw.w.Add(dir); err != nil {
		if !fw.warned { // a missing directory is normal before the app starts; say it once
			fw.logger.Info("cannot watch directory yet, polling it", "dir", dir, "err", err)
			fw.warned = true
		}
		fw.unwatched[dir] = true
		return
	}
	fw.watched[dir] = true
	if fw.unwatched[dir] {
		delete(fw.unwatched, dir)
		fw.lost = true // writes before the watch were not seen
	}
}

func (fw *fsWaker) Close() error {
	if fw.w == nil {
		return nil
	}
	err := fw.w.Close()
	for _, ef := range fw.TakeOpened() {
		ef.f.Close()
	}
	return err
}
