package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/record"
)

// BenchmarkSidecar measures the jobs of issue #16's table on the real binary
// with its defaults, one sub-benchmark each, and reports the adapter's
// CPU-seconds (user+system), lines per CPU-second and peak RSS:
//
//	forward    file from its beginning -> detection, parsing, multiline ->
//	           fluent exporter with acks -> a receiver that decodes every
//	           entry; their checksum of (time, level, message, fields) must
//	           equal that of `obsadapter parse` of the same corpus
//	forward-sink
//	           forward with a receiver that only counts entries and acks
//	           (the baseline of otlpe2e's otlp-*-sink jobs)
//	raw-tail   format: plain, multiline: off, counted by the Prometheus
//	           exporter only
//	parse      obsadapter parse FILE > /dev/null
//	idle-files 1,000 small files read, then 60 s idle
//	forward-secrets, forward-redact
//	           forward on the corpus with a secret in every 100th line,
//	           without processors, then with a keep-all filter and the
//	           built-in redact (issue #17: at most 10 % more CPU)
//
// The corpus is OBSADAPTER_CORPUS (made with ../shared/bench/gen_corpus.py
// --lines 1000000 --seed 1 --format mixed when unset). bench/e2e.sh runs it.
func BenchmarkSidecar(b *testing.B) {
	corpus := os.Getenv("OBSADAPTER_CORPUS")
	if corpus == "" {
		gen := filepath.Join(root, "..", "shared", "bench", "gen_corpus.py")
		if _, err := os.Stat(gen); err != nil {
			b.Skipf("set OBSADAPTER_CORPUS, or put the corpus generator at %s", gen)
		}
		corpus = filepath.Join(b.TempDir(), "corpus.log")
		if out, err := exec.Command("python3", gen, "--lines", "1000000", "--seed", "1", "--format", "mixed", "--out", corpus).CombinedOutput(); err != nil {
			b.Fatalf("generating the corpus: %v\n%s", err, out)
		}
	}
	lines := countLines(b, corpus)
	parsed, err := exec.Command(binary, "parse", corpus).Output()
	if err != nil {
		b.Fatal(err)
	}
	want, records := parseChecksum(b, parsed)

	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			recv := forwardtest.Start(b, forwardtest.Options{})
			d := startJob(b, corpus, fmt.Sprintf(`  fluent: {enabled: true, address: %q}
  prometheus: {enabled: false}`, recv.Addr()), "")
			if !recv.WaitEntries(records, 5*time.Minute) {
				b.Fatalf("%d of %d records acknowledged", recv.Stats().Entries, records)
			}
			d.report(b, lines)
			if got := recordsChecksum(recv.Records()); got != want {
				b.Fatalf("the receiver's records differ from obsadapter parse (checksum %x, want %x)", got, want)
			}
			b.ReportMetric(float64(records), "records")
		}
	})
	// The forward job against a receiver that only counts and acks (see
	// forwardSink): what the adapter costs, the baseline of otlpe2e's
	// otlp-grpc-sink and otlp-http-sink.
	b.Run("forward-sink", func(b *testing.B) {
		for b.Loop() {
			recv := startForwardSink(b)
			d := startJob(b, corpus, fmt.Sprintf(`  fluent: {enabled: true, address: %q}
  prometheus: {enabled: false}`, recv.Addr()), "")
			if !recv.WaitEntries(int64(records), 5*time.Minute) {
				b.Fatalf("%d of %d records acknowledged", recv.Entries(), records)
			}
			d.report(b, lines)
			if got := recv.Entries(); got != int64(records) {
				b.Fatalf("the receiver counted %d records, obsadapter parse made %d", got, records)
			}
			b.ReportMetric(float64(records), "records")
		}
	})
	// The processors' cost (issue #17): the forward job on a copy of the
	// corpus where every 100th line holds a secret, without processors and
	// with the built-in redact and a filter that keeps every record.
	secrets := withSecrets(b, corpus)
	parsedSecrets, err := exec.Command(binary, "parse", secrets).Output()
	if err != nil {
		b.Fatal(err)
	}
	secretRecords := bytes.Count(parsedSecrets, []byte("\n"))
	const (
		fieldSecret = "tok_9f8e7d6c5b4a3921"
		textSecret  = "Tr0ub4dorXy99"
	)
	for _, job := range []struct{ name, sourceKeys string }{
		{"forward-secrets", ""},
		{"forward-redact", `    processors:
      - filter: {keep: {any: [{min_level: trace}, {not: {min_level: trace}}]}}
      - redact: {}`},
	} {
		b.Run(job.name, func(b *testing.B) {
			for b.Loop() {
				// The last run's receiver held every record: collect them
				// now, not while this run's adapter is measured.
				runtime.GC()
				recv := forwardtest.Start(b, forwardtest.Options{})
				d := startJob(b, secrets, fmt.Sprintf(`  fluent: {enabled: true, address: %q}
  prometheus: {enabled: false}`, recv.Addr()), job.sourceKeys)
				if !recv.WaitEntries(secretRecords, 5*time.Minute) {
					b.Fatalf("%d of %d records acknowledged", recv.Stats().Entries, secretRecords)
				}
				d.report(b, lines)
				if job.sourceKeys != "" {
					for _, r := range recv.Records() {
						if text := string(r.AppendJSON(nil)); strings.Contains(text, fieldSecret) || strings.Contains(text, textSecret) {
							b.Fatalf("a secret reached the receiver: %s", text)
						}
					}
				}
			}
		})
	}
	b.Run("raw-tail", func(b *testing.B) {
		for b.Loop() {
			d := startJob(b, corpus, `  prometheus: {enabled: true}`, `    format: plain
    multiline: "off"`)
			d.waitRecords(b, lines)
			d.report(b, lines)
		}
	})
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command(binary, "parse", corpus)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			// rusage's maxrss of a child started with vfork counts the
			// parent's memory before exec: sample VmHWM instead.
			var peak int64
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for {
					if v := procMemory(cmd.Process.Pid, "VmHWM:"); v > peak {
						peak = v
					}
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			err := cmd.Wait()
			close(stop)
			<-done
			if err != nil {
				b.Fatal(err)
			}
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
			b.ReportMetric(cpu, "cpu-s")
			b.ReportMetric(float64(lines)/cpu, "lines/cpu-s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MiB")
		}
	})
	b.Run("idle-files", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			for i := range 1000 {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("job-%04d.log", i)), []byte(fmt.Sprintf("2026-12-03T10:00:00Z INFO job %d done\n", i)), 0o644)
			}
			d := startJob(b, filepath.Join(dir, "*.log"), `  prometheus: {enabled: true}`, "")
			d.waitRecords(b, 1000)
			time.Sleep(5 * time.Second) // the reading is over: measure the idle minute
			before := cpuSeconds(d.pid)
			time.Sleep(60 * time.Second)
			b.ReportMetric(cpuSeconds(d.pid)-before, "idle-cpu-s/60s")
			b.ReportMetric(float64(procMemory(d.pid, "VmRSS:"))/(1<<20), "rss-MiB")
			d.stop()
		}
	})
}

type job struct {
	cmd  *exec.Cmd
	pid  int
	addr string
}

// startJob runs the binary on include with the given exporters (stdout off)
// and extra source keys.
func startJob(b *testing.B, include, exporters, sourceKeys string) *job {
	b.Helper()
	addr := freeAddr(b)
	cfg := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`sources:
  - name: bench
    type: file
    include: [%q]
    start_at: beginning
%s
exporters:
  stdout: {enabled: false}
%s
procinfo: {enabled: false}
http: {listen: %q}
`, include, sourceKeys, exporters, addr)), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "--config", cfg)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	d := &job{cmd: cmd, pid: cmd.Process.Pid, addr: addr}
	b.Cleanup(d.stop)
	return d
}

// waitRecords polls the adapter's own record counter until n records.
func (d *job) waitRecords(b *testing.B, n int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		resp, err := http.Get("http://" + d.addr + "/metrics")
		if err != nil {
			continue
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if sumSeries(body.String(), "obsadapter_records_total", `source="bench"`) >= float64(n) {
			return
		}
	}
	b.Fatalf("fewer than %d records after 5 minutes", n)
}

func (d *job) report(b *testing.B, lines int) {
	cpu := cpuSeconds(d.pid)
	b.ReportMetric(cpu, "cpu-s")
	b.ReportMetric(float64(lines)/cpu, "lines/cpu-s")
	b.ReportMetric(float64(procMemory(d.pid, "VmHWM:"))/(1<<20), "peak-rss-MiB")
	d.stop()
}

func (d *job) stop() {
	if d.cmd.ProcessState == nil {
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
	}
}

func countLines(b *testing.B, path string) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		n++
	}
	return n
}

// parseChecksum is recordsChecksum of `obsadapter parse` output.
func parseChecksum(b *testing.B, ndjson []byte) (uint64, int) {
	var recs []record.Record
	for _, line := range bytes.Split(bytes.TrimSpace(ndjson), []byte("\n")) {
		var r record.Record
		if err := json.Unmarshal(line, &r); err != nil {
			b.Fatalf("parse output: %v", err)
		}
		recs = append(recs, r)
	}
	return recordsChecksum(recs), len(recs)
}

// recordsChecksum sums a hash of each record's time, level, message and
// fields (order-independent; what a receiver keeps of a record).
func recordsChecksum(recs []record.Record) uint64 {
	var sum uint64
	for _, r := range recs {
		h := fnv.New64a()
		core := record.Record{Time: r.Time.UTC(), ObservedTime: time.Unix(0, 0).UTC(), Severity: r.Severity, Message: r.Message, Fields: r.Fields}
		h.Write(core.AppendJSON(nil))
		sum += h.Sum64()
	}
	return sum
}

// withSecrets copies the corpus with a secret in every 100th line: a token
// field in a JSON line, else a password pair at the end of the line. Only
// whole lines change, so the records are as many as in the corpus.
func withSecrets(b *testing.B, corpus string) string {
	b.Helper()
	in, err := os.Open(corpus)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(b.TempDir(), "secrets.log")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n%100 == 0 {
			if strings.HasPrefix(line, "{") && strings.HasSuffix(line, "}") {
				line = line[:len(line)-1] + `,"token":"tok_9f8e7d6c5b4a3921"}`
			} else {
				line += " password=Tr0ub4dorXy99"
			}
		}
		w.WriteString(line)
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}
