package otlpe2e

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/obsadapter/obsadapter/record"
)

// BenchmarkSidecar is the forward job of issue #16's table (e2e's
// BenchmarkSidecar/forward) with the OTLP exporter in place of fluent, over
// gRPC and over HTTP: the binary with its defaults reads the corpus from its
// beginning (detection, parsing, multiline) and delivers every record to the
// OpenTelemetry Collector's own OTLP receiver, each request accepted. It
// reports the adapter's CPU-seconds (user+system), lines per CPU-second and
// peak RSS (VmHWM), and checks that a checksum of (time, severity, message,
// fields) of what the receiver got equals that of `obsadapter parse` of the
// same corpus. The otlp-grpc-sink and otlp-http-sink jobs send to a
// receiver that only counts and acknowledges, the counterpart of e2e's
// forward-sink.
//
// The corpus is OBSADAPTER_CORPUS (made with ../shared/bench/gen_corpus.py
// --lines 1000000 --seed 1 --format mixed when unset). bench/e2e.sh runs it
// next to e2e's jobs.
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

	for _, proto := range protocols {
		b.Run("otlp-"+strings.TrimSuffix(proto.name, "/protobuf"), func(b *testing.B) {
			for b.Loop() {
				var sum uint64
				r := startReceiverWith(b, func(ld plog.Logs) { sum += logsChecksum(ld) })
				j := startJob(b, corpus, fmt.Sprintf(`  otlp: {enabled: true, protocol: %s, endpoint: %q}
  prometheus: {enabled: false}`, proto.name, proto.endpoint(r)))
				if !r.WaitRecords(records, 5*time.Minute) {
					b.Fatalf("%d of %d records accepted", r.Records(), records)
				}
				j.report(b, lines)
				r.Stop()
				if got := r.Records(); got != records {
					b.Fatalf("the receiver accepted %d records, obsadapter parse made %d", got, records)
				}
				r.mu.Lock()
				got := sum
				r.mu.Unlock()
				if got != want {
					b.Fatalf("the receiver's records differ from obsadapter parse (checksum %x, want %x)", got, want)
				}
				b.ReportMetric(float64(records), "records")
			}
		})
	}
	// Against a receiver that only counts and acknowledges (see sink), next
	// to e2e's forward-sink: what the exporter costs the adapter.
	for _, proto := range []string{"grpc", "http/protobuf"} {
		b.Run("otlp-"+strings.TrimSuffix(proto, "/protobuf")+"-sink", func(b *testing.B) {
			for b.Loop() {
				s := startSink(b)
				j := startJob(b, corpus, fmt.Sprintf(`  otlp: {enabled: true, protocol: %s, endpoint: %q}
  prometheus: {enabled: false}`, proto, s.endpoint(proto)))
				if !s.WaitRecords(int64(records), 5*time.Minute) {
					b.Fatalf("%d of %d records accepted", s.records.Load(), records)
				}
				j.report(b, lines)
				if got := s.records.Load(); got != int64(records) {
					b.Fatalf("the sink counted %d records, obsadapter parse made %d", got, records)
				}
				b.ReportMetric(float64(records), "records")
			}
		})
	}
}

// job is a running adapter of the benchmark.
type job struct {
	cmd  *exec.Cmd
	pid  int
	addr string
}

// startJob runs the binary on the corpus with the given exporters (stdout
// off), as e2e's BenchmarkSidecar does.
func startJob(b *testing.B, include, exporters string) *job {
	b.Helper()
	addr := freeAddr(b)
	cfg := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`sources:
  - name: bench
    type: file
    include: [%q]
    start_at: beginning
exporters:
  stdout: {enabled: false}
%s
procinfo: {enabled: false}
http: {listen: %q}
`, include, exporters, addr)), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "--config", cfg)
	cmd.Env = cleanEnv()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	j := &job{cmd: cmd, pid: cmd.Process.Pid, addr: addr}
	b.Cleanup(j.stop)
	return j
}

func (j *job) report(b *testing.B, lines int) {
	cpu := cpuSeconds(j.pid)
	b.ReportMetric(cpu, "cpu-s")
	b.ReportMetric(float64(lines)/cpu, "lines/cpu-s")
	b.ReportMetric(float64(procMemory(j.pid, "VmHWM:"))/(1<<20), "peak-rss-MiB")
	j.stop()
}

func (j *job) stop() {
	if j.cmd.ProcessState == nil {
		j.cmd.Process.Signal(syscall.SIGTERM)
		j.cmd.Wait()
	}
}

// cpuSeconds is a process's user+system CPU time so far.
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

// procMemory is a /proc/PID/status line (VmHWM:, VmRSS:) in bytes.
func procMemory(pid int, key string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
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

// parseChecksum is the checksum of `obsadapter parse` output, and its
// record count.
func parseChecksum(b *testing.B, ndjson []byte) (uint64, int) {
	var sum uint64
	n := 0
	for _, line := range bytes.Split(bytes.TrimSpace(ndjson), []byte("\n")) {
		var r record.Record
		if err := json.Unmarshal(line, &r); err != nil {
			b.Fatalf("parse output: %v", err)
		}
		sum += recordChecksum(r.Time, r.Severity, r.Message, r.Fields)
		n++
	}
	return sum, n
}

// logsChecksum sums recordChecksum over the log records of a request, each
// turned back into what the adapter's record was: the trace context becomes
// the trace_id and span_id fields again, the attributes the exporter adds
// itself are left out.
func logsChecksum(ld plog.Logs) uint64 {
	var sum uint64
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				var fields []record.Field
				lr.Attributes().Range(func(k string, v pcommon.Value) bool {
					switch k {
					case "log.file.path", "log.iostream", "obsadapter.format", "obsadapter.truncated":
					default:
						fields = append(fields, record.Field{Key: k, Value: fromOTLP(v)})
					}
					return true
				})
				if id := lr.TraceID(); !id.IsEmpty() {
					fields = append(fields, record.Field{Key: "trace_id", Value: record.StringValue(hex.EncodeToString(id[:]))})
				}
				if id := lr.SpanID(); !id.IsEmpty() {
					fields = append(fields, record.Field{Key: "span_id", Value: record.StringValue(hex.EncodeToString(id[:]))})
				}
				var t time.Time
				if ts := lr.Timestamp(); ts != 0 {
					t = ts.AsTime()
				}
				sum += recordChecksum(t, record.Severity(lr.SeverityNumber()), lr.Body().Str(), fields)
			}
		}
	}
	return sum
}

func fromOTLP(v pcommon.Value) record.Value {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return record.StringValue(v.Str())
	case pcommon.ValueTypeInt:
		return record.IntValue(v.Int())
	case pcommon.ValueTypeDouble:
		return record.FloatValue(v.Double())
	case pcommon.ValueTypeBool:
		return record.BoolValue(v.Bool())
	case pcommon.ValueTypeMap:
		var fields []record.Field
		v.Map().Range(func(k string, v pcommon.Value) bool {
			fields = append(fields, record.Field{Key: k, Value: fromOTLP(v)})
			return true
		})
		return record.ObjectValue(fields)
	case pcommon.ValueTypeSlice:
		items := make([]record.Value, v.Slice().Len())
		for i := range items {
			items[i] = fromOTLP(v.Slice().At(i))
		}
		return record.ArrayValue(items)
	}
	return record.NullValue()
}

// recordChecksum hashes a record's time, severity, message and fields (the
// top-level fields in key order: the exporter moves trace_id and span_id out
// of them), as the record's JSON form writes them.
func recordChecksum(t time.Time, sev record.Severity, msg string, fields []record.Field) uint64 {
	fields = slices.Clone(fields)
	slices.SortStableFunc(fields, func(a, b record.Field) int { return strings.Compare(a.Key, b.Key) })
	core := record.Record{Time: t.UTC(), ObservedTime: time.Unix(0, 0).UTC(), Severity: sev, Message: msg, Fields: fields}
	h := fnv.New64a()
	h.Write(core.AppendJSON(nil))
	return h.Sum64()
}
