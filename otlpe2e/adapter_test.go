package otlpe2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// adapter is a running `obsadapter run --config FILE`.
type adapter struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string // http.listen
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// podEnv is the downward-API environment of the adapter in the tests: the
// pod the resource attributes name.
var podEnv = []string{
	"POD_NAMESPACE=shop", "POD_NAME=checkout-7d9f", "POD_UID=5f0c8a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f",
	"NODE_NAME=node-1", "POD_APP_NAME=checkout", "OBSADAPTER_CONTAINER=obsadapter",
}

// startAdapter writes config (which must not set http.listen) to a file in
// dir and runs the binary on it with podEnv; t's cleanup kills it if it is
// still running.
func startAdapter(t testing.TB, dir, config string, env ...string) *adapter {
	t.Helper()
	a := &adapter{t: t, addr: freeAddr(t), done: make(chan struct{})}
	path := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", time.Now().UnixNano()))
	config += fmt.Sprintf("http: {listen: %q}\n", a.addr)
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(binary, "run", "--config", path)
	a.cmd.Env = append(append(cleanEnv(), podEnv...), env...)
	a.cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.stderr.Write(p)
	})
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("obsadapter stderr:\n%s", a.stderrText())
		}
	})
	waitFor(t, "the adapter to be ready", func() bool { code, _ := a.get("/readyz"); return code == 200 })
	return a
}

// cleanEnv is the test's environment without OTEL_* variables, which would
// configure the exporter behind the test's back.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "POD_") {
			env = append(env, kv)
		}
	}
	return env
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (a *adapter) stderrText() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

// stop sends SIGTERM and waits; the exit code must be 0.
func (a *adapter) stop() {
	a.t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(60 * time.Second):
		a.t.Fatal("the adapter did not stop within 60 s of SIGTERM")
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 0 {
		a.t.Fatalf("the adapter exited with %d", code)
	}
}

func (a *adapter) get(path string) (int, string) {
	resp, err := http.Get("http://" + a.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metric is the value of one series of /metrics, given as it is exposed
// (`name{label="value"}`, labels in the exposition's order), or -1 when the
// series is absent.
func (a *adapter) metric(series string) float64 {
	_, body := a.get("/metrics")
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// ackedOffsets is each file's acknowledged offset, from /api/v1/sources.
func (a *adapter) ackedOffsets() map[string]int64 {
	a.t.Helper()
	_, body := a.get("/api/v1/sources")
	var api struct {
		Sources []struct {
			Files []struct {
				Path        string `json:"path"`
				ReadOffset  int64  `json:"read_offset"`
				AckedOffset int64  `json:"acked_offset"`
			} `json:"files"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(body), &api); err != nil {
		a.t.Fatalf("/api/v1/sources: %v: %s", err, body)
	}
	out := map[string]int64{}
	for _, s := range api.Sources {
		for _, f := range s.Files {
			out[f.Path] = f.AckedOffset
		}
	}
	return out
}

// waitFor polls until cond holds; these tests wait on real processes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// appendLines appends lines to the file, creating it.
func appendLines(t testing.TB, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// containsLine reports whether a line of the adapter's log contains s.
func containsLine(log, s string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
