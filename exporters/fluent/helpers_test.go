package fluent

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/record"
)

// testConfig is a config with short timeouts and backoffs, so outage tests
// take milliseconds of real time instead of seconds.
func testConfig(addr string) Config {
	c := DefaultConfig()
	c.Enabled = true
	c.Address = addr
	c.SendTimeout = 2 * time.Second
	c.AckTimeout = 2 * time.Second
	c.ShutdownTimeout = 5 * time.Second
	c.Retry = RetryConfig{Initial: time.Millisecond, Max: 20 * time.Millisecond}
	return c
}

type testExporter struct {
	*Exporter
	reg *prometheus.Registry
}

func newTestExporter(t *testing.T, cfg Config, stateDir string) *testExporter {
	t.Helper()
	reg := prometheus.NewRegistry()
	e, err := New(cfg, Deps{Deps: exporters.Deps{Registerer: reg}, StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	te := &testExporter{Exporter: e, reg: reg}
	t.Cleanup(func() { e.Close(context.Background()) })
	return te
}

// mem and spool are the exporter's buffer, for tests that know its type.
func (te *testExporter) mem() *buffer.Memory  { return te.buf.(*buffer.Memory) }
func (te *testExporter) spool() *buffer.Spool { return te.buf.(*buffer.Spool) }

func (te *testExporter) count(result string) int {
	return int(testutil.ToFloat64(te.metrics.records.WithLabelValues(result)))
}

var baseTime = time.Date(2026, 11, 23, 20, 31, 2, 123456789, time.UTC)

// numbered makes records n..n+count-1 carrying their number in fields.seq.
func numbered(from, count int) record.Batch {
	b := make(record.Batch, count)
	for i := range b {
		n := from + i
		b[i] = record.Record{
			Time: baseTime.Add(time.Duration(n) * time.Millisecond), ObservedTime: baseTime.Add(time.Second),
			Severity: record.SeverityInfo, Message: "record " + strconv.Itoa(n), Format: "json", Source: "app",
			Path: "/var/log/app/app.log", Stream: "stdout",
			Fields: []record.Field{{Key: "seq", Value: record.IntValue(int64(n))}},
		}
	}
	return b
}

// seqs counts how often each sequence number arrived.
func seqs(t *testing.T, s *forwardtest.Server) map[int64]int {
	t.Helper()
	got := map[int64]int{}
	for _, r := range s.Records() {
		v, ok := r.Lookup("seq")
		if !ok {
			t.Fatalf("record without seq: %+v", r)
		}
		got[v.Int64()]++
	}
	return got
}

func requireAll(t *testing.T, s *forwardtest.Server, n int) {
	t.Helper()
	got := seqs(t, s)
	var missing []int
	for i := range n {
		if got[int64(i)] == 0 {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d records missing, first %v", len(missing), n, missing[:min(10, len(missing))])
	}
}

// exportAsync runs Export in a goroutine and returns its result channel.
func exportAsync(e *Exporter, b record.Batch) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- e.Export(context.Background(), b) }()
	return ch
}

func wait(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no result after 20s", what)
	}
}

// waitFor waits until cond holds, re-checking whenever changes fires.
func waitFor(t *testing.T, what string, changes func() <-chan struct{}, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		ch := changes()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
