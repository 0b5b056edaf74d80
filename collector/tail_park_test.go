package collector

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

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
	dir := t.TempDir()
	paths := manyFiles(t, dir, 4)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 1 })
	for range 4 {
		h.step()
	}
	if h.src.byPath[paths[0]].f != nil {
		t.Fatal("f00 should be parked")
	}
	// Renamed within the globs while parked, then written: same file.
	moved := filepath.Join(dir, "moved.log")
	if err := os.Rename(paths[0], moved); err != nil {
		t.Fatal(err)
	}
	appendLines(t, moved, "f00 2")
	// Renamed away (not matched) and recreated: the new file from its start.
	if err := os.Rename(paths[1], filepath.Join(dir, "f01.old")); err != nil {
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
	dir := t.TempDir()
	paths := manyFiles(t, dir, 6)
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxOpenFiles = 2 })
	for range 4 {
		h.step()
	}
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
