// Package promtest runs a real Prometheus server (the `prometheus` binary on
// PATH, as CI installs it from Debian's package) for end-to-end tests: it
// scrapes one target on loopback every second and answers PromQL through its
// HTTP API, the way a user's Prometheus would.
package promtest

import (
	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/internal/testpeer"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Job is the job label of the scraped target.
const Job = "obsadapter"

// Server is a running Prometheus.
type Server struct {
	// URL is the base of Prometheus's HTTP API, e.g. http://127.0.0.1:40123.
	URL string

	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been waited for
	out    *syncBuffer
}

// Start starts Prometheus scraping http://target/metrics every second and
// returns once it is ready. The test is skipped when prometheus is not on
// PATH; the server stops when the test ends.
func Start(t testing.TB, target string) *Server {
	t.Helper()
	bin := testpeer.LookPath(t, "prometheus", "install Debian's prometheus package; CI installs it")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: %s
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, Job, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// A free port can be taken by someone else before Prometheus binds it;
	// a start that fails is retried on another port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin, cfgPath, filepath.Join(dir, "data"))
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("starting prometheus: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, cfgPath, dataDir string) (*Server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+dataDir,
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, t: t, cmd: cmd, exited: make(chan struct{}), out: out}
	go func() {
		_ = cmd.Wait() // the exit status is reported through the log if it matters
		close(s.exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\nprometheus output:\n%s", err, out.tail(4096))
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.tail(8192))
		}
	})
	return s, nil
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *Server) waitReady(ctx context.Context) error {
	tick := clock.Real.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return errors.New("prometheus exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready: %w", ctx.Err())
		case <-tick.C():
		}
	}
}

// stop ends the process by its PID: SIGTERM, then SIGKILL if it lingers.
func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-clock.Real.NewTimer(15 * time.Second).C():
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Sample is one element of an instant vector.
type Sample struct {
	Metric map[string]string
	Value  float64
	Time   time.Time
}

// Vector is the result of an instant query.
type Vector []Sample

// Query evaluates promql at the current time through /api/v1/query.
func (s *Server) Query(ctx context.Context, promql string) (Vector, error) {
	u := s.URL + "/api/v1/query?" + url.Values{"query": {promql}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", promql, err)
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %q: decoding the answer (HTTP %d): %w", promql, res.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", promql, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result is a %s, not a vector", promql, body.Data.ResultType)
	}
	vec := make(Vector, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		ts, _ := r.Value[0].(float64)
		text, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: sample value %q: %w", promql, text, err)
		}
		vec = append(vec, Sample{Metric: r.Metric, Value: v, Time: time.UnixMilli(int64(ts * 1000))})
	}
	return vec, nil
}

// WaitFor queries promql until ok accepts the result or ctx ends, for values
// that appear only after the next scrape. It returns the last result.
func (s *Server) WaitFor(ctx context.Context, promql string, ok func(Vector) bool) (Vector, error) {
	tick := clock.Real.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		vec, err := s.Query(ctx, promql)
		if err == nil && ok(vec) {
			return vec, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("query %q: condition not met, last result %v", promql, vec)
			}
			return vec, fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-s.exited:
			return vec, errors.New("prometheus exited")
		case <-tick.C():
		}
	}
}

// syncBuffer collects the process's output, written from exec's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}
