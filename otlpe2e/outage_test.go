package otlpe2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeNumbered appends records [from, to) of source to path.
func writeNumbered(t *testing.T, path, source string, from, to int) {
	t.Helper()
	lines := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		lines = append(lines, numbered(source, i))
	}
	appendLines(t, path, lines...)
}

// checkDelivered checks that records [0, n) of source arrived, each once
// but those that mayRepeat allows to arrive twice.
func checkDelivered(t *testing.T, r *collectorReceiver, source string, n int, mayRepeat func(i int) bool) {
	t.Helper()
	count := map[string]int{}
	for _, g := range flatten(r.Accepted()) {
		count[g.rec.Body().AsString()]++
	}
	missing := 0
	for i := range n {
		body := fmt.Sprintf("%s record %d", source, i)
		switch c := count[body]; {
		case c == 0:
			missing++
		case c == 2 && mayRepeat(i):
		case c > 1:
			t.Errorf("%q arrived %d times", body, c)
		}
		delete(count, body)
	}
	if missing > 0 || len(count) > 0 {
		t.Errorf("%d of the %d records written are missing; %d records arrived that were not written", missing, n, len(count))
	}
}

func never(int) bool { return false }

// TestOTLPReceiverOutage stops the collector's receiver for 20 s while the
// app keeps writing, over gRPC and HTTP, with the memory buffer: the
// adapter retries, the checkpoint does not move past what the receiver
// accepted, and once the receiver is back every record arrives, once.
func TestOTLPReceiverOutage(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			r := startReceiver(t)
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeNumbered(t, log, "app", 0, 500)
			a := startAdapter(t, dir, fmt.Sprintf(`state_dir: %q
checkpoint_interval: 100ms
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, poll_interval: 100ms}
procinfo: {enabled: false}
`, filepath.Join(dir, "state"), log)+otlpSection(proto.name, proto.endpoint(r), ""))
			if !r.WaitRecords(500, time.Minute) {
				t.Fatalf("%d of 500 records before the outage", r.Records())
			}
			size := fileSize(t, log)
			waitFor(t, "the checkpoint to reach the end of the file", func() bool { return a.ackedOffsets()[log] == size })

			r.Stop()
			outage := time.Now()
			writeNumbered(t, log, "app", 500, 2000)
			waitFor(t, "the adapter to retry", func() bool { return a.metric(`obsadapter_otlp_requests_total{result="retryable"}`) > 0 })
			for time.Since(outage) < 20*time.Second {
				if acked := a.ackedOffsets()[log]; acked != size {
					t.Fatalf("the checkpoint moved to %d during the outage (it was %d, at the last accepted record)", acked, size)
				}
				time.Sleep(500 * time.Millisecond)
			}
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			if !r.WaitRecords(2000, time.Minute) {
				t.Fatalf("%d of 2000 records after the outage", r.Records())
			}
			end := fileSize(t, log)
			waitFor(t, "the checkpoint to reach the end of the file", func() bool { return a.ackedOffsets()[log] == end })
			a.stop()
			checkDelivered(t, r, "app", 2000, never)
		})
	}
}

// TestOTLPSpoolRestart stops the receiver, lets the adapter put what the
// app writes into its disk spool (buffer.type file), stops the adapter and
// starts it again on the same state_dir, then starts the receiver: every
// record arrives once.
// Records spooled are safe, so the checkpoint
// passes them during the outage and the restarted adapter sends them from
// the spool, not by reading the file again.
func TestOTLPSpoolRestart(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			r := startReceiver(t)
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			config := fmt.Sprintf(`state_dir: %q
checkpoint_interval: 100ms
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, poll_interval: 100ms}
procinfo: {enabled: false}
`, filepath.Join(dir, "state"), log) + otlpSection(proto.name, proto.endpoint(r), "    buffer: {type: file}\n    shutdown_timeout: 1s\n")
			writeNumbered(t, log, "app", 0, 300)
			a := startAdapter(t, dir, config)
			if !r.WaitRecords(300, time.Minute) {
				t.Fatalf("%d of 300 records before the outage", r.Records())
			}

			r.Stop()
			writeNumbered(t, log, "app", 300, 1500)
			size := fileSize(t, log)
			waitFor(t, "the checkpoint to pass the spooled records", func() bool { return a.ackedOffsets()[log] == size })
			if n := a.metric(`obsadapter_otlp_spool_records`); n != 1200 {
				t.Errorf("obsadapter_otlp_spool_records = %v during the outage, want 1200", n)
			}
			a.stop()
			if !containsLine(a.stderrText(), "records kept in the spool for the next start") {
				t.Error("the adapter did not say it kept records in the spool")
			}

			b := startAdapter(t, dir, config)
			waitFor(t, "the restarted adapter to retry the spool", func() bool {
				return b.metric(`obsadapter_otlp_requests_total{result="retryable"}`) > 0
			})
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			if !r.WaitRecords(1500, time.Minute) {
				t.Fatalf("%d of 1500 records after the restarts", r.Records())
			}
			waitFor(t, "the spool to empty", func() bool { return b.metric(`obsadapter_otlp_spool_records`) == 0 })
			b.stop()
			// The first 300 records share a spool segment with the spooled
			// ones; the clean stop marked them accepted, so the restart does
			// not send them again (docs/otlp.md, "Delivery").
			checkDelivered(t, r, "app", 1500, never)
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
