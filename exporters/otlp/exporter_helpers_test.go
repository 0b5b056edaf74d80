package otlp

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/record"
)

// testConfig is a config with short timeouts and backoffs, so outage tests
// take milliseconds of real time instead of seconds.
func testConfig(endpoint, protocol string) Config {
	c := DefaultConfig()
	c.Enabled = true
	c.Endpoint = endpoint
	c.Protocol = protocol
	c.Timeout = 2 * time.Second
	c.ShutdownTimeout = 5 * time.Second
	c.Retry = RetryConfig{Initial: time.Millisecond, Max: 20 * time.Millisecond}
	return c
}

type testExporter struct {
	*Exporter
	reg *prometheus.Registry
}

func newTestExporter(t *testing.T, cfg Config, deps Deps) *testExporter {
	t.Helper()
	reg := prometheus.NewRegistry()
	deps.Deps.Registerer = reg
	e, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return &testExporter{Exporter: e, reg: reg}
}

func (te *testExporter) count(result string) int {
	return int(testutil.ToFloat64(te.metrics.records.WithLabelValues(result)))
}

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

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
