package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Sizes: CI runs each mode with 50,000 lines and two crash restarts;
// OBSADAPTER_LONG=1 runs 200,000 lines and ten restarts.
func stressSizes() (lines, crashes int) {
	if os.Getenv("OBSADAPTER_LONG") == "1" {
		return 200000, 10
	}
	return 50000, 2
}

// seqWriter appends numbered lines to dir/app.log and rotates it every
// rotateEvery lines in one of three ways. Rotated names still match the
// source's app.log* glob, as with logrotate's numbered or dated files.
type seqWriter struct {
	t           *testing.T
	dir         string
	mode        string // rename, copytruncate, delete
	f           *os.File
	next        int
	rotations   int
	rotateEvery int
	// reader is the daemon tailing the files, if any: in delete mode a
	// file is deleted only once it holds it open (see waitHeld).
	reader *daemon
}

func newSeqWriter(t *testing.T, dir, mode string) *seqWriter {
	w := &seqWriter{t: t, dir: dir, mode: mode, next: 1, rotateEvery: 1000}
	w.open()
	return w
}

func (w *seqWriter) path() string { return filepath.Join(w.dir, "app.log") }

func (w *seqWriter) open() {
	f, err := os.OpenFile(w.path(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	w.f = f
}

// write appends n lines at about 10,000 lines/s, rotating as it goes (so a
// rotation comes every ~100 ms).
func (w *seqWriter) write(n int, rotate bool) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "stress seq=%d %s\n", w.next, strings.Repeat("x", w.next%50))
		w.next++
		if w.next%100 == 0 {
			w.flush(&b)
			time.Sleep(10 * time.Millisecond) // pacing the writer, not synchronising with the reader
		}
		if rotate && w.next%w.rotateEvery == 0 {
			w.flush(&b)
			w.rotate()
		}
	}
	w.flush(&b)
}

func (w *seqWriter) flush(b *strings.Builder) {
	if b.Len() == 0 {
		return
	}
	if _, err := w.f.WriteString(b.String()); err != nil {
		w.t.Fatal(err)
	}
	b.Reset()
}

func (w *seqWriter) rotate() {
	w.rotations++
	rotated := filepath.Join(w.dir, fmt.Sprintf("app.log.%d", w.rotations))
	switch w.mode {
	case "rename":
		os.Rename(w.path(), rotated)
		w.f.Close()
		w.open()
	case "copytruncate":
		data, err := os.ReadFile(w.path())
		if err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(rotated, data, 0o644); err != nil {
			w.t.Fatal(err)
		}
		if err := w.f.Truncate(0); err != nil {
			w.t.Fatal(err)
		}
	case "delete":
		w.waitHeld()
		w.f.Close()
		os.Remove(w.path())
		w.open()
	}
}

// waitHeld waits until the reader holds app.log open. A file deleted
// before any reader opened it takes its lines with it, which no tailer can
// undo: the daemon opens a file on its creation event, but one starved of
// CPU for the ~100 ms a file lives here (a 300 ms SIGSTOP lost a file's
// 1,000 lines) never gets the chance.
func (w *seqWriter) waitHeld() {
	if w.reader == nil {
		return
	}
	fds := fmt.Sprintf("/proc/%d/fd", w.reader.cmd.Process.Pid)
	waitFor(w.t, "the daemon to open "+w.path(), func() bool {
		entries, _ := os.ReadDir(fds)
		for _, e := range entries {
			// A deleted file's link reads "<path> (deleted)": only the
			// file now under the name matches.
			if target, err := os.Readlink(filepath.Join(fds, e.Name())); err == nil && target == w.path() {
				return true
			}
		}
		return false
	})
}

func stressConfig(t *testing.T, dir, state string) string {
	cfg := fmt.Sprintf(`state_dir: %q
checkpoint_interval: 100ms
sources:
  - name: app
    type: file
    include: [%q]
    start_at: beginning
    multiline: "off"
    poll_interval: 200ms
    rotate_wait: 1s
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: false}
procinfo: {enabled: false}
`, state, filepath.Join(dir, "app.log*"))
	path := filepath.Join(t.TempDir(), "stress.yaml")
	os.WriteFile(path, []byte(cfg), 0o644)
	return path
}

// seqCounts counts each sequence number seen on the daemons' stdout.
func seqCounts(daemons []*daemon) map[int]int {
	counts := map[int]int{}
	for _, d := range daemons {
		for _, m := range d.messages() {
			if i := strings.Index(m, "seq="); i >= 0 {
				f := strings.Fields(m[i+4:])
				if n, err := strconv.Atoi(f[0]); err == nil {
					counts[n]++
				}
			}
		}
	}
	return counts
}

// waitForAll waits until every sequence number arrived; on time-out it
// names the missing ranges, which tell which rotation lost them.
func waitForAll(t *testing.T, daemons []*daemon, total int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(seqCounts(daemons)) < total {
		if time.Now().After(deadline) {
			counts := seqCounts(daemons)
			var ranges []string
			for i := 1; i <= total; i++ {
				if counts[i] == 0 {
					j := i
					for j < total && counts[j+1] == 0 {
						j++
					}
					ranges = append(ranges, fmt.Sprintf("%d-%d", i, j))
					i = j
				}
			}
			t.Fatalf("timed out: %d of %d lines arrived; missing %v", len(counts), total, ranges)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitDelivered waits until d has delivered line seq: by then it has
// scanned, watches the directory and holds app.log open, so rotating it no
// longer races the daemon's start.
func waitDelivered(t *testing.T, d *daemon, seq int) {
	t.Helper()
	line := fmt.Sprintf("stress seq=%d ", seq)
	waitFor(t, fmt.Sprintf("seq %d from the daemon", seq), func() bool { return countContains(d.messages(), line) > 0 })
}

func missing(counts map[int]int, total int) []int {
	var out []int
	for i := 1; i <= total; i++ {
		if counts[i] == 0 {
			out = append(out, i)
			if len(out) == 10 {
				break
			}
		}
	}
	return out
}

func TestStressRotationCleanRestart(t *testing.T) {
	total, _ := stressSizes()
	for _, mode := range []string{"rename", "copytruncate", "delete"} {
		t.Run(mode, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			cfg := stressConfig(t, dir, state)
			w := newSeqWriter(t, dir, mode)
			d1 := startDaemon(t, nil, "--config", cfg)
			w.reader = d1
			// The first rotation waits for the daemon too: the first file
			// lives ~100 ms, and a delete before the first scan lost 1-999.
			w.write(1, false)
			waitDelivered(t, d1, 1)
			w.write(total/2-1, true)
			if code := d1.stop(); code != 0 {
				t.Fatalf("clean stop exited %d", code)
			}
			// While stopped the app goes on writing; a rename rotation happens
			// too (the drained-after-restart case). Deleting a file nobody holds
			// open would destroy its lines, so delete mode does not rotate here.
			resumed := w.next // the first line written while stopped
			w.write(total/10, false)
			if mode == "rename" {
				w.rotate()
			}
			d2 := startDaemon(t, nil, "--config", cfg)
			w.reader = d2
			// The app rotates again only once the new daemon has taken up
			// its checkpoint: before its first scan it holds nothing open
			// and watches nothing, so it is still stopped to the files. A
			// delete then destroys the unread lines, and a copytruncate
			// copy of the one line read before the stop (a prefix too short
			// to trust as a copy) is read again from its start. A loaded
			// machine starting the binary slowly made both happen.
			waitDelivered(t, d2, resumed)
			w.write(total-w.next+1, true)
			daemons := []*daemon{d1, d2}
			waitForAll(t, daemons, total)
			if code := d2.stop(); code != 0 {
				t.Fatalf("clean stop exited %d", code)
			}
			counts := seqCounts(daemons)
			if m := missing(counts, total); len(m) > 0 {
				t.Fatalf("lines lost, first missing: %v", m)
			}
			for n, c := range counts {
				if c != 1 {
					t.Fatalf("seq %d delivered %d times: a clean stop and restart must not repeat a line", n, c)
				}
			}
			t.Logf("%s: %d lines, %d rotations, each delivered exactly once", mode, total, w.rotations)
		})
	}
}

// TestStressCrashRestarts kill -9s the binary at random moments while the
// writer rotates. Delete+recreate is not in it: lines in a file deleted
// while no reader holds it open are gone from the filesystem, which no
// tailer can undo; renamed files and copytruncate copies keep their lines,
// and those must all arrive.
func TestStressCrashRestarts(t *testing.T) {
	total, crashes := stressSizes()
	for _, mode := range []string{"rename", "copytruncate"} {
		t.Run(mode, func(t *testing.T) {
			dir, state := t.TempDir(), t.TempDir()
			cfg := stressConfig(t, dir, state)
			w := newSeqWriter(t, dir, mode)
			var daemons []*daemon
			chunk := total / (crashes + 1)
			for i := 0; i <= crashes; i++ {
				d := startDaemon(t, nil, "--config", cfg)
				daemons = append(daemons, d)
				if i == crashes {
					w.write(total-w.next+1, true)
					break
				}
				// kill -9 at a random moment within the chunk, mid-rotation
				// as likely as not; the writer finishes its chunk meanwhile.
				killAt := rand.IntN(chunk)
				w.write(killAt, true)
				d.kill()
				w.write(chunk-killAt, false)
			}
			waitForAll(t, daemons, total)
			last := daemons[len(daemons)-1]
			if code := last.stop(); code != 0 {
				t.Fatalf("clean stop exited %d", code)
			}
			counts := seqCounts(daemons)
			if m := missing(counts, total); len(m) > 0 {
				t.Fatalf("lines lost after crashes, first missing: %v", m)
			}
			dups := 0
			for _, c := range counts {
				dups += c - 1
			}
			// Duplicates are what was read but not yet checkpointed at each
			// kill: at most a checkpoint interval's worth of lines (100 ms at
			// ~10,000 lines/s) plus one rotated copy opened since the last
			// checkpoint (rotateEvery lines).
			if dups > crashes*2*w.rotateEvery {
				t.Fatalf("%d duplicates after %d crashes: more than unacknowledged data explains", dups, crashes)
			}
			t.Logf("%s: %d lines, %d crashes, %d duplicates", mode, total, crashes, dups)
		})
	}
}
