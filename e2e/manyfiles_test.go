package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Thousands of small idle files (per-request or per-job logs): the real
// binary reads them all within max_open_files descriptors and a bounded
// heap, and reads a parked file again when it is written.
// manyFilesSizes: CI tails 2,000 files within max_open_files 256 and a
// heap of 20 MiB (measured 9.9-12.8 MiB: about 2.5 KiB of live state per
// file plus the collector's headroom; before files were parked and streams
// compacted, 110 MiB); OBSADAPTER_LONG=1 tails 10,000 with the default
// max_open_files and 48 MiB (measured 28-39 MiB).
func manyFilesSizes() (files, maxOpen int, heapBound float64) {
	if os.Getenv("OBSADAPTER_LONG") == "1" {
		return 10000, 1024, 48 << 20
	}
	return 2000, 256, 20 << 20
}

func TestManyFilesBounded(t *testing.T) {
	files, maxOpen, heapBound := manyFilesSizes()
	const lines = 3
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		var b strings.Builder
		for j := range lines {
			fmt.Fprintf(&b, "2026-12-03T10:00:0%dZ INFO job=%d step=%d done\n", j, i, j)
		}
		if err := os.WriteFile(filepath.Join(logs, fmt.Sprintf("job-%04d.log", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "obsadapter.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
sources:
  - name: jobs
    type: file
    include: [%q]
    start_at: beginning
    max_open_files: %d
exporters:
  stdout: {enabled: false}
procinfo: {enabled: false}
`, filepath.Join(logs, "*.log"), maxOpen)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--config", cfg)
	records := func() float64 {
		_, body := d.get("/metrics")
		return sumSeries(body, "obsadapter_records_total", `source="jobs"`)
	}
	waitFor(t, "every line of every file", func() bool { return records() == float64(files*lines) })

	// Parked files are reopened when written.
	for i := 0; i < files; i += files / 20 {
		f, err := os.OpenFile(filepath.Join(logs, fmt.Sprintf("job-%04d.log", i)), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "2026-12-03T10:01:00Z WARN job=%d again\n", i)
		f.Close()
	}
	waitFor(t, "the lines appended to parked files", func() bool { return records() == float64(files*lines+20) })

	_, body := d.get("/metrics")
	if v, _ := metricValue(body, `obsadapter_files_watched{source="jobs"}`); v != float64(files) {
		t.Errorf("obsadapter_files_watched = %v, want %d", v, files)
	}
	if v, _ := metricValue(body, `obsadapter_files_open{source="jobs"}`); v > float64(maxOpen) {
		t.Errorf("obsadapter_files_open = %v, above max_open_files %d", v, maxOpen)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// Beyond the files: stdio, the listener and its connections, inotify,
	// the runtime's epoll and pipe.
	if len(fds) > maxOpen+32 {
		t.Errorf("%d descriptors open, want at most max_open_files (%d) + 32", len(fds), maxOpen)
	}
	// The live heap (after the collection the scrape's figures follow) of
	// 2,000 tailed files: well under the 64 MiB that 10,000 must fit in.
	live, _ := metricValue(body, "go_memstats_heap_inuse_bytes")
	if live > heapBound {
		t.Errorf("heap in use %.1f MiB with %d files, want at most %.0f MiB", live/(1<<20), files, heapBound/(1<<20))
	}
	t.Logf("%d files: %d descriptors, heap in use %.1f MiB, peak RSS %.1f MiB", files, len(fds), live/(1<<20), float64(vmHWM(t, d))/(1<<20))
}
