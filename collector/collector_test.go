package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/obsadapter/obsadapter/record"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// syncBuffer collects the stdout exporter's NDJSON.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) messages(t *testing.T) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var r record.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad stdout line %q: %v", line, err)
		}
		out = append(out, r.Source+":"+r.Message)
	}
	return out
}

func count(msgs []string, want string) int {
	n := 0
	for _, m := range msgs {
		if m == want {
			n++
		}
	}
	return n
}

// runCollector runs a collector on the config file with stdout captured;
// stop ends it and returns Run's error.
func runCollector(t *testing.T, cfgPath string) (*Collector, *syncBuffer, func() error) {
	t.Helper()
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	c, err := New(cfg, Options{Stdout: out, ConfigPath: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return c, out, func() error { cancel(); return <-done }
}

const reloadBase = `
sources:
  - {name: a, type: file, include: [%q], start_at: beginning, multiline: "off"}
%s
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: false}
procinfo: {enabled: false}
http: {listen: "127.0.0.1:0"}
`

// TestReload: a good config swapped in starts new sources and keeps the
// unchanged one's position; bad configs are rejected with the reason and
// the running one goes on.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	aLog, bLog := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	cfgPath := filepath.Join(dir, "config.yaml")
	writeCfg := func(extra string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(reloadBase, aLog, extra)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("")
	appendLines(t, aLog, "a1")
	appendLines(t, bLog, "b1")
	c, out, stop := runCollector(t, cfgPath)
	waitUntil(t, "a1", func() bool { return count(out.messages(t), "a:a1") == 1 })

	// A new source: started, the unchanged one keeps its position.
	writeCfg(fmt.Sprintf(`  - {name: b, type: file, include: [%q], start_at: beginning, multiline: "off"}`, bLog))
	if err := c.Reload(); err != nil {
		t.Fatalf("good config rejected: %v", err)
	}
	appendLines(t, aLog, "a2")
	waitUntil(t, "b1 and a2", func() bool {
		m := out.messages(t)
		return count(m, "b:b1") == 1 && count(m, "a:a2") == 1
	})

	// Bad configs are rejected whole, with the reason; the running one goes on.
	for name, extra := range map[string]string{
		"unknown key":   "  - {name: c, type: file, include: [\"/x\"], bogus: 1}",
		"invalid value": "  - {name: c, type: file, include: [\"/x\"], start_at: middle}",
		"other section": "exporters2: {}",
	} {
		writeCfg(extra)
		if err := c.Reload(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	os.WriteFile(cfgPath, []byte(strings.Replace(fmt.Sprintf(reloadBase, aLog, ""), "127.0.0.1:0", "127.0.0.1:1", 1)), 0o644)
	if err := c.Reload(); err == nil || !strings.Contains(err.Error(), "http") {
		t.Errorf("a change of the http section was not rejected by name: %v", err)
	}

	// A changed source restarts from its acknowledged position: nothing twice.
	writeCfg(fmt.Sprintf(`  - {name: b, type: file, include: [%q], start_at: beginning, multiline: "off", format: plain}`, bLog))
	if err := c.Reload(); err != nil {
		t.Fatalf("changed source rejected: %v", err)
	}
	appendLines(t, aLog, "a3")
	appendLines(t, bLog, "b2")
	waitUntil(t, "a3 and b2", func() bool {
		m := out.messages(t)
		return count(m, "a:a3") == 1 && count(m, "b:b2") == 1
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	m := out.messages(t)
	for _, want := range []string{"a:a1", "a:a2", "a:a3", "b:b1", "b:b2"} {
		if n := count(m, want); n != 1 {
			t.Errorf("%s delivered %d times; all: %q", want, n, m)
		}
	}
}

// A checkpoint is written again only when an entry would change: thousands
// of idle files must not be re-encoded and fsynced every interval.
func TestCheckpointWrittenOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	aLog := filepath.Join(dir, "a.log")
	appendLines(t, aLog, "a1")
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(reloadBase, aLog, "")+"state_dir: "+filepath.Join(dir, "state")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, out, stop := runCollector(t, cfgPath)
	defer stop()
	writes := func() float64 { return testutil.ToFloat64(c.metrics.checkpointWrites.WithLabelValues("success")) }
	offset := func() int64 {
		entries, _, err := loadCheckpoints(filepath.Join(dir, "state"))
		if err != nil || len(entries) != 1 {
			return -1
		}
		return entries[0].Offset
	}
	waitUntil(t, "a1", func() bool { return count(out.messages(t), "a:a1") == 1 })
	waitUntil(t, "a1 checkpointed", func() bool {
		c.writeCheckpoints()
		return offset() == int64(len("a1\n"))
	})
	before := writes()
	c.writeCheckpoints()
	c.writeCheckpoints()
	if n := writes() - before; n != 0 {
		t.Fatalf("%v writes with nothing changed, want 0", n)
	}
	appendLines(t, aLog, "a2")
	waitUntil(t, "a2 checkpointed", func() bool {
		c.writeCheckpoints()
		return offset() == int64(len("a1\na2\n"))
	})
}
