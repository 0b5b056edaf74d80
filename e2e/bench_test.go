package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
)

// cpuSeconds is a process's user+system CPU time from /proc/PID/stat.
func cpuSeconds(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// selfCPUSeconds is this process's user+system CPU time: the receiver's
// share, since it runs here.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkFluentEndToEnd: the real binary reads a mixed-format corpus from
// its beginning (framing, detection, parsing, multiline) and delivers every
// record to a forward-protocol receiver on loopback, acknowledged. It reports
// acknowledged records/s and the adapter's and the receiver's CPU seconds per
// million records.
//
// The file's last record waits multiline_timeout (1s by default) for
// continuation lines before it is sent, as it must when tailing: that wait is
// not throughput, so records/s counts up to the record before it, from the
// adapter's start. "with-tail-s" is the time until the last record too.
//
//	go test -run '^$' -bench FluentEndToEnd -benchtime 3x ./e2e/
func BenchmarkFluentEndToEnd(b *testing.B) {
	gen := filepath.Join(root, "..", "shared", "bench", "gen_corpus.py")
	if _, err := os.Stat(gen); err != nil {
		b.Skipf("corpus generator %s not found", gen)
	}
	dir := b.TempDir()
	corpus := filepath.Join(dir, "mixed.log")
	if out, err := exec.Command("python3", gen, "--lines", "500000", "--seed", "1", "--format", "mixed", "--out", corpus).CombinedOutput(); err != nil {
		b.Skipf("generating the corpus: %v\n%s", err, out)
	}
	parsed, err := exec.Command(binary, "parse", corpus).Output()
	if err != nil {
		b.Fatal(err)
	}
	records := bytes.Count(parsed, []byte("\n"))
	var perSec, cpuPerMillion, recvPerMillion float64
	var withTail time.Duration
	for b.Loop() {
		recv := forwardtest.Start(b, forwardtest.Options{CountOnly: true})
		cfg := filepath.Join(b.TempDir(), "bench.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`sources:
  - {name: bench, type: file, include: [%q], start_at: beginning}
exporters:
  stdout: {enabled: false}
  prometheus: {enabled: false}
  fluent: {enabled: true, address: %q}
procinfo: {enabled: false}
http: {listen: "127.0.0.1:0"}
`, corpus, recv.Addr())), 0o644)
		cmd := exec.Command(binary, "run", "--config", cfg)
		recvCPU := selfCPUSeconds()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if !recv.WaitEntries(records-1, 2*time.Minute) {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("%d of %d records acknowledged", recv.Stats().Entries, records)
		}
		elapsed := time.Since(start)
		if !recv.WaitEntries(records, 10*time.Second) {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("the last record was not delivered after multiline_timeout")
		}
		withTail = time.Since(start)
		cpu := cpuSeconds(cmd.Process.Pid)
		recvCPU = selfCPUSeconds() - recvCPU
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		perSec = float64(records-1) / elapsed.Seconds()
		cpuPerMillion = cpu / float64(records) * 1e6
		recvPerMillion = recvCPU / float64(records) * 1e6
	}
	b.ReportMetric(perSec, "records/s")
	b.ReportMetric(cpuPerMillion, "cpu-s/1M-records")
	b.ReportMetric(recvPerMillion, "receiver-cpu-s/1M-records")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(withTail.Seconds(), "with-tail-s")
}
