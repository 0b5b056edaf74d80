package otlpe2e

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// protocols are the two transports every delivery test runs over, with the
// endpoint of the receiver for each.
var protocols = []struct {
	name     string
	endpoint func(r *collectorReceiver) string
}{
	{"grpc", func(r *collectorReceiver) string { return "http://" + r.GRPCAddr }},
	{"http/protobuf", func(r *collectorReceiver) string { return "http://" + r.HTTPAddr }},
}

// otlpSection is the exporters section of a test config: stdout off,
// Prometheus on (the tests read /metrics), OTLP to the receiver with quick
// retries; extra keys go into the otlp section.
func otlpSection(protocol, endpoint, extra string) string {
	return fmt.Sprintf(`exporters:
  stdout: {enabled: false}
  prometheus: {enabled: true}
  otlp:
    enabled: true
    protocol: %s
    endpoint: %q
    retry: {initial: 100ms, max: 1s}
%s`, protocol, endpoint, extra)
}

// baseTime is the event time of numbered record 0.
var baseTime = time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC)

var levels = []struct {
	word     string
	severity plog.SeverityNumber
}{{"debug", 5}, {"info", 9}, {"warn", 13}, {"error", 17}, {"fatal", 21}}

// numbered is JSON log line i of a source: its message says both, and its
// fields have every type, nested, and a trace context on even lines (an
// invalid one on odd lines, which stays an attribute).
func numbered(source string, i int) string {
	trace, span := fmt.Sprintf("%032x", 0xa0000+i), fmt.Sprintf("%016x", 0xb0000+i)
	if i%2 == 1 {
		trace, span = "not-a-trace-id", "0000000000000000"
	}
	return fmt.Sprintf(`{"time":%q,"level":%q,"msg":"%s record %d","n":%d,"ratio":%d.5,"ok":%v,"user":{"name":"u%d","id":%d,"roles":["a","b"]},"nothing":null,"trace_id":%q,"span_id":%q}`,
		baseTime.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), levels[i%len(levels)].word, source, i, i, i, i%2 == 0, i, i*10, trace, span)
}

// wantAttributes is what numbered(source, i), read from path, carries as
// log record attributes.
func wantAttributes(i int, path string) map[string]any {
	m := map[string]any{
		"n": int64(i), "ratio": float64(i) + 0.5, "ok": i%2 == 0,
		"user":    map[string]any{"name": fmt.Sprintf("u%d", i), "id": int64(i * 10), "roles": []any{"a", "b"}},
		"nothing": nil, "log.file.path": path, "obsadapter.format": "json",
	}
	if i%2 == 1 { // not a valid trace context: kept as it was
		m["trace_id"], m["span_id"] = "not-a-trace-id", "0000000000000000"
	}
	return m
}

// got is one log record as the receiver got it, with its request's
// resource and scope.
type got struct {
	request  int
	resource map[string]any
	scope    pcommon.InstrumentationScope
	rec      plog.LogRecord
}

func flatten(accepted []plog.Logs) []got {
	var out []got
	for i, ld := range accepted {
		for j := 0; j < ld.ResourceLogs().Len(); j++ {
			rl := ld.ResourceLogs().At(j)
			res := rl.Resource().Attributes().AsRaw()
			for k := 0; k < rl.ScopeLogs().Len(); k++ {
				sl := rl.ScopeLogs().At(k)
				for l := 0; l < sl.LogRecords().Len(); l++ {
					out = append(out, got{request: i, resource: res, scope: sl.Scope(), rec: sl.LogRecords().At(l)})
				}
			}
		}
	}
	return out
}

// byBody indexes records by body and fails the test on a duplicate.
func byBody(t *testing.T, recs []got) map[string]got {
	t.Helper()
	out := map[string]got{}
	for _, g := range recs {
		b := g.rec.Body().AsString()
		if _, dup := out[b]; dup {
			t.Errorf("%q arrived twice", b)
		}
		out[b] = g
	}
	return out
}

// TestOTLPRecords runs the binary with two file sources and a pod source
// against the collector's receiver, over gRPC and over HTTP, and checks
// every numbered record as it arrived: body, severity, time, attributes
// with their types, trace context, resource attributes and scope, and that
// records are grouped into one ResourceLogs per source and pod.
func TestOTLPRecords(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	const perSource = 300
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			r := startReceiver(t)
			dir := t.TempDir()
			logs := filepath.Join(dir, "app")
			pods := filepath.Join(dir, "pods")
			container := filepath.Join(pods, "shop_checkout-7d9f_5f0c8a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", "app")
			for _, d := range []string{logs, container} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			paths := map[string]string{"app": filepath.Join(logs, "app.log"), "worker": filepath.Join(logs, "worker.txt"), "pod": filepath.Join(container, "0.log")}
			for i := range perSource {
				appendLines(t, paths["app"], numbered("app", i))
				appendLines(t, paths["worker"], numbered("worker", i))
				// the kubelet's CRI format: time, stream, full-line tag, line
				appendLines(t, paths["pod"], "2026-12-03T10:00:00.000000000Z stdout F "+numbered("pod", i))
			}
			start := time.Now()
			startAdapter(t, dir, fmt.Sprintf(`state_dir: %q
sources:
  - {name: app, type: file, include: [%q], start_at: beginning}
  - {name: worker, type: file, include: [%q], start_at: beginning}
  - {name: pod, type: pod, logs_dir: %q, start_at: beginning}
pipeline: {batch_records: 128}
procinfo: {enabled: false}
`, filepath.Join(dir, "state"), paths["app"], paths["worker"], pods)+otlpSection(proto.name, proto.endpoint(r),
				"    batch: {max_records: 100}\n    resource: {deployment.environment.name: test}\n"))
			if !r.WaitRecords(3*perSource, time.Minute) {
				t.Fatalf("%d of %d records arrived", r.Records(), 3*perSource)
			}
			accepted := r.Accepted()
			recs := byBody(t, flatten(accepted))
			if len(recs) != 3*perSource {
				t.Errorf("%d records arrived, want %d", len(recs), 3*perSource)
			}

			ownPod := map[string]any{
				"service.name": "checkout", "k8s.namespace.name": "shop", "k8s.pod.name": "checkout-7d9f",
				"k8s.pod.uid": "5f0c8a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", "k8s.node.name": "node-1",
				"host.name": host, "deployment.environment.name": "test",
			}
			for _, source := range []string{"app", "worker", "pod"} {
				wantRes := map[string]any{"obsadapter.source": source}
				for k, v := range ownPod {
					wantRes[k] = v
				}
				if source == "pod" {
					wantRes["k8s.container.name"] = "app" // the container the line came from
				}
				for i := range perSource {
					body := fmt.Sprintf("%s record %d", source, i)
					g, ok := recs[body]
					if !ok {
						t.Errorf("%q did not arrive", body)
						continue
					}
					checkRecord(t, g, i, paths[source], source == "pod", start)
					if !reflect.DeepEqual(g.resource, wantRes) {
						t.Errorf("%s: resource %v\nwant %v", body, g.resource, wantRes)
					}
					if g.scope.Name() != "obsadapter" || g.scope.Version() != version {
						t.Errorf("%s: scope %q %q, want obsadapter %s", body, g.scope.Name(), g.scope.Version(), version)
					}
				}
			}

			// One ResourceLogs per source and pod in a request, each with one
			// ScopeLogs, and requests of up to batch.max_records records.
			for i, ld := range accepted {
				seen := map[string]bool{}
				for j := 0; j < ld.ResourceLogs().Len(); j++ {
					rl := ld.ResourceLogs().At(j)
					key := fmt.Sprint(rl.Resource().Attributes().AsRaw())
					if seen[key] {
						t.Errorf("request %d has two ResourceLogs for %s", i, key)
					}
					seen[key] = true
					if rl.ScopeLogs().Len() != 1 {
						t.Errorf("request %d: a ResourceLogs has %d ScopeLogs, want 1", i, rl.ScopeLogs().Len())
					}
				}
				if n := ld.LogRecordCount(); n > 100 {
					t.Errorf("request %d has %d records, more than batch.max_records 100", i, n)
				}
			}
			if len(accepted) < 3*perSource/100 || len(accepted) > 3*perSource/10 {
				t.Errorf("%d requests for %d records: not batched as configured", len(accepted), 3*perSource)
			}
		})
	}
}

// checkRecord compares a received record with numbered line i of its file.
func checkRecord(t *testing.T, g got, i int, path string, fromPod bool, start time.Time) {
	t.Helper()
	rec, body := g.rec, g.rec.Body().AsString()
	if g.rec.Body().Type() != pcommon.ValueTypeStr {
		t.Errorf("%s: body is a %s, want a string", body, g.rec.Body().Type())
	}
	lv := levels[i%len(levels)]
	if rec.SeverityNumber() != lv.severity || rec.SeverityText() != lv.word {
		t.Errorf("%s: severity %d %q, want %d %q", body, rec.SeverityNumber(), rec.SeverityText(), lv.severity, lv.word)
	}
	if want := baseTime.Add(time.Duration(i) * time.Millisecond); !rec.Timestamp().AsTime().Equal(want) {
		t.Errorf("%s: time %s, want %s", body, rec.Timestamp().AsTime(), want)
	}
	if obs := rec.ObservedTimestamp().AsTime(); obs.Before(start.Add(-time.Second)) || obs.After(time.Now()) {
		t.Errorf("%s: observed time %s is not when the test ran", body, obs)
	}
	want := wantAttributes(i, path)
	if fromPod {
		want["log.iostream"] = "stdout"
	}
	if attrs := rec.Attributes().AsRaw(); !reflect.DeepEqual(attrs, want) {
		t.Errorf("%s: attributes\n%v\nwant\n%v", body, sorted(attrs), sorted(want))
	}
	var wantTrace, wantSpan string
	if i%2 == 0 {
		wantTrace, wantSpan = fmt.Sprintf("%032x", 0xa0000+i), fmt.Sprintf("%016x", 0xb0000+i)
	} else {
		wantTrace, wantSpan = strings.Repeat("0", 32), strings.Repeat("0", 16)
	}
	tid, sid := rec.TraceID(), rec.SpanID()
	if hex.EncodeToString(tid[:]) != wantTrace || hex.EncodeToString(sid[:]) != wantSpan {
		t.Errorf("%s: trace %x span %x, want %s %s", body, tid, sid, wantTrace, wantSpan)
	}
}

// sorted renders a map with its keys in order, for readable failures.
func sorted(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%#v ", k, m[k])
	}
	return b.String()
}
