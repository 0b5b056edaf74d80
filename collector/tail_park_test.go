package collector

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// preciseWaker reports written paths as inotify does, so a pass reads only
// those (and what a sweep finds changed).
type preciseWaker struct {
	manualWaker
	written map[string]struct{}
}

func (w *preciseWaker) TakeWritten() (map[string]struct{}, bool) {
	out := w.written
	w.written = nil
	return out, true
}

func (w *preciseWaker) wrote(path string) {
	if w.written == nil {
		w.written = map[string]struct{}{}
	}
	w.written[path] = struct{}{}
}

// passFlushed runs a pass, then one past the multiline timeout (without a
// sweep) so held records come out.
func (h *tailHarness) passFlushed() []string {
	h.src.pass(h.clk.Now())
	h.clk.Advance(h.cfg.MultilineTimeout)
	h.src.pass(h.clk.Now())
	return h.collect()
}

func manyFiles(t *testing.T, dir string, n int) []string {
	t.Helper()
	var paths []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.log", i))
		appendLines(t, p, fmt.Sprintf("f%02d 1", i))
		paths = append(paths, p)
	}
	return paths
}

// parkedHarness tails n one-line files with max_open_files maxOpen (0: the
// default) and waker w (nil: none), stepped until every file is read and
// the idle ones beyond the limit are parked.
func parkedHarness(t *testing.T, n, maxOpen int, w waker) (*tailHarness, []string) {
	t.Helper()
	dir := t.TempDir()
	paths := manyFiles(t, dir, n)
	h := newTailHarness(t, dir, func(c *SourceConfig) {
		if maxOpen > 0 {
			c.MaxOpenFiles = maxOpen
		}
	})
	if w != nil {
		h.src.waker = w
	}
	for range 4 {
		h.step()
	}
	return h, paths
}

func sorted(s []string) []string { slices.Sort(s); return s }

func (h *tailHarness) checkOpen(limit int) {
	h.t.Helper()
	if n := h.src.openCount(); n > limit {
		h.t.Fatalf("%d files open, max_open_files is %d", n, limit)
	}
	if got := testutil.ToFloat64(h.metrics.filesOpen.WithLabelValues("app")); int(got) != h.src.openCount() {
		h.t.Errorf("obsadapter_files_open = %v, want %d", got, h.src.openCount())
	}
}

// More files than max_open_files: every line is read once, descriptors stay
// within the limit, and parked files are reopened when they change.
func TestTailMaxOpenFiles(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 10)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 3 })
	var got []string
	for range 6 {
		got = append(got, h.step()...)
		h.checkOpen(3)
	}
	want := make([]string, 0, 10)
	for i := range 10 {
		want = append(want, fmt.Sprintf("f%02d 1", i))
	}
	expectLines(t, sorted(got), want)
	if len(h.src.files) != 10 {
		t.Fatalf("%d files tailed, want 10", len(h.src.files))
	}
	for _, tf := range h.src.files {
		if tf.f == nil && (tf.stream != nil || tf.fr.buf != nil) {
			t.Fatalf("parked idle file %s still holds its stream or read buffer", tf.path)
		}
	}

	for _, i := range []int{0, 5, 9} {
		appendLines(t, paths[i], fmt.Sprintf("f%02d 2", i))
	}
	expectLines(t, sorted(h.step()), []string{"f00 2", "f05 2", "f09 2"})
	h.checkOpen(3)
	expectLines(t, h.stop(), nil)
}

// A parked file renamed to another matching name continues where it was; a
// parked file replaced under its name (rename-and-create while closed) lets
// the new file be read from its beginning.
func TestTailParkedFileRotation(t *testing.T) {
	h, paths := parkedHarness(t, 4, 1, nil)
	if h.src.byPath[paths[0]].f != nil {
		t.Fatal("f00 should be parked")
	}
	// Renamed within the globs while parked, then written: same file.
	moved := filepath.Join(h.dir, "moved.log")
	if err := os.Rename(paths[0], moved); err != nil {
		t.Fatal(err)
	}
	appendLines(t, moved, "f00 2")
	// Renamed away (not matched) and recreated: the new file from its start.
	if err := os.Rename(paths[1], filepath.Join(h.dir, "f01.old")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, paths[1], "new f01 1")
	var got []string
	for range 3 {
		got = append(got, h.step()...)
		h.checkOpen(1)
	}
	expectLines(t, sorted(got), []string{"f00 2", "new f01 1"})
}

// Restarting with checkpoints of more files than max_open_files: the files
// a first scan cannot open keep their entries (also in checkpoints written
// meanwhile) and resume from them: nothing is read twice.
func TestTailMaxOpenFilesRestart(t *testing.T) {
	h, paths := parkedHarness(t, 6, 2, nil)
	h.stop()
	ckpt := h.checkpoint()
	if len(ckpt) != 6 {
		t.Fatalf("%d checkpoint entries, want 6", len(ckpt))
	}
	for i, p := range paths {
		appendLines(t, p, fmt.Sprintf("f%02d 2", i))
	}
	h.start(ckpt, false)
	if n := len(h.checkpoint()); n != 6 {
		t.Fatalf("right after start the checkpoint has %d entries, want 6 (files not opened yet keep theirs)", n)
	}
	var got []string
	for range 5 {
		got = append(got, h.step()...)
		h.checkOpen(2)
	}
	expectLines(t, sorted(got), []string{"f00 2", "f01 2", "f02 2", "f03 2", "f04 2", "f05 2"})
}

// With precise notifications a pass reads only the files written; a file
// whose write was not reported is found by the next sweep.
func TestTailReadsOnlyWrittenFiles(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 3)
	h := newTailHarness(t, dir, nil)
	w := &preciseWaker{}
	h.src.waker = w
	expectLines(t, sorted(h.step()), []string{"f00 1", "f01 1", "f02 1"})

	appendLines(t, paths[0], "f00 2")
	appendLines(t, paths[2], "f02 2") // not reported
	w.wrote(paths[0])
	expectLines(t, h.passFlushed(), []string{"f00 2"})

	h.clk.Advance(h.src.sweepEvery(true))
	expectLines(t, h.passFlushed(), []string{"f02 2"})
}

// The real waker reports a write to a file in a watched directory by path.
func TestFSWakerReportsWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendLines(t, path, "one")
	fw := newFSWaker(slog.New(slog.DiscardHandler), func(string) bool { return true })
	defer fw.Close()
	if fw.w == nil {
		t.Skip("inotify is not available here")
	}
	fw.Watch(dir)
	if _, precise := fw.TakeWritten(); !precise {
		t.Fatal("a watched directory should give precise notifications")
	}
	appendLines(t, path, "two")
	waitUntil(t, "the write event", func() bool {
		written, precise := fw.TakeWritten()
		if !precise {
			t.Fatal("notifications became imprecise")
		}
		_, ok := written[path]
		return ok
	})
	fw.Watch(filepath.Join(dir, "missing"))
	if _, precise := fw.TakeWritten(); precise {
		t.Fatal("a directory that cannot be watched must make the waker imprecise (polling)")
	}
}

// More parked files than max_open_files change between two sweeps: they
// are reopened and read one by one, never more than the limit open.
func TestTailManyParkedFilesChangeAtOnce(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 20)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 3 })
	for range 10 {
		h.step()
		h.checkOpen(3)
	}
	for i, p := range paths {
		appendLines(t, p, fmt.Sprintf("f%02d 2", i))
	}
	h.src.scan(h.clk.Now()) // the sweep at the start of the next pass
	if n := h.src.openCount(); n > 3 {
		t.Fatalf("after the sweep %d descriptors are open, max_open_files is 3", n)
	}
	var got []string
	for range 2 {
		got = append(got, h.step()...)
		h.checkOpen(3)
	}
	if len(got) != 20 {
		t.Fatalf("read %d of the 20 lines appended", len(got))
	}
}

// A parked file written and then renamed away (logrotate create, or kubelet
// rotation seen through /var/log/containers) before the next pass is found
// by identity in its directory and drained, as an open file would be.
func TestTailParkedFileWrittenThenRotated(t *testing.T) {
	h, paths := parkedHarness(t, 3, 1, nil)
	if h.src.byPath[paths[0]].f != nil {
		t.Fatal("f00 should be parked")
	}
	appendLines(t, paths[0], "f00 last words")
	if err := os.Rename(paths[0], paths[0]+".1"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		got = append(got, h.step()...)
	}
	expectLines(t, got, []string{"f00 last words"})
	if n := testutil.ToFloat64(h.metrics.sourceErrors.WithLabelValues("app")); n != 0 {
		t.Errorf("%v source errors: the rotated file was drained, nothing lost", n)
	}
}

// flipWaker turns imprecise on demand, as the real one does when events
// are lost (more than maxWritten paths between passes).
type flipWaker struct {
	preciseWaker
	imprecise bool
}

func (w *flipWaker) TakeWritten() (map[string]struct{}, bool) {
	m, _ := w.preciseWaker.TakeWritten()
	return m, !w.imprecise
}

// After lost events, a written parked file is read within poll_interval,
// not at the next 10 x poll_interval sweep.
func TestTailLostEventsReachParkedFiles(t *testing.T) {
	w := &flipWaker{}
	h, paths := parkedHarness(t, 3, 1, w)
	h.src.pass(h.clk.Now()) // a precise sweep: next one in 10 x poll_interval
	if h.src.byPath[paths[0]].f != nil {
		t.Fatal("f00 should be parked")
	}
	appendLines(t, paths[0], "f00 2") // its event was dropped (written map full)
	w.imprecise = true
	var got []string
	for range 3 { // 3 x poll_interval
		h.clk.Advance(h.cfg.PollInterval)
		got = append(got, h.passFlushed()...)
	}
	expectLines(t, got, []string{"f00 2"})
}

// A file in a directory made after the source started (glob dir/*/*.log,
// as the pod source's container directories) is found at once, not at the
// next 10 x poll_interval sweep: the new directory is watched.
func TestTailNewDirectoryWatched(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	appendLines(t, filepath.Join(dir, "a", "0.log"), "a 1")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "*", "*.log")} })
	fw := newFSWaker(h.src.deps.logger, h.src.matchesPath)
	if fw.w == nil {
		t.Skip("no inotify")
	}
	defer fw.Close()
	h.src.waker = fw
	expectLines(t, h.passFlushed(), []string{"a 1"})
	os.MkdirAll(filepath.Join(dir, "b"), 0o755)
	time.Sleep(100 * time.Millisecond)
	h.passFlushed() // the rescan for the new directory: nothing in it yet
	appendLines(t, filepath.Join(dir, "b", "0.log"), "b 1")
	time.Sleep(100 * time.Millisecond)
	h.clk.Advance(h.cfg.PollInterval)
	if got := h.passFlushed(); len(got) != 1 || got[0] != "b 1" {
		t.Fatalf("within one poll_interval got %q, want the line of the new directory's file", got)
	}
}

// Restart beyond max_open_files: a file renamed within the globs while
// stopped, not opened by the first scan, keeps its checkpoint entry and
// continues from it when opened.
func TestTailRestartRenamedBeyondLimit(t *testing.T) {
	h, paths := parkedHarness(t, 6, 2, nil)
	h.stop()
	ckpt := h.checkpoint()
	if len(ckpt) != 6 {
		t.Fatalf("%d entries", len(ckpt))
	}
	// rotated while stopped: f00.log -> z00.log (still matching *.log), a new f00.log
	if err := os.Rename(paths[0], filepath.Join(h.dir, "z00.log")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(h.dir, "z00.log"), "f00 2")
	appendLines(t, paths[0], "new f00 1")
	h.start(ckpt, false)
	var got []string
	for range 6 {
		got = append(got, h.step()...)
	}
	expectLines(t, sorted(got), []string{"f00 2", "new f00 1"})
}

// A file that leaves the globs for one scan and comes back is not read
// again, parked or open.
func TestTailFileAwayAndBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxOpen int
		parked  bool
	}{{"parked", 1, true}, {"open", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			h, paths := parkedHarness(t, 3, tc.maxOpen, nil)
			if parked := h.src.byPath[paths[0]].f == nil; parked != tc.parked {
				t.Fatalf("f00 parked %v, want %v", parked, tc.parked)
			}
			os.Rename(paths[0], paths[0]+".tmp")
			h.step()
			os.Rename(paths[0]+".tmp", paths[0])
			var got []string
			for range 3 {
				got = append(got, h.step()...)
			}
			expectLines(t, got, nil)
		})
	}
}

// An empty new file may be a copy about to be written: it is judged again
// shortly without sweeping every file each time.
func TestTailEmptyNewFileNeedsNoSweeps(t *testing.T) {
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "big.log"), "0123456789012345678901234567890123456789012345678901234567890123456789")
	h := newTailHarness(t, dir, nil)
	h.step()
	os.WriteFile(filepath.Join(dir, "empty.log"), nil, 0o644)
	h.src.pass(h.clk.Now()) // finds it: pending, it may be a copy being written
	for i := range 100 {
		h.clk.Advance(10 * time.Millisecond)
		h.src.pass(h.clk.Now())
		if h.src.rescanSoon {
			t.Fatalf("pass %d asks for a full sweep while only a pending file waits", i)
		}
	}
}

// A checkpoint entry of a file opened after the first scan that it no
// longer describes (rewritten while stopped) expires: an hour later, a new
// file starting with the same bytes is not taken for a copy of it.
func TestTailUnclaimedEntryExpires(t *testing.T) {
	dir := t.TempDir()
	long := func(i int, s string) string {
		return fmt.Sprintf("%02d %s %s", i, s, string(make([]byte, 0))) + "-----------------------------------------------------------------------"
	}
	var paths []string
	for i := range 6 {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.log", i))
		appendLines(t, p, long(i, "a"))
		paths = append(paths, p)
	}
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 2 })
	for range 4 {
		h.step()
	}
	h.stop()
	ckpt := h.checkpoint()
	// f05 rewritten while stopped (same inode, other content)
	os.WriteFile(paths[5], []byte("rewritten\n"), 0o644)
	h.start(ckpt, false)
	for range 6 {
		h.step()
	}
	h.clk.Advance(time.Hour)
	for range 3 {
		h.step()
	}
	// an hour later a new file happens to start with f05's old first line
	appendLines(t, filepath.Join(dir, "new.log"), long(5, "a"), "second line")
	var got []string
	for range 4 {
		got = append(got, h.step()...)
		h.clk.Advance(h.cfg.RotateWait)
	}
	expectLines(t, got, []string{long(5, "a"), "second line"})
}

// start_at: end applies to the first scan's files only, even while they are
// still being opened in batches (max_open_files): a file created after
// startup is read from its beginning.
func TestTailStartAtEndOnlyForFirstScanFiles(t *testing.T) {
	dir := t.TempDir()
	manyFiles(t, dir, 6)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 2; c.StartAt = "end" })
	h.src.pass(h.clk.Now())
	appendLines(t, filepath.Join(dir, "new.log"), "new 1") // created after start
	var got []string
	for range 5 {
		got = append(got, h.step()...)
	}
	expectLines(t, got, []string{"new 1"})
}

// A parked file written (the event reported) and then deleted before the
// adapter looked: its last lines are lost, and that is counted.
func TestTailParkedFileDeletedAfterWriteReported(t *testing.T) {
	w := &preciseWaker{}
	h, paths := parkedHarness(t, 3, 1, w)
	appendLines(t, paths[0], "f00 last words")
	w.wrote(paths[0])
	if err := os.Remove(paths[0]); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(h.src.sweepEvery(true))
	h.passFlushed()
	if n := testutil.ToFloat64(h.metrics.sourceErrors.WithLabelValues("app")); n != 1 {
		t.Fatalf("%v source errors, want 1 for the lines lost with the deleted parked file", n)
	}
}
