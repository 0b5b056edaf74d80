package collector

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Found by review of max_open_files and precise notifications: each
// failed before its fix.

// R1: more than max_open_files parked files changed between two sweeps: the
// scan reopens all of them (due files cannot be parked) before any is read.
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

// R2: a parked file written and then renamed away (logrotate create, or
// kubelet rotation seen through /var/log/containers) before the next pass
// loses the lines written; an open file would have been drained.
func TestTailParkedFileWrittenThenRotated(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 3)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 1 })
	for range 4 {
		h.step()
	}
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

// imprecise pass (events lost: >maxWritten paths) after a precise sweep:
// parked written files wait for the 10x sweep.
type flipWaker struct {
	preciseWaker
	imprecise bool
}

func (w *flipWaker) TakeWritten() (map[string]struct{}, bool) {
	m, _ := w.preciseWaker.TakeWritten()
	return m, !w.imprecise
}

func TestTailLostEventsReachParkedFiles(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 3)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 1 })
	w := &flipWaker{}
	h.src.waker = w
	for range 4 {
		h.step()
	}
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

// R5: restart beyond max_open_files; a file renamed within the globs while
// stopped and not opened by the first scan loses its checkpoint entry (it is
// not "awaiting" because e.Path names another file now): read again from 0.
func TestTailRestartRenamedBeyondLimit(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 6)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 2 })
	for range 4 {
		h.step()
	}
	h.stop()
	ckpt := h.checkpoint()
	if len(ckpt) != 6 {
		t.Fatalf("%d entries", len(ckpt))
	}
	// rotated while stopped: f00.log -> z00.log (still matching *.log), a new f00.log
	if err := os.Rename(paths[0], filepath.Join(dir, "z00.log")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(dir, "z00.log"), "f00 2")
	appendLines(t, paths[0], "new f00 1")
	h.start(ckpt, false)
	var got []string
	for range 6 {
		got = append(got, h.step()...)
	}
	expectLines(t, sorted(got), []string{"f00 2", "new f00 1"})
}

// R2b: a parked file that leaves the globs for one scan and comes back is
// read again from its start (its state was dropped by lostWhileParked).
func TestTailParkedFileAwayAndBack(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 3)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 1 })
	for range 4 {
		h.step()
	}
	if h.src.byPath[paths[0]].f != nil {
		t.Fatal("f00 should be parked")
	}
	os.Rename(paths[0], paths[0]+".tmp")
	h.step()
	os.Rename(paths[0]+".tmp", paths[0])
	var got []string
	for range 3 {
		got = append(got, h.step()...)
	}
	expectLines(t, got, nil)
}

// control: same with the file open
func TestTailOpenFileAwayAndBack(t *testing.T) {
	dir := t.TempDir()
	paths := manyFiles(t, dir, 3)
	h := newTailHarness(t, dir, nil)
	for range 4 {
		h.step()
	}
	os.Rename(paths[0], paths[0]+".tmp")
	h.step()
	os.Rename(paths[0]+".tmp", paths[0])
	var got []string
	for range 3 {
		got = append(got, h.step()...)
	}
	expectLines(t, got, nil)
}

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

// R6: entries of a deferred file moved from awaiting into s.restored and not
// consumed (file truncated/rewritten while stopped) stay there forever; much
// later an unrelated new file starting with the same bytes is taken for a
// copy and starts at the old offset: its first lines are skipped.
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

// R7: start_at: end also applies to a file created after startup while the
// first scan's files are still being opened in batches (max_open_files).
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
	dir := t.TempDir()
	paths := manyFiles(t, dir, 3)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 1 })
	w := &preciseWaker{}
	h.src.waker = w
	for range 4 {
		h.step()
	}
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
