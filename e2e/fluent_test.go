package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/record"
)

// Sizes of the Fluentd outage test: CI delivers 50,000 records across a
// 20 s outage; OBSADAPTER_LONG=1 delivers 100,000 across a minute.
func fluentE2ESizes() (records int, outage time.Duration) {
	if os.Getenv("OBSADAPTER_LONG") == "1" {
		return 100_000, time.Minute
	}
	return 50_000, 20 * time.Second
}

// fluentRSSLimit bounds the adapter's peak resident memory; it follows from
// fluentE2EConfig. In memory are at most queue_batches (8) batches of
// batch_records (1024) records before the exporters and 8 more in each of
// the two exporters' queues: about 25,000 records, each well under 1 KiB in
// the Go heap, so at most ~25 MiB live, which GOGC=100 may double; the
// fluent exporter adds a few chunk buffers of batch.max_bytes (256 KiB) and
// reads the spool one frame at a time (the spool, max_bytes, is on disk);
// the runtime, binary and HTTP server take ~12 MiB. About 64 MiB in all.
// Measured: 20–25 MiB with the queues full.
const fluentRSSLimit = 64 << 20

// fluentSpoolBytes is buffer.max_bytes. At about 260 bytes per spooled
// record it holds some 8,000 records, so the spool fills a few seconds into
// the outage and the adapter is restarted while the sources are held back
// (backpressure), not only while the spool grows.
const fluentSpoolBytes = 2 << 20

func fluentE2EConfig(t *testing.T, stateDir, logGlob, receiver string) string {
	t.Helper()
	cfg := fmt.Sprintf(`state_dir: %q
checkpoint_interval: 500ms
sources:
  - name: e2e
    type: file
    include: [%q]
    start_at: beginning
    multiline: "off"
    poll_interval: 200ms
pipeline: {batch_records: 1024, queue_batches: 8}
exporters:
  stdout: {enabled: false}
  prometheus: {enabled: true}
  fluent:
    enabled: true
    address: %q
    tag: "e2e.{source}"
    send_timeout: 2s
    ack_timeout: 1s
    shutdown_timeout: 1s
    batch: {max_records: 1024, max_bytes: 262144}
    buffer: {type: file, max_bytes: %d}
    retry: {initial: 100ms, max: 1s}
procinfo: {enabled: false}
shutdown: {drain_timeout: 3s}
`, stateDir, logGlob, receiver, fluentSpoolBytes)
	path := filepath.Join(t.TempDir(), "fluent-e2e.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFluentEndToEnd runs the real binary with the disk spool against a
// forward receiver that is restarted twice, withholds acks for a while and
// is down for OUTAGE, during which obsadapter itself is stopped cleanly and
// started again; every numbered line must arrive at least once, and the
// adapter's memory must stay bounded while the receiver is away.
func TestFluentEndToEnd(t *testing.T) {
	total, outage := fluentE2ESizes()
	recv := forwardtest.Start(t, forwardtest.Options{})
	logDir, stateDir := t.TempDir(), t.TempDir()
	cfg := fluentE2EConfig(t, stateDir, filepath.Join(logDir, "*.log"), recv.Addr())

	// The writer paces the lines as if they spanned the outage plus 25 s, so
	// lines are written throughout the phases before and during the outage;
	// whatever is left is written as a burst when the outage ends.
	w := startPacedWriter(t, filepath.Join(logDir, "app.log"), total, float64(total)/(outage.Seconds()+25))
	tally := &seqTally{srv: recv, counts: map[int]int{}}

	d1 := startDaemon(t, nil, "--config", cfg)
	const step = 2000 // entries that show delivery is progressing
	progress := func(what string) {
		t.Helper()
		if n := recv.Stats().Entries + step; !recv.WaitEntries(n, 30*time.Second) {
			t.Fatalf("%s: receiver has %d entries, waited for %d", what, recv.Stats().Entries, n)
		}
	}

	// Where the writer was at each fault, to place lost or repeated numbers.
	var marks struct{ restart1, withholdFrom, withholdTo, restart2, adapterRestart int }
	progress("first delivery")
	marks.restart1 = w.written()
	if err := recv.Restart(); err != nil {
		t.Fatalf("receiver restart 1: %v", err)
	}
	progress("after receiver restart 1")

	// Withheld acks: the exporter must time out (ack_timeout 1s), drop the
	// connection and resend on a new one; the records arrive twice.
	conns := recv.Stats().Connections
	marks.withholdFrom = w.written()
	recv.WithholdAcks(true)
	time.Sleep(3500 * time.Millisecond) // the fault lasts a while; nothing waits on it
	recv.WithholdAcks(false)
	marks.withholdTo = w.written()
	if got := recv.Stats().Connections; got <= conns {
		t.Errorf("while acks were withheld the exporter opened no new connection (%d before, %d after): no ack timeout", conns, got)
	}
	progress("after withheld acks")

	marks.restart2 = w.written()
	if err := recv.Restart(); err != nil {
		t.Fatalf("receiver restart 2: %v", err)
	}
	progress("after receiver restart 2")

	// The outage. Halfway through, obsadapter is stopped cleanly and started
	// again on the same state_dir: the spool must carry what it holds.
	recv.Stop()
	writtenBefore := w.written()
	tally.update(t)
	maxBefore := tally.max // no number above it reached the receiver before the outage
	t.Logf("receiver down for %s; %d of %d lines written, %d entries received", outage, writtenBefore, total, recv.Stats().Entries)
	outageEnd := time.Now().Add(outage)
	time.Sleep(outage / 2) // the outage lasts; the writer keeps writing

	_, m1 := d1.get("/metrics")
	spooled1, _ := metricValue(m1, "obsadapter_fluent_spool_records")
	spoolBytes1, _ := metricValue(m1, "obsadapter_fluent_spool_bytes")
	t.Logf("halfway: spool %v records, %v bytes of %d", spooled1, spoolBytes1, fluentSpoolBytes)
	if spooled1 <= 0 {
		t.Errorf("halfway through the outage the spool holds %v records, want > 0", spooled1)
	}
	hwm1 := vmHWM(t, d1)
	marks.adapterRestart = w.written()
	// drain_timeout (3s) plus shutdown_timeout (1s) bound a clean stop; 20 s
	// is generous. If it hangs the test goes on after SIGKILL, so the
	// spool's recovery is still checked (then after a crash).
	stopStart := time.Now()
	code, cleanStop := stopWithin(d1, 20*time.Second)
	if !cleanStop {
		t.Errorf("SIGTERM during the outage (spool full, sources backpressured) did not stop obsadapter within 20s; killed it. stderr:\n%s", d1.stderrText())
	} else if code != 0 {
		cleanStop = false
		t.Errorf("obsadapter stopped during the outage exited %d, want 0\n%s", code, d1.stderrText())
	} else {
		t.Logf("adapter stopped cleanly in %s", time.Since(stopStart).Round(time.Millisecond))
	}

	d2 := startDaemon(t, nil, "--config", cfg)
	// Before the receiver is back, the new process must already hold the
	// records the first one left in the spool.
	var spooled2 float64
	waitFor(t, "the restarted adapter to report its recovered spool", func() bool {
		_, m := d2.get("/metrics")
		var ok bool
		spooled2, ok = metricValue(m, "obsadapter_fluent_spool_records")
		return ok && spooled2 > 0
	})
	if !strings.Contains(d2.stderrText(), "resending records left in the spool") {
		t.Errorf("the restarted adapter did not recover the spool; stderr:\n%s", d2.stderrText())
	}
	time.Sleep(time.Until(outageEnd))
	hwm2 := vmHWM(t, d2)
	_, m2 := d2.get("/metrics")
	if b, ok := metricValue(m2, "obsadapter_fluent_spool_bytes"); !ok || b > fluentSpoolBytes {
		t.Errorf("at the end of the outage the spool holds %v bytes (reported: %v), bound %d", b, ok, fluentSpoolBytes)
	} else {
		t.Logf("end of the outage: spool %v bytes of %d", b, fluentSpoolBytes)
	}
	writtenDuring := w.written() - writtenBefore
	if writtenDuring <= 0 {
		t.Errorf("no lines were written during the outage; the pacing is off")
	}
	t.Logf("outage over: %d lines written during it; spool held %v records before the restart, %v after it",
		writtenDuring, spooled1, spooled2)

	if err := recv.Restart(); err != nil {
		t.Fatalf("receiver comeback: %v", err)
	}
	w.finish()
	if err := w.wait(); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(60 * time.Second)
	for tally.update(t); len(tally.counts) < total; tally.update(t) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d of %d numbers arrived; missing %s", len(tally.counts), total, seqRanges(tally.counts, total, func(_, c int) bool { return c == 0 }))
		}
		select {
		case <-recv.Changed():
		case <-time.After(time.Second):
		}
	}
	for n := range tally.counts {
		if n < 1 || n > total {
			t.Errorf("received seq=%d, which was never written", n)
		}
	}
	if tally.foreign > 0 {
		t.Errorf("%d received entries carry no seq field", tally.foreign)
	}
	dupNumbers, dupExtra := 0, 0
	for _, c := range tally.counts {
		if c > 1 {
			dupNumbers++
			dupExtra += c - 1
		}
	}
	st := recv.Stats()
	for _, err := range st.Errors {
		t.Errorf("receiver: %v", err) // protocol errors, not resets
	}
	t.Logf("all %d numbers arrived; %d arrived more than once (%d extra deliveries, %.2f %%): %s; %d entries in %d messages, %d acks, %d connections",
		total, dupNumbers, dupExtra, 100*float64(dupExtra)/float64(total), seqRanges(tally.counts, total, func(_, c int) bool { return c > 1 }),
		st.Entries, st.Messages, st.Acks, st.Connections)
	t.Logf("phases by seq: receiver restart 1 at %d, acks withheld %d–%d, restart 2 at %d, outage from %d, adapter restarted at %d, outage over at %d",
		marks.restart1, marks.withholdFrom, marks.withholdTo, marks.restart2, writtenBefore, marks.adapterRestart, writtenBefore+writtenDuring)

	// The restarted adapter acknowledged records and emptied its spool.
	waitFor(t, "the spool to drain", func() bool {
		_, m2 = d2.get("/metrics")
		v, ok := metricValue(m2, "obsadapter_fluent_spool_records")
		return ok && v == 0
	})
	// Numbers above maxBefore reached the receiver only after the outage. A
	// clean stop and restart repeats none of them, so they may arrive twice
	// only if an ack was missed after the comeback (an ack timeout under
	// load, which the exporter counts).
	if ackErrors := sumSeries(m2, "obsadapter_fluent_connection_errors_total", `stage="ack"`); cleanStop && ackErrors == 0 {
		late := seqRanges(tally.counts, total, func(n, c int) bool { return n > maxBefore && c > 1 })
		if late != "" {
			t.Errorf("numbers first sent after the outage (above %d) arrived more than once, after a clean restart and with no missed ack: %s", maxBefore, late)
		}
	}
	if v, _ := metricValue(m2, `obsadapter_fluent_records_total{result="acked"}`); v <= 0 {
		t.Errorf(`obsadapter_fluent_records_total{result="acked"} = %v after the outage, want > 0`, v)
	}
	for _, gauge := range []string{"obsadapter_fluent_spool_bytes", "obsadapter_fluent_spool_segments", "obsadapter_fluent_last_success_timestamp_seconds"} {
		if _, ok := metricValue(m2, gauge); !ok {
			t.Errorf("/metrics has no %s", gauge)
		}
	}

	t.Logf("peak RSS (VmHWM): %.1f MiB before the adapter restart, %.1f MiB at the end of the outage; limit %d MiB",
		float64(hwm1)/(1<<20), float64(hwm2)/(1<<20), fluentRSSLimit>>20)
	for i, hwm := range []int64{hwm1, hwm2} {
		if hwm > fluentRSSLimit {
			t.Errorf("adapter %d: peak RSS %.1f MiB exceeds the %d MiB the config bounds it to", i+1, float64(hwm)/(1<<20), fluentRSSLimit>>20)
		}
	}
	if code, ok := stopWithin(d2, 20*time.Second); !ok || code != 0 {
		t.Errorf("final stop: exit code %d, exited in time %v; want 0, true", code, ok)
	}
}

// TestFluentRecordMap checks what an aggregator receives: the unified
// record as the map (source, format, level, message, path, fields with
// their types and nesting, kubernetes), in the documented key order, with
// the event time as nanosecond EventTime and the tag from the template.
func TestFluentRecordMap(t *testing.T) {
	recv := forwardtest.Start(t, forwardtest.Options{})
	logDir := t.TempDir()
	logPath := filepath.Join(logDir, "app.log")
	lines := []string{
		`{"time":"2026-11-23T20:31:02.123456789Z","level":"error","msg":"db down","user":"bob","http":{"status":500,"ok":false}}`,
		`time=2026-11-23T20:31:03Z level=warn msg="slow query" table=orders took=1.5s`,
		`10.0.0.1 - - [23/Nov/2026:20:31:04 +0000] "GET /missing HTTP/1.1" 404 153 "-" "curl/8.5.0"`,
		`just some text`,
	}
	if err := os.WriteFile(logPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`sources:
  - name: files
    type: file
    include: [%q]
    start_at: beginning
    multiline: "off"
exporters:
  stdout: {enabled: false}
  prometheus: {enabled: false}
  fluent:
    enabled: true
    address: %q
    tag: "e2e.{source}.{level}"
procinfo: {enabled: false}
kubernetes: {namespace: shop, pod: web-1, node: node-a}
`, filepath.Join(logDir, "*.log"), recv.Addr())
	cfgPath := filepath.Join(t.TempDir(), "record-map.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, nil, "--config", cfgPath)
	if !recv.WaitEntries(len(lines), 20*time.Second) {
		t.Fatalf("receiver got %d of %d entries", recv.Stats().Entries, len(lines))
	}
	if code, ok := stopWithin(d, 20*time.Second); !ok || code != 0 {
		t.Errorf("stop: exit code %d, exited in time %v; want 0, true", code, ok)
	}

	for _, err := range recv.Stats().Errors {
		t.Errorf("receiver: %v", err)
	}

	type want struct {
		tag, format, level, message string
		time                        time.Time // zero: the line has none
		fields                      map[string]record.Value
	}
	wants := map[string]want{ // by message
		"db down": {tag: "e2e.files.error", format: "json", level: "error", message: "db down",
			time: time.Date(2026, 11, 23, 20, 31, 2, 123456789, time.UTC),
			fields: map[string]record.Value{
				"user":        record.StringValue("bob"),
				"http.status": record.IntValue(500),
				"http.ok":     record.BoolValue(false),
			}},
		"slow query": {tag: "e2e.files.warn", format: "logfmt", level: "warn", message: "slow query",
			time: time.Date(2026, 11, 23, 20, 31, 3, 0, time.UTC),
			fields: map[string]record.Value{
				"table": record.StringValue("orders"),
				"took":  record.StringValue("1.5s"),
			}},
		"GET /missing HTTP/1.1": {tag: "e2e.files.unknown", format: "clf", message: "GET /missing HTTP/1.1",
			time: time.Date(2026, 11, 23, 20, 31, 4, 0, time.UTC),
			fields: map[string]record.Value{
				"remote_addr": record.StringValue("10.0.0.1"),
				"method":      record.StringValue("GET"),
				"path":        record.StringValue("/missing"),
				"status":      record.IntValue(404),
				"bytes":       record.IntValue(153),
				"user_agent":  record.StringValue("curl/8.5.0"),
			}},
		"just some text": {tag: "e2e.files.unknown", format: "plain", message: "just some text"},
	}
	keyOrder := []string{"time", "observed_time", "level", "severity", "message", "format", "source", "path", "stream", "kubernetes", "truncated", "fields"}

	seen := map[string]int{}
	for _, m := range recv.Messages() {
		if m.Mode != forwardtest.ModePackedForward || m.Chunk == nil {
			t.Errorf("message with tag %q: mode %s, chunk %q; want PackedForward asking for an ack", m.Tag, m.Mode, m.Chunk)
		}
		for _, e := range m.Entries {
			r, err := e.Record()
			if err != nil {
				t.Errorf("entry is not a unified record: %v", err)
				continue
			}
			w, ok := wants[r.Message]
			if !ok {
				t.Errorf("unexpected record %+v", r)
				continue
			}
			seen[r.Message]++
			t.Run(r.Message, func(t *testing.T) {
				if m.Tag != w.tag {
					t.Errorf("tag = %q, want %q", m.Tag, w.tag)
				}
				if r.Source != "files" || r.Path != logPath || r.Format != w.format || r.Level().String() != w.level {
					t.Errorf("source, path, format, level = %q, %q, %q, %q; want files, %q, %q, %q",
						r.Source, r.Path, r.Format, r.Level().String(), logPath, w.format, w.level)
				}
				if r.Kubernetes == nil || r.Kubernetes.Namespace != "shop" || r.Kubernetes.Pod != "web-1" || r.Kubernetes.Node != "node-a" {
					t.Errorf("kubernetes = %+v, want namespace shop, pod web-1, node node-a", r.Kubernetes)
				}
				if !r.Time.Equal(w.time) {
					t.Errorf("time = %v, want %v", r.Time, w.time)
				}
				// EventTime carries the event time to the nanosecond, or
				// the observed time for a line without one.
				wantET := w.time
				if wantET.IsZero() {
					wantET = r.ObservedTime
				}
				if e.IntegerTime || e.MetadataTime || !e.Time.Equal(wantET) {
					t.Errorf("entry time = %v (integer %v, metadata %v), want EventTime %v", e.Time, e.IntegerTime, e.MetadataTime, wantET)
				}
				if r.ObservedTime.IsZero() {
					t.Error("observed_time is missing")
				}
				for path, v := range w.fields {
					got, ok := r.Lookup(path)
					if !ok || got.Kind() != v.Kind() || !got.Equal(v) {
						t.Errorf("fields.%s = %v (kind %v, present %v), want %v (kind %v)", path, got, got.Kind(), ok, v, v.Kind())
					}
				}
				mv, err := e.Map()
				if err != nil {
					t.Fatal(err)
				}
				var keys []string
				for _, f := range mv.Object() {
					keys = append(keys, f.Key)
				}
				if !isSubsequence(keys, keyOrder) {
					t.Errorf("record map keys %v are not in the order %v", keys, keyOrder)
				}
				for _, k := range []string{"observed_time", "message", "format", "source", "path"} {
					if !slices.Contains(keys, k) {
						t.Errorf("record map has no %q: %v", k, keys)
					}
				}
				if slices.Contains(keys, "fields") != (len(w.fields) > 0) {
					t.Errorf("record map keys %v: want fields present exactly when the line carries some", keys)
				}
			})
		}
	}
	for msg := range wants {
		if seen[msg] != 1 {
			t.Errorf("record %q arrived %d times, want once (a clean run sends no duplicates)", msg, seen[msg])
		}
	}
}

func isSubsequence(keys, order []string) bool {
	i := 0
	for _, k := range keys {
		for i < len(order) && order[i] != k {
			i++
		}
		if i == len(order) {
			return false
		}
		i++
	}
	return true
}

// pacedWriter appends numbered logfmt lines to a file at a steady rate in
// its own goroutine, like an application that keeps logging whatever the
// aggregator does; finish makes it write the rest at once.
type pacedWriter struct {
	mu    sync.Mutex
	n     int // lines written
	burst chan struct{}
	once  sync.Once
	stop  chan struct{}
	done  chan error
}

func startPacedWriter(t *testing.T, path string, total int, perSecond float64) *pacedWriter {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := &pacedWriter{burst: make(chan struct{}), stop: make(chan struct{}), done: make(chan error, 1)}
	t.Cleanup(func() {
		close(w.stop)
		<-w.done
	})
	go func() {
		defer close(w.done)
		defer f.Close()
		bw := bufio.NewWriterSize(f, 64<<10)
		start, burst, all := time.Now(), w.burst, false
		tick := time.NewTicker(20 * time.Millisecond) // pacing the writer, not synchronising
		defer tick.Stop()
		for next := 1; next <= total; {
			select {
			case <-tick.C:
			case <-burst:
				burst, all = nil, true
			case <-w.stop:
				return
			}
			target := total
			if !all {
				target = min(total, int(perSecond*time.Since(start).Seconds()))
			}
			for ; next <= target; next++ {
				fmt.Fprintf(bw, "level=info msg=\"e2e delivery\" seq=%d pad=%s\n", next, strings.Repeat("x", next%64))
			}
			if err := bw.Flush(); err != nil {
				w.done <- err
				return
			}
			w.mu.Lock()
			w.n = next - 1
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *pacedWriter) written() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

func (w *pacedWriter) finish() { w.once.Do(func() { close(w.burst) }) }

func (w *pacedWriter) wait() error {
	err, ok := <-w.done
	if ok && err != nil {
		return fmt.Errorf("writing the log: %w", err)
	}
	return nil
}

// seqTally counts the seq numbers the receiver got, decoding only the
// messages that arrived since the last update.
type seqTally struct {
	srv     *forwardtest.Server
	seen    int
	counts  map[int]int
	max     int // the highest number received
	foreign int
}

func (s *seqTally) update(t *testing.T) {
	t.Helper()
	msgs := s.srv.Messages()
	for _, m := range msgs[s.seen:] {
		for _, e := range m.Entries {
			v, err := e.Map()
			if err != nil {
				t.Fatalf("undecodable entry: %v", err)
			}
			n, ok := seqOf(v)
			if !ok {
				s.foreign++
				continue
			}
			s.counts[n]++
			s.max = max(s.max, n)
		}
	}
	s.seen = len(msgs)
}

// seqOf finds fields.seq in a record map.
func seqOf(v record.Value) (int, bool) {
	for _, f := range v.Object() {
		if f.Key != "fields" {
			continue
		}
		for _, g := range f.Value.Object() {
			if g.Key == "seq" {
				n, err := strconv.Atoi(g.Value.Str())
				return n, err == nil
			}
		}
	}
	return 0, false
}

// seqRanges names the numbers in 1..total whose count matches, as ranges
// (the first 20), which tell in which phase they were lost or repeated.
func seqRanges(counts map[int]int, total int, match func(n, count int) bool) string {
	var ranges []string
	for i := 1; i <= total && len(ranges) < 20; i++ {
		if !match(i, counts[i]) {
			continue
		}
		j := i
		for j < total && match(j+1, counts[j+1]) {
			j++
		}
		ranges = append(ranges, fmt.Sprintf("%d-%d", i, j))
		i = j
	}
	return strings.Join(ranges, " ")
}

// vmHWM is the daemon's peak resident set size in bytes (VmHWM in
// /proc/PID/status): the maximum over its whole life so far.
func vmHWM(t *testing.T, d *daemon) int64 {
	t.Helper()
	v := procMemory(d.cmd.Process.Pid, "VmHWM:")
	if v == 0 {
		t.Fatal("no VmHWM in the adapter's /proc/PID/status")
	}
	return v
}

// procMemory is one memory line of /proc/PID/status (VmHWM:, VmRSS:) in
// bytes, or 0 when the process is gone.
func procMemory(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// stopWithin sends SIGTERM and returns the exit code; if the daemon has not
// exited within limit it is killed (as Kubernetes would after the grace
// period) and ok is false.
func stopWithin(d *daemon, limit time.Duration) (code int, ok bool) {
	codes := make(chan int, 1)
	go func() { codes <- d.stop() }()
	select {
	case c := <-codes:
		return c, true
	case <-time.After(limit):
		d.killed.Store(true)
		d.cmd.Process.Signal(syscall.SIGKILL)
		return <-codes, false
	}
}

// sumSeries adds the samples of metric whose labels contain labels.
func sumSeries(exposition, metric, labels string) float64 {
	var sum float64
	for _, line := range strings.Split(exposition, "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(series, metric+"{") || !strings.Contains(series, labels) {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(value)[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// metricValue finds one sample in Prometheus text exposition by its exact
// series text (name and labels as exposed, e.g. `x_total{result="acked"}`).
func metricValue(exposition, series string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		return v, err == nil
	}
	return 0, false
}
