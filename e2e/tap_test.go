package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
	"golang.org/x/crypto/bcrypt"
)

// tapRun is an `obsadapter tap` subprocess.
type tapRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

func startTap(t *testing.T, args ...string) *tapRun {
	t.Helper()
	r := &tapRun{cmd: exec.Command(binary, append([]string{"tap"}, args...)...), done: make(chan struct{})}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait returns the exit code, failing the test if the tap does not end.
func (r *tapRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("obsadapter tap did not exit; stderr:\n%s", r.stderr.String())
	}
	return r.cmd.ProcessState.ExitCode()
}

// metric reads one unlabelled sample from the daemon's /metrics.
func (d *daemon) metric(name string) float64 {
	_, body := d.get("/metrics")
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestTapCommand: `obsadapter tap` attached to a running adapter prints the
// records that flow from then on, filtered by source and level, as NDJSON,
// and exits 0 after --limit records; a tap of the processed stage sees the
// same records while there are no processors.
func TestTapCommand(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	os.WriteFile(log, []byte("level=error msg=\"before the tap\"\n"), 0o644)
	d := startDaemon(t, nil, "--include", filepath.Join(dir, "*.log"), "--start-at", "beginning")
	waitFor(t, "the first line", func() bool { return countContains(d.messages(), "before the tap") == 1 })

	addr := "http://" + d.addr
	parsed := startTap(t, "--addr", addr, "--limit", "5", "--source", "app", "--level", "warn")
	processed := startTap(t, "--addr", d.addr, "--limit", "5", "--after-processors", "--level", "error")
	waitFor(t, "two taps", func() bool { return d.metric("obsadapter_tap_subscribers") == 2 })

	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(f, "{\"level\":\"info\",\"msg\":\"info %d\"}\n{\"level\":\"error\",\"msg\":\"error %d\"}\n", i, i)
	}
	f.Close()
	for _, tt := range []struct {
		name string
		tap  *tapRun
	}{{"parsed", parsed}, {"processed", processed}} {
		if code := tt.tap.wait(t); code != 0 {
			t.Fatalf("%s tap exit code %d; stderr:\n%s", tt.name, code, tt.tap.stderr.String())
		}
		lines := strings.Split(strings.TrimSuffix(tt.tap.stdout.String(), "\n"), "\n")
		var msgs []string
		for _, l := range lines {
			var r record.Record
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%s tap printed a line that is not a record: %q", tt.name, l)
			}
			if r.Source != "app" || r.Level() != record.LevelError {
				t.Errorf("%s tap printed %s", tt.name, l)
			}
			msgs = append(msgs, r.Message)
		}
		if got := strings.Join(msgs, ","); got != "error 1,error 2,error 3,error 4,error 5" {
			t.Errorf("%s tap printed %q", tt.name, got)
		}
	}
	waitFor(t, "the taps to close", func() bool { return d.metric("obsadapter_tap_subscribers") == 0 })
	if n := d.metric("obsadapter_tap_records_sent_total"); n != 10 {
		t.Errorf("obsadapter_tap_records_sent_total = %v, want 10", n)
	}
	waitFor(t, "every line on stdout", func() bool { return countContains(d.messages(), "info ")+countContains(d.messages(), "error ") == 20 })
	if code := d.stop(); code != 0 {
		t.Fatalf("adapter exit code %d", code)
	}
}

// TestTapEndsAtShutdown: a tap open when the adapter stops is ended with a
// reason instead of holding the HTTP server's shutdown for its duration.
func TestTapEndsAtShutdown(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, nil, "--include", filepath.Join(dir, "*.log"))
	waitFor(t, "the adapter", func() bool { code, _ := d.get("/readyz"); return code == 200 })
	tap := startTap(t, "--addr", d.addr, "--duration", "10m")
	waitFor(t, "the tap", func() bool { return d.metric("obsadapter_tap_subscribers") == 1 })
	start := time.Now()
	if code := d.stop(); code != 0 {
		t.Fatalf("adapter exit code %d", code)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the adapter took %s to stop with a tap open", took)
	}
	if code := tap.wait(t); code != 1 || !strings.Contains(tap.stderr.String(), "the adapter is shutting down") {
		t.Fatalf("tap exit code %d, stderr:\n%s", code, tap.stderr.String())
	}
}

// TestTapStalledClientDoesNotSlowThePipeline: a tap client that never reads
// its stream costs the pipeline nothing: every line is exported while the
// stalled tap is still open (had offers waited for it, nothing would pass
// until its write deadline ended it), and what it missed is counted.
func TestTapStalledClientDoesNotSlowThePipeline(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	os.WriteFile(log, nil, 0o644)
	cfg := filepath.Join(dir, "config.yaml")
	// Exported to the log-derived metrics only, so the test's own reading
	// of stdout does not pace the pipeline.
	os.WriteFile(cfg, []byte(fmt.Sprintf(`sources:
  - {name: app, type: file, include: [%q], start_at: beginning}
exporters:
  stdout: {enabled: false}
`, log)), 0o644)
	d := startDaemon(t, nil, "--config", cfg)
	waitFor(t, "the adapter", func() bool { code, _ := d.get("/readyz"); return code == 200 })
	conn, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /api/v1/tap?duration=10m HTTP/1.1\r\nHost: %s\r\n\r\n", d.addr) // and never read
	waitFor(t, "the tap", func() bool { return d.metric("obsadapter_tap_subscribers") == 1 })

	const lines = 50_000 // about 12 MB of records: beyond the socket buffers and the tap's queue
	var b strings.Builder
	pad := strings.Repeat("p", 150)
	for i := range lines {
		fmt.Fprintf(&b, "{\"level\":\"info\",\"msg\":\"line %d\",\"pad\":%q}\n", i, pad)
	}
	os.WriteFile(log, []byte(b.String()), 0o644)
	want := fmt.Sprintf(`obsadapter_records_total{format="json",level="info",source="app"} %d`, lines)
	waitFor(t, "every line exported", func() bool { _, m := d.get("/metrics"); return strings.Contains(m, want) })
	if n := d.metric("obsadapter_tap_subscribers"); n != 1 {
		t.Errorf("obsadapter_tap_subscribers = %v once every line was exported, want the stalled tap still open", n)
	}
	if n := d.metric("obsadapter_tap_records_dropped_total"); n <= 0 {
		t.Errorf("obsadapter_tap_records_dropped_total = %v, want the records the stalled tap missed", n)
	}
	// Nor does it hold the stop for its 10 s write deadline.
	start := time.Now()
	if code := d.stop(); code != 0 {
		t.Fatalf("adapter exit code %d", code)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the adapter took %s to stop with a stalled tap open", took)
	}
}

// TestTapAgainstAProtectedAdapter: with TLS and basic auth from a web
// config, the tap needs --ca-file and credentials, and says why when it is
// refused.
func TestTapAgainstAProtectedAdapter(t *testing.T) {
	dir := t.TempDir()
	d, certFile := startProtectedDaemon(t, dir)
	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	base := "https://" + d.addr
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"with the CA and credentials", []string{"--ca-file", certFile, "--username", "prometheus", "--password-file", pw}, 0, ""},
		{"without credentials", []string{"--ca-file", certFile}, 1, "401 Unauthorized"},
		{"without the CA", []string{"--username", "prometheus", "--password-file", pw}, 1, "certificate"},
		{"skipping verification", []string{"--insecure-skip-verify", "--username", "prometheus", "--password-file", pw}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, append([]string{"tap", "--addr", base, "--duration", "300ms"}, tt.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit code %d, want %d; stderr (want %q):\n%s", code, tt.wantCode, tt.wantErr, stderr.String())
			}
		})
	}
}

// startProtectedDaemon runs the adapter behind TLS and basic auth (user
// prometheus, password s3cret) and returns it with its certificate file.
func startProtectedDaemon(t *testing.T, dir string) (*daemon, string) {
	t.Helper()
	certFile, keyFile, client := selfSignedCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	os.WriteFile(webCfg, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)), 0o600)
	cfgPath := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`sources:
  - {name: app, type: file, include: [%q]}
exporters:
  stdout: {enabled: true}
http: {web_config_file: %q}
`, filepath.Join(dir, "*.log"), webCfg)), 0o644)
	d := startDaemon(t, nil, "--config", cfgPath)
	waitFor(t, "the TLS listener", func() bool {
		req, _ := http.NewRequest("GET", "https://"+d.addr+"/readyz", nil)
		req.SetBasicAuth("prometheus", "s3cret")
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return d, certFile
}
