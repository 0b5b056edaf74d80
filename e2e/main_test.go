// Package e2e tests the built obsadapter binary end to end: the CLI, the
// daemon over HTTP, Fluentd and Prometheus peers, rotation and crash stress.
// TestMain builds the binary once; the tests run it as a subprocess.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// binary is the real obsadapter, built once for the whole-binary tests.
var binary string

// root is the repository root, relative to e2e/. Commands whose output names
// the fixture files they were given (parse, the CLI errors) run there, with
// the same relative paths a user would type, so that output matches
// testdata/golden.
const root = ".."

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "obsadapter-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "obsadapter")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/obsadapter/obsadapter").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building obsadapter: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestParseGolden runs `obsadapter parse` over every sample with a pinned
// clock and TZ=UTC and compares the NDJSON with testdata/golden.
func TestParseGolden(t *testing.T) {
	samples, _ := filepath.Glob(filepath.Join(root, "testdata/samples/*.log"))
	if len(samples) == 0 {
		t.Fatal("no samples in testdata/samples")
	}
	for _, sample := range samples {
		name := strings.TrimSuffix(filepath.Base(sample), ".log")
		sample, _ := filepath.Rel(root, sample) // records carry the path as given
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(binary, "parse", "--now", "2026-11-23T21:00:00Z", sample)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "TZ=UTC")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("parse failed: %v\n%s", err, stderr.String())
			}
			for i, line := range bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")) {
				if len(line) > 0 && !json.Valid(line) {
					t.Fatalf("line %d is not valid JSON: %s", i+1, line)
				}
			}
			golden := filepath.Join(root, "testdata/golden", name+".ndjson")
			if *update {
				os.MkdirAll(filepath.Join(root, "testdata/golden"), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./e2e -run TestParseGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("parse output differs from %s (go test ./e2e -run TestParseGolden -update to accept):\n%s", golden, diffLines(string(want), string(got)))
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// daemon is a running `obsadapter run` whose stdout records are collected.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	recs   []record.Record
	stderr bytes.Buffer
	done   chan struct{}
	killed atomic.Bool // kill -9 may tear the line being written
}

func startDaemon(t *testing.T, stdin io.Reader, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, addr: freeAddr(t), done: make(chan struct{})}
	d.cmd = exec.Command(binary, append([]string{"run", "--listen", d.addr}, args...)...)
	d.cmd.Stdin = stdin
	d.cmd.Stderr = &syncWriter{w: &d.stderr, mu: &d.mu}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var torn string
		for sc.Scan() {
			if torn != "" {
				t.Errorf("stdout line is not a record: %s", torn)
			}
			torn = ""
			var r record.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				torn = sc.Text() // acceptable only as the last line of a killed daemon
				continue
			}
			d.mu.Lock()
			d.recs = append(d.recs, r)
			d.mu.Unlock()
		}
		if torn != "" && !d.killed.Load() {
			t.Errorf("stdout line is not a record: %s", torn)
		}
	}()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("obsadapter stderr:\n%s", d.stderrText())
		}
	})
	return d
}

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (d *daemon) stderrText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

func (d *daemon) messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, r := range d.recs {
		out = append(out, r.Message)
	}
	return out
}

// waitFor polls until cond holds; end-to-end tests wait on a real process.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *daemon) get(path string) (int, string) {
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// kill ends the daemon with SIGKILL, as a crash would.
func (d *daemon) kill() {
	d.killed.Store(true)
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	d.cmd.Wait()
}

func (d *daemon) stop() int {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	<-d.done
	d.cmd.Wait()
	return d.cmd.ProcessState.ExitCode()
}

func countContains(msgs []string, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func TestRunTailsFilesAndServesMetrics(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	os.WriteFile(log, []byte("level=info msg=\"existing 1\"\nlevel=warn msg=\"existing 2\"\n"), 0o644)
	d := startDaemon(t, nil, "--include", filepath.Join(dir, "*.log"), "--start-at", "beginning")
	waitFor(t, "existing lines", func() bool { return countContains(d.messages(), "existing") == 2 })

	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(f, "{\"level\":\"error\",\"msg\":\"appended %d\"}\n", i)
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "later.log"), []byte("a file that appeared later\n"), 0o644)
	waitFor(t, "appended lines", func() bool { return countContains(d.messages(), "appended") == 100 })
	waitFor(t, "the later file", func() bool { return countContains(d.messages(), "a file that appeared later") == 1 })

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := d.get(path); code != 200 {
			t.Errorf("%s = %d %s", path, code, body)
		}
	}
	_, metrics := d.get("/metrics")
	for _, want := range []string{
		`obsadapter_records_total{format="json",level="error",source="app"} 100`,
		`obsadapter_records_total{format="logfmt",level="warn",source="app"} 1`,
		`obsadapter_bytes_read_total{source="app"}`,
		`obsadapter_build_info{`,
	} {
		waitFor(t, want, func() bool { _, metrics = d.get("/metrics"); return strings.Contains(metrics, want) })
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metrics)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed (Debian package prometheus): skipping promtool check metrics; CI installs it")
	}
	if code, body := d.get("/api/v1/processes?limit=1"); code != 200 || !strings.Contains(body, `"processes"`) {
		t.Errorf("/api/v1/processes = %d %s", code, body)
	}
	_, sources := d.get("/api/v1/sources")
	var api struct {
		Sources []struct {
			Name    string
			Formats map[string]float64 `json:"formats"`
			Files   []struct {
				Path        string `json:"path"`
				ReadOffset  int64  `json:"read_offset"`
				AckedOffset int64  `json:"acked_offset"`
			}
		}
	}
	if err := json.Unmarshal([]byte(sources), &api); err != nil || len(api.Sources) == 0 || len(api.Sources[0].Files) != 2 {
		t.Fatalf("/api/v1/sources = %s (%v)", sources, err)
	}
	if f := api.Sources[0].Formats; f["json"] < 0.9 || f["logfmt"] <= 0 {
		t.Errorf("format shares = %v, want mostly json (100 of 103 records) and some logfmt", f)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("SIGTERM exit code = %d, want 0", code)
	}
	if n := countContains(d.messages(), "appended"); n != 100 {
		t.Fatalf("after shutdown %d of 100 appended lines were delivered", n)
	}
}

func TestRunStdinExitsAtEOF(t *testing.T) {
	var in strings.Builder
	for i := 1; i <= 1000; i++ {
		fmt.Fprintf(&in, "plain line %d\n", i)
	}
	in.WriteString("\tat a continuation without a header\nlast line without newline")
	d := startDaemon(t, strings.NewReader(in.String()), "--include", filepath.Join(t.TempDir(), "*.log"))
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("obsadapter did not exit after stdin ended")
	}
	d.cmd.Wait()
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	msgs := d.messages()
	if n := countContains(msgs, "plain line"); n != 1000 {
		t.Fatalf("%d of 1000 stdin lines delivered", n)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "last line without newline") {
		t.Fatal("the unterminated last line was lost")
	}
}

func TestCLIErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"parse missing file", []string{"parse", "/nonexistent/x.log"}, 1, "no such file"},
		{"parse unreadable input", []string{"parse", "testdata"}, 1, "is a directory"},
		{"parse unknown format", []string{"parse", "--format", "nosuch", "testdata/samples/empty.log"}, 2, "format"},
		{"run invalid config", []string{"run", "--config", "testdata/config/unknown-key.bad.yaml"}, 1, "strat_at"},
		{"run missing config", []string{"run", "--config", "/nonexistent.yaml"}, 1, "no such file"},
		{"check-config bad", []string{"check-config", "--config", "testdata/config/bad-listen.bad.yaml"}, 1, "http.listen"},
		{"check-config good", []string{"check-config", "--config", "testdata/config/minimal.good.yaml"}, 0, ""},
		{"tap unreachable", []string{"tap", "--addr", "127.0.0.1:1"}, 1, "cannot reach the adapter at 127.0.0.1:1"},
		{"tap too long", []string{"tap", "--duration", "11m"}, 1, "a tap lasts at most 10m0s"},
		{"tap help", []string{"tap", "--help"}, 0, "Usage: obsadapter tap"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"version", []string{"version"}, 0, ""},
		{"run help", []string{"run", "--help"}, 0, "Usage: obsadapter run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, tt.args...)
			cmd.Dir = root
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("stderr does not mention %q:\n%s", tt.wantErr, stderr.String())
			}
		})
	}
}

// TestRunGracePeriod: after SIGTERM the adapter keeps reading for
// shutdown.grace_period, so an app's last lines written while the pod stops
// are still delivered, then exits 0.
func TestRunGracePeriod(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	os.WriteFile(log, []byte("before stop\n"), 0o644)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`sources:
  - {name: app, type: file, include: [%q], start_at: beginning}
exporters:
  stdout: {enabled: true}
shutdown: {grace_period: 3s, drain_timeout: 5s}
`, log)), 0o644)
	d := startDaemon(t, nil, "--config", cfg)
	waitFor(t, "the first line", func() bool { return countContains(d.messages(), "before stop") == 1 })
	d.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "readiness to drop", func() bool { code, _ := d.get("/readyz"); return code == 503 })
	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("written during the grace period\n")
	f.Close()
	<-d.done
	d.cmd.Wait()
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if countContains(d.messages(), "written during the grace period") != 1 {
		t.Fatal("a line written during the grace period was lost")
	}
}

// `parse --explain` prints the learned header layout of each file on
// stderr, leaving the NDJSON on stdout untouched.
func TestParseExplain(t *testing.T) {
	cmd := exec.Command(binary, "parse", "--explain", "--now", "2026-12-03T12:00:00Z", "parsers/testdata/layouts/hdfs.log", "testdata/samples/app-json.log")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	want := "parsers/testdata/layouts/hdfs.log: time:yyMMdd HHmmss pid level logger: message (fits 100.0% of 25 lines)\n" +
		"testdata/samples/app-json.log: no header layout learned\n"
	if stderr.String() != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
	if !bytes.Contains(out, []byte(`"format":"learned"`)) || bytes.Contains(out, []byte("time:yyMMdd")) {
		t.Fatalf("stdout is not the records alone:\n%s", out)
	}
}
