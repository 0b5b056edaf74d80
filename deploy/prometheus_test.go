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
		t.Skip("skipped: prometheus not installed (Debian package prometheus; CI installs it)")
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "obsadapter_up 1")
	}))
	defer app.Close()
	port := app.Listener.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	pod := func(name, scrape, phase string) map[string]any {
		return map[string]any{
			// Kubernetes discovery gives one target per container port: here the app's 8080, which
			// the annotation's port must replace.
			"targets": []string{"127.0.0.1:8080"},
			"labels": map[string]string{
				"__meta_kubernetes_namespace":                           "default",
				"__meta_kubernetes_pod_name":                            name,
				"__meta_kubernetes_pod_node_name":                       "node-1",
				"__meta_kubernetes_pod_phase":                           phase,
				"__meta_kubernetes_pod_annotation_prometheus_io_scrape": scrape,
				"__meta_kubernetes_pod_annotation_prometheus_io_port":   fmt.Sprint(port),
				"__meta_kubernetes_pod_annotation_prometheus_io_path":   "/metrics",
			},
		}
	}
	sd, _ := json.Marshal([]any{pod("demo-0", "true", "Running"), pod("other-0", "", "Running"), pod("demo-1", "true", "Pending")})
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

	type target struct {
		ScrapeURL string            `json:"scrapeUrl"`
		Labels    map[string]string `json:"labels"`
		Health    string            `json:"health"`
	}
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
			if err == nil && len(resp.Data.Active)+len(resp.Data.Dropped) == 3 && len(resp.Data.Active) > 0 && resp.Data.Active[0].Health != "unknown" {
				active = resp.Data.Active
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not discover the three pods within a minute\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond) // poll interval: Prometheus offers nothing to wait on
	}
	want := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	if len(active) != 1 || active[0].ScrapeURL != want || active[0].Health != "up" {
		t.Fatalf("active targets %+v; want only demo-0 at %s, up", active, want)
	}
	for k, v := range map[string]string{"namespace": "default", "pod": "demo-0", "node": "node-1"} {
		if active[0].Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, active[0].Labels[k], v, active[0].Labels)
		}
	}
	if strings.Contains(out.String(), "level=error") {
		t.Errorf("Prometheus logged errors:\n%s", out.String())
	}
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
