package collector

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// manualWaker never fires: tests step the tailer with pass() themselves.
type manualWaker struct{}

func (manualWaker) C() <-chan struct{}                       { return nil }
func (manualWaker) TakeRescan() bool                         { return false }
func (manualWaker) TakeWritten() (map[string]struct{}, bool) { return nil, false }
func (manualWaker) Watch(string)                             {}
func (manualWaker) TakeOpened() []earlyFile                  { return nil }
func (manualWaker) Close() error                             { return nil }

// tailHarness drives a fileSource on a temp dir with an injected clock and
// acknowledges every batch, like a pipeline whose exporters all succeed.
type tailHarness struct {
	t       *testing.T
	dir     string
	cfg     SourceConfig
	src     *fileSource
	out     chan *batch
	clk     *clocktest.Fake
	metrics *selfMetrics
	status  *sourceStatus
	hold    bool     // keep batches unacknowledged
	held    []*batch // batches not acknowledged yet
}

func newTailHarness(t *testing.T, dir string, mod func(*SourceConfig)) *tailHarness {
	t.Helper()
	cfg := defaultSource()
	cfg.Name, cfg.Type = "app", "file"
	cfg.Include = []string{filepath.Join(dir, "*.log")}
	cfg.StartAt = "beginning"
	if mod != nil {
		mod(&cfg)
	}
	h := &tailHarness{t: t, dir: dir, cfg: cfg, clk: clocktest.New(time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC))}
	h.metrics = newSelfMetrics(prometheus.NewRegistry())
	h.start(nil, true)
	return h
}

func (h *tailHarness) start(restored []checkpointEntry, first bool) {
	h.out = make(chan *batch, 1000)
	h.status = newSourceStatus(h.cfg.Name, h.cfg.Type)
	deps := sourceDeps{
		logger: slog.New(slog.DiscardHandler), metrics: h.metrics, clock: h.clk,
		out: h.out, status: h.status, batchRecords: 100,
	}
	h.src = newFileSource(h.cfg, deps, restored, first)
	h.src.waker = manualWaker{}
	h.src.drainOrphans(h.clk.Now())
}

// step runs passes a scan interval apart, past the multiline timeout, and
// returns the messages of the records delivered.
func (h *tailHarness) step() []string {
	h.t.Helper()
	var got []string
	for range 2 {
		h.src.pass(h.clk.Now())
		h.clk.Advance(h.cfg.PollInterval + h.cfg.MultilineTimeout)
		got = append(got, h.collect()...)
	}
	return got
}

func (h *tailHarness) collect() []string {
	var got []string
	for {
		select {
		case b := <-h.out:
			for _, r := range b.records {
				got = append(got, r.Message)
			}
			if h.hold {
				h.held = append(h.held, b)
			} else {
				b.finish()
			}
		default:
			return got
		}
	}
}

func (h *tailHarness) stop() []string {
	h.src.finish(h.clk.Now())
	got := h.collect()
	return got
}

func (h *tailHarness) checkpoint() []checkpointEntry { return h.status.checkpoints() }

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := io.WriteString(f, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s %d", prefix, i))
	}
	return out
}

func expectLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines %q\nwant %d lines %q", len(got), got, len(want), want)
	}
}

func TestTailAppends(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, seq("line", 1, 3)...)
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), seq("line", 1, 3))
	appendLines(t, log, seq("line", 4, 5)...)
	expectLines(t, h.step(), seq("line", 4, 5))
	expectLines(t, h.step(), nil)
}

func TestTailStartAt(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.log")
	appendLines(t, old, "before start")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.StartAt = "end" })
	expectLines(t, h.step(), nil)
	appendLines(t, old, "after start")
	appendLines(t, filepath.Join(dir, "new.log"), "new file line") // appeared later: from its beginning
	got := h.step()
	slices.Sort(got)
	expectLines(t, got, []string{"after start", "new file line"})
}

func TestTailRenameRotation(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, seq("a", 1, 2)...)
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), seq("a", 1, 2))

	appendLines(t, log, "a 3") // written before the rename, not read yet
	if err := os.Rename(log, filepath.Join(dir, "app.log.1")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(dir, "app.log.1"), "a 4") // the app still writes through its old descriptor
	appendLines(t, log, "b 1")
	got := h.step()
	slices.Sort(got)
	expectLines(t, got, []string{"a 3", "a 4", "b 1"})
	if n := testutil.ToFloat64(h.metrics.rotations.WithLabelValues("app", "rename")); n != 1 {
		t.Errorf("rename rotations = %v, want 1", n)
	}
	h.clk.Advance(h.cfg.RotateWait)
	expectLines(t, h.step(), nil)
	if len(h.src.files) != 1 {
		t.Errorf("the rotated file was not released after rotate_wait: %d files open", len(h.src.files))
	}
}

func TestTailRotatedFileUnterminatedLine(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, "a 1")
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), []string{"a 1"})
	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	io.WriteString(f, "no newline yet")
	f.Close()
	expectLines(t, h.step(), nil) // a live file's partial line waits for its newline
	os.Rename(log, filepath.Join(dir, "app.log.1"))
	h.step()
	h.clk.Advance(h.cfg.RotateWait)
	expectLines(t, h.step(), []string{"no newline yet"}) // complete once the file is let go
}

func TestTailCopyTruncate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		globRotate bool // the glob also matches the copy (app.log*)
	}{
		{"copy outside the glob", false},
		{"copy matched by the glob", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			h := newTailHarness(t, dir, func(c *SourceConfig) {
				if tc.globRotate {
					c.Include = []string{filepath.Join(dir, "app.log*")}
				}
			})
			appendLines(t, log, seq("a", 1, 20)...) // more than minCopyFingerprint bytes
			expectLines(t, h.step(), seq("a", 1, 20))
			appendLines(t, log, "a 21")
			data, _ := os.ReadFile(log)
			os.WriteFile(filepath.Join(dir, "app.log.1"), data, 0o644)
			os.Truncate(log, 0)
			appendLines(t, log, "b 1")
			got := h.step()
			want := []string{"b 1"}
			if tc.globRotate { // the copy is recognised and continued: a 21 is not lost, nothing is repeated
				want = []string{"a 21", "b 1"}
			}
			slices.Sort(got)
			expectLines(t, got, want)
			if n := testutil.ToFloat64(h.metrics.rotations.WithLabelValues("app", "truncate")); n != 1 {
				t.Errorf("truncations = %v, want 1", n)
			}
		})
	}
}

func TestTailTruncatedAndRegrown(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, "first content line")
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), []string{"first content line"})
	// truncated and rewritten past the old offset between two looks: only the
	// changed first bytes show it
	os.WriteFile(log, []byte("other content, longer than before\n"), 0o644)
	expectLines(t, h.step(), []string{"other content, longer than before"})
}

func TestTailDeleteAndRecreate(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, "a 1")
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), []string{"a 1"})
	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	os.Remove(log)
	io.WriteString(f, "a 2\n") // written to the deleted file through an open descriptor
	f.Close()
	appendLines(t, log, "b 1")
	got := h.step()
	slices.Sort(got)
	expectLines(t, got, []string{"a 2", "b 1"})
	if n := testutil.ToFloat64(h.metrics.rotations.WithLabelValues("app", "delete")); n != 1 {
		t.Errorf("delete rotations = %v, want 1", n)
	}
}

func TestTailLongLines(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, strings.Repeat("x", 300), "next")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.MaxLineBytes = 100 })
	h.src.pass(h.clk.Now())
	var recs []string
	var truncated []bool
	for len(h.out) > 0 {
		b := <-h.out
		for _, r := range b.records {
			recs = append(recs, r.Message)
			truncated = append(truncated, r.Truncated)
		}
	}
	h.clk.Advance(2 * time.Second)
	h.src.pass(h.clk.Now())
	for len(h.out) > 0 {
		for _, r := range (<-h.out).records {
			recs = append(recs, r.Message)
			truncated = append(truncated, r.Truncated)
		}
	}
	expectLines(t, recs, []string{strings.Repeat("x", 100), "next"})
	if !truncated[0] || truncated[1] {
		t.Errorf("truncated flags = %v, want [true false]", truncated)
	}
}

func TestTailCheckpointRestart(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, seq("a", 1, 3)...)
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), seq("a", 1, 3))
	appendLines(t, log, "a 4")
	h.hold = true // a 4 is read but never acknowledged: the checkpoint must not pass it
	expectLines(t, h.step(), []string{"a 4"})
	expectLines(t, h.stop(), nil)
	ckpt := h.checkpoint()
	if len(ckpt) != 1 || ckpt[0].Offset != int64(len("a 1\na 2\na 3\n")) {
		t.Fatalf("checkpoint = %+v, want the offset after a 3", ckpt)
	}
	appendLines(t, log, "a 5")
	h.hold = false
	h.start(ckpt, false)
	expectLines(t, h.step(), []string{"a 4", "a 5"})
}

func TestTailRotatedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, seq("a", 1, 2)...)
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), seq("a", 1, 2))
	h.stop()
	ckpt := h.checkpoint()
	appendLines(t, log, "a 3")
	os.Rename(log, filepath.Join(dir, "app.log.1")) // not matched by *.log
	appendLines(t, log, "b 1")
	h.start(ckpt, false)
	got := h.step()
	slices.Sort(got)
	expectLines(t, got, []string{"a 3", "b 1"})
}

func TestTailInodeReuse(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, "new content")
	st, _ := os.Stat(log)
	key := keyOf(st)
	h := newTailHarness(t, dir, nil)
	h.stop()
	// A checkpoint of a different file that had the same inode: its first
	// bytes differ, so the file is read from its beginning.
	h.start([]checkpointEntry{{Source: "app", Path: log, Dev: key.dev, Ino: key.ino, FP: []byte("old content"), Offset: 5}}, false)
	expectLines(t, h.step(), []string{"new content"})
}

func TestCheckpointFileRoundTripAndCorruption(t *testing.T) {
	dir := t.TempDir()
	entries := []checkpointEntry{{Source: "app", Path: "/x.log", Dev: 1, Ino: 2, FP: []byte("abc"), Offset: 42}}
	if err := saveCheckpoints(dir, entries); err != nil {
		t.Fatal(err)
	}
	got, exists, err := loadCheckpoints(dir)
	if err != nil || !exists || len(got) != 1 || got[0].Offset != 42 || string(got[0].FP) != "abc" {
		t.Fatalf("round trip = %+v, %v, %v", got, exists, err)
	}
	for name, content := range map[string]string{
		"garbage":    "\x00\x01not json at all",
		"truncated":  `{"version":1,"files":[{"source":"app","pa`,
		"version":    `{"version":7,"files":[]}`,
		"impossible": `{"version":1,"files":[{"source":"app","offset":-5}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, checkpointFile), []byte(content), 0o644)
			got, exists, err := loadCheckpoints(dir)
			if err == nil || !exists || got != nil {
				t.Fatalf("corrupt checkpoint accepted: %+v, %v, %v", got, exists, err)
			}
		})
	}
	if _, exists, err := loadCheckpoints(t.TempDir()); exists || err != nil {
		t.Fatalf("missing checkpoint: exists=%v err=%v", exists, err)
	}
}

func TestTailCopyTruncateRestart(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	for r := 1; r <= 3; r++ {
		appendLines(t, log, seq(fmt.Sprintf("r%d", r), 1, 20)...)
		expectLines(t, h.step(), seq(fmt.Sprintf("r%d", r), 1, 20))
		data, _ := os.ReadFile(log)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("app.log.%d", r)), data, 0o644)
		os.Truncate(log, 0)
		expectLines(t, h.step(), nil)
	}
	h.stop()
	ckpt := h.checkpoint()
	h.start(ckpt, false)
	expectLines(t, h.step(), nil) // every copy was read already: nothing again
}

// A copy is seen by inotify when it is created, before its bytes are all
// written: it must be judged once it can be, not read from its start.
func TestTailCopyObservedWhileBeingWritten(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	appendLines(t, log, seq("a", 1, 20)...)
	expectLines(t, h.step(), seq("a", 1, 20))
	appendLines(t, log, "a 21")
	data, _ := os.ReadFile(log)
	copyPath := filepath.Join(dir, "app.log.1")
	os.WriteFile(copyPath, data[:10], 0o644)   // the copy so far
	expectLines(t, h.step(), []string{"a 21"}) // from app.log; the copy waits
	if len(h.src.files) != 1 {
		t.Fatalf("the partial copy was opened: %d files", len(h.src.files))
	}
	os.WriteFile(copyPath, data, 0o644) // the copy complete, then the truncation
	os.Truncate(log, 0)
	expectLines(t, h.step(), nil) // recognised: nothing is read twice
	if len(h.src.files) != 2 {
		t.Fatalf("the completed copy was not opened: %d files", len(h.src.files))
	}
}

// earlyWaker hands over files as the fs waker does on their creation event.
type earlyWaker struct {
	manualWaker
	opened []earlyFile
}

func (w *earlyWaker) TakeOpened() []earlyFile {
	out := w.opened
	w.opened = nil
	return out
}

func (w *earlyWaker) create(t *testing.T, path string, lines ...string) {
	t.Helper()
	appendLines(t, path, lines...)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w.opened = append(w.opened, earlyFile{path: path, f: f})
}

func copyTruncate(t *testing.T, log, copyPath string) []byte {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	return data
}

// A pass reads without scanning when no scan is due (or while it was blocked
// on a full pipeline): a file truncated and regrown past the read offset
// meanwhile must not be read on from that offset, which would hand over the
// middle of the new content and make the copy continue at a wrong offset.
func TestTailTruncatedAndRegrownBeforeScan(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	appendLines(t, log, seq("a", 1, 20)...)
	expectLines(t, h.step(), seq("a", 1, 20))
	appendLines(t, log, seq("a", 21, 25)...)
	copyTruncate(t, log, filepath.Join(dir, "app.log.1"))
	appendLines(t, log, seq("b", 1, 40)...)     // past the old offset
	h.src.nextScan = h.clk.Now().Add(time.Hour) // no scan due: reading alone must notice
	h.src.pass(h.clk.Now())
	got := h.collect()
	got = append(got, h.step()...)
	want := append(seq("a", 21, 25), seq("b", 1, 40)...)
	slices.Sort(got)
	slices.Sort(want)
	expectLines(t, got, want)
}

// A copy continues the truncated file's delivery state: lines read from the
// original but not acknowledged when the process dies are read again from
// the copy after the restart, not skipped because the copy was opened past
// them.
func TestTailCopyOwesUnacknowledgedLines(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	appendLines(t, log, seq("a", 1, 20)...)
	h.hold = true // nothing is acknowledged before the crash
	expectLines(t, h.step(), seq("a", 1, 20))
	appendLines(t, log, "a 21")
	copyTruncate(t, log, filepath.Join(dir, "app.log.1"))
	appendLines(t, log, "b 1")
	got := h.step()
	slices.Sort(got)
	expectLines(t, got, []string{"a 21", "b 1"})
	ckpt := h.checkpoint() // kill -9: no finish
	h.hold = false
	h.start(ckpt, false)
	got = h.step()
	want := append(seq("a", 1, 21), "b 1")
	slices.Sort(got)
	slices.Sort(want)
	expectLines(t, got, want)
}

// Several checkpoint entries can name one inode (the live file and contents
// truncated away from it); the file resumes from its own, whatever the order.
func TestTailCheckpointEntriesOfOneInode(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, seq("now", 1, 20)...)
	st, _ := os.Stat(log)
	key := keyOf(st)
	prefix, _ := os.ReadFile(log)
	old := []byte(strings.Repeat("truncated away before the stop\n", 4))
	h := newTailHarness(t, dir, nil)
	h.stop()
	h.start([]checkpointEntry{
		{Source: "app", Path: log, Dev: key.dev, Ino: key.ino, FP: old, Offset: int64(len(old))},
		{Source: "app", Path: log, Dev: key.dev, Ino: key.ino, FP: prefix[:100], Offset: int64(len(prefix))},
	}, false)
	appendLines(t, log, "now 21")
	expectLines(t, h.step(), []string{"now 21"})
}

// At shutdown the files the waker opened are taken: one deleted before any
// scan saw it is read then, or its lines are gone for good.
func TestTailFinishReadsDeletedEarlyFile(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, "a 1")
	h := newTailHarness(t, dir, nil)
	w := &earlyWaker{}
	h.src.waker = w
	expectLines(t, h.step(), []string{"a 1"})
	os.Remove(log)
	w.create(t, log, "b 1", "b 2")
	os.Remove(log)
	appendLines(t, log, "c 1")
	got := h.stop()
	slices.Sort(got)
	expectLines(t, got, []string{"b 1", "b 2", "c 1"})
}

// A copytruncate right before the stop: the last scan at shutdown judges the
// copy, so nothing is lost and the restart repeats nothing.
func TestTailCopyTruncateJustBeforeStop(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	appendLines(t, log, seq("a", 1, 20)...)
	expectLines(t, h.step(), seq("a", 1, 20))
	appendLines(t, log, "a 21")
	copyTruncate(t, log, filepath.Join(dir, "app.log.1"))
	appendLines(t, log, "b 1")
	got := h.stop()
	slices.Sort(got)
	expectLines(t, got, []string{"a 21", "b 1"})
	h.start(h.checkpoint(), false)
	expectLines(t, h.step(), nil)
}

// A copy still being written at the stop stays for the restart to judge; the
// checkpoint keeps the truncated content it continues, so the restart reads
// only what was not read before.
func TestTailCopyInProgressAtStop(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	copyPath := filepath.Join(dir, "app.log.1")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	appendLines(t, log, seq("a", 1, 20)...)
	expectLines(t, h.step(), seq("a", 1, 20))
	appendLines(t, log, "a 21")
	data := copyTruncate(t, log, copyPath)
	os.WriteFile(copyPath, data[:50], 0o644) // the copy so far
	appendLines(t, log, "b 1")
	expectLines(t, h.stop(), []string{"b 1"})
	ckpt := h.checkpoint()
	os.WriteFile(copyPath, data, 0o644) // the copy completes while stopped
	h.start(ckpt, false)
	expectLines(t, h.step(), []string{"a 21"})
}

// Truncated and rewritten to the very size it had, between two looks: the
// size says nothing, the changed modification time makes the scan compare
// the first bytes.
func TestTailRewrittenToSameSize(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	appendLines(t, log, "first generation line")
	h := newTailHarness(t, dir, nil)
	expectLines(t, h.step(), []string{"first generation line"})
	st, _ := os.Stat(log)
	os.WriteFile(log, []byte("other generation line\n"), 0o644)
	later := st.ModTime().Add(time.Second) // coarse clocks may not move between two writes
	os.Chtimes(log, later, later)
	expectLines(t, h.step(), []string{"other generation line"})
}

// The source was blocked on a full pipeline while the file was copied and
// truncated several times: the copy of what was being read continues where
// reading stopped, the copies of generations never seen are read whole, the
// live file from its start, and a restart repeats nothing.
func TestTailSeveralCopyTruncatesBetweenScans(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	h := newTailHarness(t, dir, func(c *SourceConfig) { c.Include = []string{filepath.Join(dir, "app.log*")} })
	w := &earlyWaker{}
	h.src.waker = w
	appendLines(t, log, seq("g0", 1, 20)...)
	expectLines(t, h.step(), seq("g0", 1, 20))
	appendLines(t, log, seq("g0", 21, 30)...)
	var want []string
	want = append(want, seq("g0", 21, 30)...)
	for g := 1; g <= 3; g++ {
		copyPath := filepath.Join(dir, fmt.Sprintf("app.log.%d", g))
		w.create(t, copyPath) // opened on its creation event, before its bytes are written
		copyTruncate(t, log, copyPath)
		lines := seq(fmt.Sprintf("g%d", g), 1, 20+g*10) // each generation longer than the last
		appendLines(t, log, lines...)
		want = append(want, lines...)
	}
	h.src.nextScan = h.clk.Now().Add(time.Hour) // the blocked pass reads on before any scan
	h.src.pass(h.clk.Now())
	got := h.collect()
	got = append(got, h.step()...)
	got = append(got, h.stop()...)
	slices.Sort(got)
	slices.Sort(want)
	expectLines(t, got, want)
	h.start(h.checkpoint(), false)
	expectLines(t, h.step(), nil)
}
