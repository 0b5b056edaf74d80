package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
)

// eventOnly are the documented metrics and label values that a short run
// cannot produce (a series appears only once its event happens); each must
// still be registered in the code under exactly that name.
var eventOnly = map[string]string{
	"obsadapter_records_dropped_total":                     "a stdin/exec buffer overflowing under drop_oldest",
	"obsadapter_records_dropped_total{reason=buffer_full}": "a stdin/exec buffer overflowing under drop_oldest",
	"obsadapter_source_errors_total":                       "a file the adapter may not read (the tests run as root)",
	"obsadapter_fluent_records_total{result=dropped}":      "the fluent buffer full under drop_oldest",
	"obsadapter_exporter_records_total{result=failed}":     "batches given up at shutdown; /metrics is gone by then",
	"obsadapter_exporter_records_total{result=retried}":    "an exporter refusing a batch (stdout's broken pipe, a spool that cannot write)",
	"obsadapter_metric_series_overflow_total":              "a log-derived metric over its max_series",
}

// TestDocumentedMetricsExist keeps the docs honest: every metric name and
// label value that README.md and docs/ mention is in a real /metrics of the
// binary after a run that exercises file, exec and reloaded sources,
// checkpoints, an unreachable Fluentd, an OTLP receiver that never answers
// (its spool holds what it cannot send), a log-derived metric fed a bad
// value and the process API; the few that need an event this run cannot cause are
// listed in eventOnly, with the event, and must exist in the code.
func TestDocumentedMetricsExist(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "app.log"), []byte(`{"level":"info","msg":"hi","ms":"fast"}`+"\n"+
		"2026-12-03 07:14:05 ERROR boom\njava.lang.IllegalStateException: bad\n\tat a.B.c(B.java:1)\n"), 0o644)
	os.WriteFile(filepath.Join(logs, "forced.txt"), []byte("not json\n"), 0o644)
	os.WriteFile(filepath.Join(logs, "access.log"), []byte(`10.0.0.1 - - [03/Dec/2026:07:14:05 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8.5.0" 0.012`+"\n"), 0o644)
	// Fluentd down at first (failures, retries), then up (deliveries).
	recv := forwardtest.Start(t, forwardtest.Options{})
	recv.Stop()
	otlpDown := "http://" + freeAddr(t) // nothing listens there
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state_dir: %q
checkpoint_interval: 100ms
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, poll_interval: 100ms}
  - {name: forced, type: file, include: [%q], start_at: beginning, format: json, poll_interval: 100ms}
  - {name: job, type: exec, command: [sh, -c, "echo job line"], restart: always}
processors:
  - filter: {drop: {message_contains: "not json"}}
exporters:
  stdout: {enabled: false}
  prometheus:
    enabled: true
    metrics:
      - {name: app_request_ms, type: gauge, value: ms}
  fluent: {enabled: true, address: %q, retry: {initial: 100ms, max: 200ms}}
  otlp: {enabled: true, endpoint: %q, buffer: {type: file}, retry: {initial: 100ms, max: 200ms}}
procinfo: {enabled: true}
http: {enable_reload: true}
`, filepath.Join(dir, "state"), filepath.Join(logs, "*.log"), filepath.Join(logs, "*.txt"), recv.Addr(), otlpDown)), 0o644)
	d := startDaemon(t, nil, "--config", cfg)
	var exposition, missing string
	defer func() {
		if t.Failed() && missing != "" {
			t.Logf("last series waited for: %s", missing)
		}
	}()
	until := func(what string, wants ...string) {
		t.Helper()
		waitFor(t, what, func() bool {
			_, exposition = d.get("/metrics")
			for _, want := range wants {
				if !strings.Contains(exposition, want) {
					missing = want
					return false
				}
			}
			return true
		})
	}
	until("fluent's failures while Fluentd is down", `obsadapter_fluent_records_total{result="retried"}`)
	// Fluentd back: deliveries, and the sources are no longer held back.
	if err := recv.Restart(); err != nil {
		t.Fatal(err)
	}
	until("the sources to be read and delivered", `obsadapter_exporter_records_total{exporter="fluent",result="sent"}`,
		"obsadapter_parse_failures_total{", "obsadapter_checkpoint_writes_total", "obsadapter_exec_exits_total{",
		"obsadapter_exceptions_total{", "obsadapter_multiline_records_total{", "obsadapter_http_requests_total{",
		`obsadapter_processor_records_total{processor="filter",result="dropped",source="forced"}`)
	// A rotation, then a reload, and the process API.
	os.Rename(filepath.Join(logs, "app.log"), filepath.Join(logs, "app.log.1"))
	os.WriteFile(filepath.Join(logs, "app.log"), []byte("after rotation\n"), 0o644)
	until("the rotation to be counted", "obsadapter_file_rotations_total{")
	if r, err := http.Post("http://"+d.addr+"/-/reload", "", nil); err == nil {
		r.Body.Close()
	}
	d.get("/api/v1/processes")
	until("the reload to be counted", "obsadapter_config_reloads_total{")

	code := goSources(t)
	for _, m := range documentedMetrics(t) {
		if seriesPresent(exposition, m.name, m.label, m.value) {
			continue
		}
		key := m.name
		if m.label != "" {
			key += "{" + m.label + "=" + m.value + "}"
		}
		why, listed := eventOnly[key]
		if !listed {
			t.Errorf("%s mentions %s, which is not in the binary's /metrics after the run", m.where, key)
			continue
		}
		if !strings.Contains(code, `"`+m.name+`"`) || m.value != "" && !strings.Contains(code, `"`+m.value+`"`) {
			t.Errorf("%s mentions %s (%s), which the code does not register", m.where, key, why)
		}
	}
}

type docMetric struct{ name, label, value, where string }

// documentedMetrics finds obsadapter_* names, and name{label="value"}
// mentions, in README.md and docs/*.md.
func documentedMetrics(t *testing.T) []docMetric {
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"))
	nameRe := regexp.MustCompile(`obsadapter_[a-z0-9_]*[a-z0-9]`)
	labelRe := regexp.MustCompile(`(obsadapter_[a-z0-9_]*[a-z0-9])\{([a-z_]+)="([a-z_]+)"`)
	seen := map[string]bool{}
	var out []docMetric
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		where := filepath.Base(f)
		for _, m := range labelRe.FindAllStringSubmatch(string(data), -1) {
			if k := m[1] + m[2] + m[3]; !seen[k] {
				seen[k] = true
				out = append(out, docMetric{m[1], m[2], m[3], where})
			}
		}
		for _, n := range nameRe.FindAllString(string(data), -1) {
			if strings.HasSuffix(n, "_bucket") || strings.HasSuffix(n, "_sum") || strings.HasSuffix(n, "_count") || !seen[n] && isPrefixOnly(string(data), n) {
				continue
			}
			if !seen[n] {
				seen[n] = true
				out = append(out, docMetric{name: n, where: where})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// isPrefixOnly reports a name written as a family prefix ("obsadapter_fluent_*")
// somewhere in text; another name may start with the same letters
// (obsadapter_process_* and obsadapter_processor_records_total).
func isPrefixOnly(text, n string) bool {
	for i := strings.Index(text, n); i >= 0; {
		rest := text[i+len(n):]
		if strings.HasPrefix(rest, "*") || strings.HasPrefix(rest, "_*") {
			return true
		}
		j := strings.Index(rest, n)
		if j < 0 {
			return false
		}
		i += len(n) + j
	}
	return false
}

// seriesPresent reports a family (and, when given, a series with the label
// value) in the exposition.
func seriesPresent(exposition, name, label, value string) bool {
	for _, line := range strings.Split(exposition, "\n") {
		series, _, _ := strings.Cut(line, "{")
		series, _, _ = strings.Cut(series, " ")
		if series != name && series != name+"_bucket" && series != name+"_count" && series != name+"_sum" {
			continue
		}
		if label == "" || strings.Contains(line, label+`="`+value+`"`) {
			return true
		}
	}
	return false
}

// goSources is every non-test Go file of the module, concatenated.
func goSources(t *testing.T) string {
	var b strings.Builder
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "deploy" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}
