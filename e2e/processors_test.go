package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/record"
)

// writeConfig writes a config file into a temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
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

// repeat is n copies of line.
func repeat(line string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = line
	}
	return out
}

// bySource lists records as "source: message", sorted.
func bySource(recs []record.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Source + ": " + r.Message
	}
	sort.Strings(out)
	return out
}

// TestProcessorsEndToEnd: filter, redact, throttle and route on the real
// binary. Exactly the expected records reach stdout and the forward
// receiver, and /metrics counts every drop, with the per-level counts
// taken before the processors.
func TestProcessorsEndToEnd(t *testing.T) {
	recv := forwardtest.Start(t, forwardtest.Options{})
	dir := t.TempDir()
	app, noisy, audit := filepath.Join(dir, "app.log"), filepath.Join(dir, "noisy.log"), filepath.Join(dir, "audit.log")
	writeLines(t, app, slices.Concat(
		repeat(`{"level":"info","msg":"GET /healthz 200"}`, 2),
		repeat(`{"level":"debug","msg":"cache warm"}`, 2),
		[]string{
			`{"level":"info","msg":"order 1 placed"}`,
			`{"level":"warn","msg":"login retried with password=hunter2hunter2"}`,
			`{"level":"info","msg":"order 2 placed","card":"4111 1111 1111 1111"}`,
		})...)
	writeLines(t, noisy, repeat(`{"level":"error","msg":"retry storm"}`, 10)...)
	writeLines(t, audit, repeat(`{"level":"info","msg":"bob exported a report"}`, 2)...)
	cfg := writeConfig(t, fmt.Sprintf(`
sources:
  - name: app
    type: file
    include: [%q]
    start_at: beginning
    multiline: "off"
    processors:
      - filter: {drop: {message_contains: "/healthz"}}
  - name: noisy
    type: file
    include: [%q]
    start_at: beginning
    multiline: "off"
    processors:
      - throttle: {limit: 3, window: 10m}
  - name: audit
    type: file
    include: [%q]
    start_at: beginning
    multiline: "off"
processors:
  - redact: {}
  - route:
      rules:
        - when: {source: [audit]}
          exporters: [fluent]
        - when: {not: {min_level: info}}
          exporters: [prometheus]
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: true}
  fluent: {enabled: true, address: %q}
procinfo: {enabled: false}
`, app, noisy, audit, recv.Addr()))
	d := startDaemon(t, nil, "--config", cfg)

	shared := []string{
		"app: login retried with password=***",
		"app: order 1 placed",
		"app: order 2 placed",
		"noisy: 7 records dropped by throttle for key noisy",
		"noisy: retry storm", "noisy: retry storm", "noisy: retry storm",
	}
	wantFluent := slices.Sorted(slices.Values(append(slices.Clone(shared), "audit: bob exported a report", "audit: bob exported a report")))
	if !recv.WaitEntries(len(wantFluent), 20*time.Second) {
		t.Fatalf("receiver got %d of %d entries: %q", recv.Stats().Entries, len(wantFluent), bySource(recv.Records()))
	}
	waitFor(t, "stdout", func() bool { return len(d.messages()) >= len(shared) })
	wantMetrics := map[string]float64{
		`obsadapter_processor_records_total{processor="filter",result="dropped",source="app"}`:     2,
		`obsadapter_processor_records_total{processor="throttle",result="dropped",source="noisy"}`: 7,
		`obsadapter_processor_records_total{processor="throttle",result="kept",source="noisy"}`:    3,
		`obsadapter_processor_records_total{processor="redact",result="changed",source="app"}`:     2,
		// per level, before the processors: the dropped and throttled lines count
		`obsadapter_records_total{format="json",level="info",source="app"}`:    4,
		`obsadapter_records_total{format="json",level="debug",source="app"}`:   2,
		`obsadapter_records_total{format="json",level="error",source="noisy"}`: 10,
		// debug went to metrics only, audit to Fluentd only
		`obsadapter_exporter_records_total{exporter="stdout",result="sent"}`:     float64(len(shared)),
		`obsadapter_exporter_records_total{exporter="fluent",result="sent"}`:     float64(len(wantFluent)),
		`obsadapter_exporter_records_total{exporter="prometheus",result="sent"}`: float64(len(shared)) + 2,
	}
	// The counters settle a moment after the records arrive (an ack is
	// counted once the adapter has read it): wait for them, then report
	// what differs.
	var wrong []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, body := d.get("/metrics")
		wrong = wrong[:0]
		for series, want := range wantMetrics {
			if got, ok := metricValue(body, series); !ok || got != want {
				wrong = append(wrong, fmt.Sprintf("%s = %v (found %v), want %v", series, got, ok, want))
			}
		}
		if len(wrong) == 0 || time.Now().After(deadline) {
			break
		}
	}
	sort.Strings(wrong)
	for _, w := range wrong {
		t.Error(w)
	}
	if code := d.stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	if got := bySource(recv.Records()); !slices.Equal(got, wantFluent) {
		t.Errorf("fluent receiver got\n%q\nwant\n%q", got, wantFluent)
	}
	d.mu.Lock()
	gotStdout := bySource(d.recs)
	var card record.Value
	for _, r := range d.recs {
		if r.Message == "order 2 placed" {
			card, _ = r.Lookup("card")
		}
	}
	d.mu.Unlock()
	if !slices.Equal(gotStdout, shared) {
		t.Errorf("stdout got\n%q\nwant\n%q", gotStdout, shared)
	}
	if strings.Contains(card.Str(), "4111") {
		t.Errorf("the card number field reached stdout: %q", card.Str())
	}
}

// leakCases reads the shared table of real-looking secrets (and
// near-misses) that the redaction rules are checked against.
func leakCases(t *testing.T) (lines, secrets, nearMisses []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "secrets", "testdata", "leaks.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		p := strings.Split(l, "\t")
		if len(p) < 2 || p[0] != "-" && len(p) < 3 {
			t.Fatalf("leaks.tsv: %q lacks a column", l)
		}
		lines = append(lines, p[1])
		if p[0] == "-" {
			nearMisses = append(nearMisses, p[1])
		} else {
			secrets = append(secrets, p[2])
		}
	}
	if len(secrets) < 10 {
		t.Fatalf("only %d secrets in leaks.tsv", len(secrets))
	}
	return lines, secrets, nearMisses
}

// TestNoSecretLeaves: with the built-in redact step, no secret of the
// shared table reaches the stdout exporter or the Fluentd receiver, as a
// message or as a field (JSON lines), and the near-misses arrive
// unchanged.
func TestNoSecretLeaves(t *testing.T) {
	lines, secrets, nearMisses := leakCases(t)
	recv := forwardtest.Start(t, forwardtest.Options{})
	dir := t.TempDir()
	plain, fields := filepath.Join(dir, "plain.log"), filepath.Join(dir, "fields.log")
	var inFields []string
	for _, l := range lines {
		inFields = append(inFields, fmt.Sprintf(`{"level":"info","msg":"as a field","detail":%q}`, l))
	}
	writeLines(t, plain)
	writeLines(t, fields)
	all := slices.Concat(lines, inFields)
	cfg := writeConfig(t, fmt.Sprintf(`
sources:
  - {name: plain, type: file, include: [%q], start_at: beginning, multiline: "off", format: plain}
  - {name: fields, type: file, include: [%q], start_at: beginning, multiline: "off", format: json}
processors:
  - redact: {}
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: true} # /metrics: to see the tap attach
  fluent: {enabled: true, address: %q}
procinfo: {enabled: false}
`, plain, fields, recv.Addr()))
	d := startDaemon(t, nil, "--config", cfg)
	// The live tap of what leaves (after the processors) must not show a
	// secret either: it attaches before any line is written.
	waitFor(t, "the adapter", func() bool { return d.metric("obsadapter_tap_subscribers") == 0 })
	tap := startTap(t, "--addr", d.addr, "--after-processors", "--limit", strconv.Itoa(len(all)))
	waitFor(t, "the tap", func() bool {
		select {
		case <-tap.done:
			t.Fatalf("the tap ended before any line: %s", tap.stderr.String())
		default:
		}
		return d.metric("obsadapter_tap_subscribers") == 1
	})
	writeLines(t, plain, lines...) // appends
	writeLines(t, fields, inFields...)
	if !recv.WaitEntries(len(all), 20*time.Second) {
		t.Fatalf("receiver got %d of %d entries", recv.Stats().Entries, len(all))
	}
	waitFor(t, "stdout", func() bool { return len(d.messages()) >= len(all) })
	d.stop()
	d.mu.Lock()
	stdoutRecs := slices.Clone(d.recs)
	d.mu.Unlock()
	if code := tap.wait(t); code != 0 {
		t.Fatalf("tap exit code %d; stderr:\n%s", code, tap.stderr.String())
	}
	var tapRecs []record.Record
	for _, l := range strings.Split(strings.TrimSuffix(tap.stdout.String(), "\n"), "\n") {
		var r record.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("the tap printed a line that is not a record: %q", l)
		}
		tapRecs = append(tapRecs, r)
	}
	for name, recs := range map[string][]record.Record{"stdout": stdoutRecs, "fluent": recv.Records(), "tap": tapRecs} {
		if len(recs) != len(all) {
			t.Errorf("%s: %d records, want %d", name, len(recs), len(all))
		}
		// A near-miss may contain a secret's text (one character too long):
		// its records are checked to arrive unchanged instead.
		var text strings.Builder
		for _, r := range recs {
			detail, _ := r.Lookup("detail")
			if slices.Contains(nearMisses, r.Message) || slices.Contains(nearMisses, detail.Str()) {
				continue
			}
			text.Write(r.AppendJSON(nil))
			text.WriteByte('\n')
		}
		for _, s := range secrets {
			if i := strings.Index(text.String(), s); i >= 0 {
				t.Errorf("%s: secret %q leaked in %s", name, s, text.String()[strings.LastIndexByte(text.String()[:i], '\n')+1:][:200])
			}
		}
		arrived := map[string]int{} // near-misses as a message and as a field
		for _, r := range recs {
			detail, _ := r.Lookup("detail")
			arrived[r.Message]++
			arrived[detail.Str()]++
		}
		for _, m := range nearMisses {
			if arrived[m] != 2 {
				t.Errorf("%s: near-miss %q arrived unchanged %d times, want 2", name, m, arrived[m])
			}
		}
	}
}

// TestProcessorsHotReload: SIGHUP with a changed processor keeps the
// source running: every line written before, during and after the reload
// arrives exactly once, and the lines written after it show the change.
func TestProcessorsHotReload(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	cfgText := func(version string) string {
		return fmt.Sprintf(`
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, multiline: "off", format: plain}
processors:
  - fields: {add: {version: %s}}
exporters:
  stdout: {enabled: true}
  prometheus: {enabled: true}
procinfo: {enabled: false}
`, log, version)
	}
	cfg := writeConfig(t, cfgText("one"))
	writeLines(t, log, seqLines("before", 1, 200)...)
	d := startDaemon(t, nil, "--config", cfg)
	waitFor(t, "the first lines", func() bool { return len(d.messages()) >= 200 })

	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop, written := make(chan struct{}), make(chan int)
	go func() { // lines keep coming through the reload
		n := 0
		defer func() { written <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := fmt.Fprintf(f, "during %d\n", n+1); err != nil {
				t.Error(err)
				return
			}
			n++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := os.WriteFile(cfg, []byte(cfgText("two")), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool {
		_, body := d.get("/metrics")
		v, _ := metricValue(body, `obsadapter_config_reloads_total{result="success"}`)
		return v == 1
	})
	time.Sleep(200 * time.Millisecond)
	close(stop)
	during := <-written
	writeLines(t, log, seqLines("after", 1, 200)...)
	total := 400 + during
	waitFor(t, "every line", func() bool { return len(d.messages()) >= total })
	if code := d.stop(); code != 0 {
		t.Errorf("exit code %d", code)
	}
	d.mu.Lock()
	recs := slices.Clone(d.recs)
	d.mu.Unlock()
	seen := map[string]int{}
	for _, r := range recs {
		seen[r.Message]++
		v, _ := r.Lookup("version")
		if strings.HasPrefix(r.Message, "after ") && v.Str() != "two" {
			t.Errorf("%q has version %q after the reload, want \"two\"", r.Message, v.Str())
		}
		if strings.HasPrefix(r.Message, "before ") && v.Str() != "one" {
			t.Errorf("%q has version %q before the reload, want \"one\"", r.Message, v.Str())
		}
	}
	for _, m := range slices.Concat(seqLines("before", 1, 200), seqLines("during", 1, during), seqLines("after", 1, 200)) {
		if seen[m] != 1 {
			t.Errorf("%q arrived %d times", m, seen[m])
		}
	}
	if len(recs) != total {
		t.Errorf("%d records, want %d", len(recs), total)
	}
}

func seqLines(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s %d", prefix, i))
	}
	return out
}
