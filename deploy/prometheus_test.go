package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestScrapeConfigRelabeling runs a real Prometheus with the snippet's relabel rules. Kubernetes
// discovery is replaced by a file listing what it would discover (the same __meta_kubernetes_*
// labels): an annotated running pod, an unannotated one and an annotated pending one. Only the
// first becomes a target, at the annotated port and path.
func TestScrapeConfigRelabeling(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		missingPeer(t, "prometheus not installed (Debian package prometheus; CI installs it)")
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "obsadapter_up 1")
	})
	app := httptest.NewServer(handler)
	defer app.Close()
	port := app.Listener.Addr().(*net.TCPAddr).Port
	// An IPv6 pod too, where the machine has IPv6 loopback: the address
	// rewrite must bracket it.
	var port6 int
	if l6, err := net.Listen("tcp", "[::1]:0"); err == nil {
		app6 := httptest.NewUnstartedServer(handler)
		app6.Listener.Close()
		app6.Listener = l6
		app6.Start()
		defer app6.Close()
		port6 = l6.Addr().(*net.TCPAddr).Port
	} else {
		t.Logf("no IPv6 loopback here (%v): the IPv6 pod is left out", err)
	}

	dir := t.TempDir()
	pod := func(name, scrape, phase, ip string, port int) map[string]any {
		target := ip + ":8080"
		if strings.Contains(ip, ":") {
			target = "[" + ip + "]:8080"
		}
		return map[string]any{
			// Kubernetes discovery gives one target per container port: here the app's 8080, which
			// the annotation's port must replace.
			"targets": []string{target},
			"labels": map[string]string{
				"__meta_kubernetes_namespace":                           "default",
				"__meta_kubernetes_pod_name":                            name,
				"__meta_kubernetes_pod_ip":                              ip,
				"__meta_kubernetes_pod_node_name":                       "node-1",
				"__meta_kubernetes_pod_phase":                           phase,
				"__meta_kubernetes_pod_annotation_prometheus_io_scrape": scrape,
				"__meta_kubernetes_pod_annotation_prometheus_io_port":   fmt.Sprint(port),
				"__meta_kubernetes_pod_annotation_prometheus_io_path":   "/metrics",
			},
		}
	}
	pods := []any{pod("demo-0", "true", "Running", "127.0.0.1", port), pod("other-0", "", "Running", "127.0.0.1", port), pod("demo-1", "true", "Pending", "127.0.0.1", port)}
	wantActive := map[string]string{"demo-0": fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
	if port6 != 0 {
		pods = append(pods, pod("demo-6", "true", "Running", "::1", port6))
		wantActive["demo-6"] = fmt.Sprintf("http://[::1]:%d/metrics", port6)
	}
	sd, _ := json.Marshal(pods)
	if err := os.WriteFile(filepath.Join(dir, "pods.json"), sd, 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("kubernetes/prometheus/scrape-config.yml")
	if err != nil {
		t.Fatal(err)
	}
	sdBlock := regexp.MustCompile(`(?m)^    kubernetes_sd_configs:\n      - role: pod\n`)
	if !sdBlock.Match(data) {
		t.Fatal("the scrape config's pod discovery block changed; update this test's substitution")
	}
	cfg := sdBlock.ReplaceAll(data, []byte("    file_sd_configs:\n      - files: ["+filepath.Join(dir, "pods.json")+"]\n"))
	// Scrape every second so the first scrape, which says whether the URL is right, comes soon.
	cfg = regexp.MustCompile(`scrape_(interval|timeout): \d+s`).ReplaceAll(cfg, []byte("scrape_$1: 1s"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := l.Addr().String()
	l.Close()
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+web, "--log.level=warn")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	var active []target
	deadline := time.Now().Add(60 * time.Second)
	for {
		var resp struct {
			Data struct {
				Active  []target `json:"activeTargets"`
				Dropped []any    `json:"droppedTargets"`
			} `json:"data"`
		}
		if r, err := http.Get("http://" + web + "/api/v1/targets"); err == nil {
			err = json.NewDecoder(r.Body).Decode(&resp)
			r.Body.Close()
			// Wait for the first scrape too, so "health" says whether the URL was right.
			if err == nil && len(resp.Data.Active)+len(resp.Data.Dropped) == len(pods) && len(resp.Data.Active) > 0 && allScraped(resp.Data.Active) {
				active = resp.Data.Active
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not discover the %d pods within a minute\n%s", len(pods), out.String())
		}
		time.Sleep(100 * time.Millisecond) // poll interval: Prometheus offers nothing to wait on
	}
	if len(active) != len(wantActive) {
		t.Fatalf("active targets %+v; want %v, up", active, wantActive)
	}
	for _, a := range active {
		if want := wantActive[a.Labels["pod"]]; a.ScrapeURL != want || a.Health != "up" {
			t.Errorf("target %+v; want %s, up", a, want)
		}
		for k, v := range map[string]string{"namespace": "default", "node": "node-1"} {
			if a.Labels[k] != v {
				t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
			}
		}
	}
	if strings.Contains(out.String(), "level=error") {
		t.Errorf("Prometheus logged errors:\n%s", out.String())
	}
}

// target is one of Prometheus's active targets.
type target struct {
	ScrapeURL string            `json:"scrapeUrl"`
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"`
}

// allScraped reports whether every target has been scraped once, so its
// health says whether its URL was right.
func allScraped(ts []target) bool {
	for _, t := range ts {
		if t.Health == "unknown" {
			return false
		}
	}
	return true
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// missingPeer skips a test whose real peer is not installed, or fails it
// when OBSADAPTER_REQUIRE_PEERS=1 (set by .ci/run, which installs them): the
// deploy module's copy of the main module's internal/testpeer.
func missingPeer(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("OBSADAPTER_REQUIRE_PEERS") == "1" {
		t.Fatalf("required peer missing: %s", why)
	}
	t.Skip("skipped: " + why)
}
