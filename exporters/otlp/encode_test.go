package otlp

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/obsadapter/obsadapter/record"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

func jsonOf(rs []record.Record) string {
	var b []byte
	for i := range rs {
		b = append(rs[i].AppendJSON(b), '\n')
	}
	return string(b)
}

// TestEncodeRoundTrip encodes records and decodes them with pdata, the
// collector's own wire code: every record must come back as it was.
func TestEncodeRoundTrip(t *testing.T) {
	k8s := &record.Kubernetes{Namespace: "shop", Pod: "web-1", Container: "app", Node: "n1"}
	cases := []struct {
		name string
		recs []record.Record
	}{
		{"minimal", []record.Record{{ObservedTime: baseTime, Message: "hello"}}},
		{"empty message", []record.Record{{ObservedTime: baseTime}}},
		{"every field", []record.Record{{Time: baseTime, ObservedTime: baseTime.Add(time.Second), Severity: record.SeverityError + 1,
			Message: "db down", Format: "json", Source: "app", Path: "/var/log/app/app.log", Stream: "stderr", Kubernetes: k8s,
			Truncated: true, Fields: []record.Field{
				{Key: "user", Value: record.StringValue("bob")},
				{Key: "n", Value: record.IntValue(-42)},
				{Key: "big", Value: record.IntValue(math.MaxInt64)},
				{Key: "f", Value: record.FloatValue(1.5)},
				{Key: "ok", Value: record.BoolValue(false)},
				{Key: "nothing", Value: record.NullValue()},
				{Key: "http", Value: record.ObjectValue([]record.Field{{Key: "status", Value: record.IntValue(500)},
					{Key: "empty", Value: record.ObjectValue(nil)}})},
				{Key: "tags", Value: record.ArrayValue([]record.Value{record.StringValue("a"), record.IntValue(1), record.NullValue(),
					record.ArrayValue(nil)})},
			}}}},
		{"long message needs a longer length", []record.Record{{ObservedTime: baseTime, Message: strings.Repeat("x", 20000),
			Fields: []record.Field{{Key: "nested", Value: record.ObjectValue([]record.Field{{Key: "long", Value: record.StringValue(strings.Repeat("y", 300))}})}}}}},
		{"several sources and pods", []record.Record{
			{ObservedTime: baseTime, Message: "1", Source: "a"},
			{ObservedTime: baseTime, Message: "2", Source: "b", Kubernetes: k8s},
			{ObservedTime: baseTime, Message: "3", Source: "a"},
			{ObservedTime: baseTime, Message: "4", Source: "b", Kubernetes: &record.Kubernetes{Namespace: "shop", Pod: "web-2"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bl := newBuilder(DefaultConfig(), Resource{}, "1.2.3")
			items := bl.build(c.recs)
			var got []record.Record
			for _, it := range items {
				ds, _, err := decodeRequest(it.Data)
				if err != nil {
					t.Fatalf("pdata cannot decode the request: %v", err)
				}
				for _, d := range ds {
					if d.scope != "obsadapter@1.2.3" {
						t.Errorf("scope %q, want obsadapter@1.2.3", d.scope)
					}
				}
				got = append(got, records(ds)...)
			}
			// Records come back grouped by resource; order within a group is kept.
			want := groupedOrder(c.recs)
			if g, w := jsonOf(got), jsonOf(want); g != w {
				t.Errorf("decoded\n%s\nwant\n%s", g, w)
			}
		})
	}
}

// groupedOrder is the records in the order a request carries them: by
// group, in the order groups first appear.
func groupedOrder(rs []record.Record) []record.Record {
	var keys []groupKey
	by := map[groupKey][]record.Record{}
	for _, r := range rs {
		k := groupKey{source: r.Source}
		if r.Kubernetes != nil {
			k.k8s = *r.Kubernetes
		}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], r)
	}
	var out []record.Record
	for _, k := range keys {
		out = append(out, by[k]...)
	}
	return out
}

// TestEncodeReusedKubernetes: records of a stream share one Kubernetes
// pointer, which the builder takes for the same metadata within a batch;
// the memory behind it may hold another pod's by the next batch.
func TestEncodeReusedKubernetes(t *testing.T) {
	bl := newBuilder(DefaultConfig(), Resource{}, "")
	k8s := &record.Kubernetes{Namespace: "shop", Pod: "web-1"}
	other := &record.Kubernetes{Namespace: "shop", Pod: "web-1"} // equal, another pointer
	for _, pod := range []string{"web-1", "web-2"} {
		k8s.Pod = pod
		items := bl.build(record.Batch{{ObservedTime: baseTime, Message: "1", Kubernetes: k8s}, {ObservedTime: baseTime, Message: "3", Kubernetes: other},
			{ObservedTime: baseTime, Message: "2", Kubernetes: k8s}})
		ds, groups, err := decodeRequest(items[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"web-1": 1, "web-2": 2}[pod]; groups != want {
			t.Errorf("pod %s: %d ResourceLogs, want %d", pod, groups, want)
		}
		for _, d := range ds {
			if want := map[string]string{"1": pod, "2": pod, "3": "web-1"}[d.rec.Message]; d.resource["k8s.pod.name"] != want {
				t.Errorf("record %s: pod %v, want %s", d.rec.Message, d.resource["k8s.pod.name"], want)
			}
		}
	}
}

// TestEncodeReusedPath: the builder keeps the encoded path and stream of
// the last record; the memory of a record's strings is reused once its
// batch is done, so it must not keep them by reference.
func TestEncodeReusedPath(t *testing.T) {
	bl := newBuilder(DefaultConfig(), Resource{}, "")
	mem := []byte("/var/log/a.log")
	path := unsafe.String(&mem[0], len(mem))
	for _, name := range []string{"a", "b"} {
		mem[9] = name[0]
		items := bl.build(record.Batch{{ObservedTime: baseTime, Message: "1", Path: path, Stream: "stdout"},
			{ObservedTime: baseTime, Message: "2", Path: path, Stream: "stdout"}})
		ds, _, err := decodeRequest(items[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if want := "/var/log/" + name + ".log"; d.rec.Path != want || d.rec.Stream != "stdout" {
				t.Errorf("record %s: path %q stream %q, want %q stdout", d.rec.Message, d.rec.Path, d.rec.Stream, want)
			}
		}
	}
}

// TestGroupKeysAreCopies: the builder's groups outlive the batch, whose
// strings' memory is then reused.
func TestGroupKeysAreCopies(t *testing.T) {
	bl := newBuilder(DefaultConfig(), Resource{}, "")
	mem := []byte("app/shop/web-1/c/n1")
	s := func(i, j int) string { return unsafe.String(&mem[i], j-i) }
	bl.build(record.Batch{{ObservedTime: baseTime, Source: s(0, 3), Kubernetes: &record.Kubernetes{Namespace: s(4, 8), Pod: s(9, 14),
		Container: s(15, 16), Node: s(17, 19)}}})
	for i := range mem {
		mem[i] = 'x'
	}
	want := groupKey{source: "app", k8s: record.Kubernetes{Namespace: "shop", Pod: "web-1", Container: "c", Node: "n1"}}
	if _, ok := bl.groups[want]; !ok || len(bl.groups) != 1 {
		t.Errorf("groups %v, want the one of %v", bl.groups, want)
	}
}

func TestEncodeResourceGroups(t *testing.T) {
	res := Resource{Namespace: "shop", PodName: "web-1", PodUID: "uid-1", NodeName: "n1", Container: "app",
		HostName: "host-a", ServiceName: "web"}
	cfg := DefaultConfig()
	cfg.Resource = map[string]string{"deployment.environment.name": "prod", "service.name": "shop-web"}
	batch := record.Batch{
		{ObservedTime: baseTime, Message: "own 1", Source: "app"},
		{ObservedTime: baseTime, Message: "own 2", Source: "app"},
		{ObservedTime: baseTime, Message: "other pod", Source: "pods", Kubernetes: &record.Kubernetes{Namespace: "shop", Pod: "db-0", Container: "pg"}},
		{ObservedTime: baseTime, Message: "own 3", Source: "app"},
	}
	items := newBuilder(cfg, res, "dev").build(batch)
	if len(items) != 1 {
		t.Fatalf("%d requests, want 1", len(items))
	}
	ds, groups, err := decodeRequest(items[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if groups != 2 {
		t.Errorf("%d ResourceLogs, want 2 (one per source and pod)", groups)
	}
	cases := []struct {
		name string
		msg  string
		want map[string]any
	}{
		{"the adapter's own pod", "own 3", map[string]any{"service.name": "shop-web", "k8s.namespace.name": "shop", "k8s.pod.name": "web-1",
			"k8s.pod.uid": "uid-1", "k8s.container.name": "app", "k8s.node.name": "n1", "host.name": "host-a",
			"obsadapter.source": "app", "deployment.environment.name": "prod"}},
		{"another pod: no uid, its own container", "other pod", map[string]any{"service.name": "shop-web", "k8s.namespace.name": "shop",
			"k8s.pod.name": "db-0", "k8s.container.name": "pg", "k8s.node.name": "n1", "host.name": "host-a",
			"obsadapter.source": "pods", "deployment.environment.name": "prod"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, d := range ds {
				if d.rec.Message != c.msg {
					continue
				}
				if !equalMaps(d.resource, c.want) {
					t.Errorf("resource %v, want %v", d.resource, c.want)
				}
				return
			}
			t.Fatalf("record %q not found", c.msg)
		})
	}
}

func equalMaps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestEncodeTraceContext(t *testing.T) {
	const trace, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	cases := []struct {
		name                string
		fields              []record.Field
		wantTrace, wantSpan string
		wantAttrs           int
	}{
		{"valid ids", []record.Field{{Key: "trace_id", Value: record.StringValue(trace)}, {Key: "span_id", Value: record.StringValue(span)}},
			trace, span, 0},
		{"upper case hex", []record.Field{{Key: "trace_id", Value: record.StringValue(strings.ToUpper(trace))}}, trace, "", 0},
		{"all zero stays an attribute", []record.Field{{Key: "trace_id", Value: record.StringValue(strings.Repeat("0", 32))}}, "", "", 1},
		{"wrong length stays an attribute", []record.Field{{Key: "span_id", Value: record.StringValue(trace)}}, "", "", 1},
		{"not hex stays an attribute", []record.Field{{Key: "trace_id", Value: record.StringValue(strings.Repeat("g", 32))}}, "", "", 1},
		{"a number stays an attribute", []record.Field{{Key: "span_id", Value: record.IntValue(7)}}, "", "", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := newBuilder(DefaultConfig(), Resource{}, "").build(record.Batch{{ObservedTime: baseTime, Fields: c.fields}})
			ds, _, err := decodeRequest(items[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			d := ds[0]
			if d.traceID != c.wantTrace || d.spanID != c.wantSpan || len(d.rec.Fields) != c.wantAttrs {
				t.Errorf("trace %q span %q attributes %v; want %q %q and %d attributes", d.traceID, d.spanID, d.rec.Fields, c.wantTrace, c.wantSpan, c.wantAttrs)
			}
		})
	}
}

func TestEncodeSeverityAndTimes(t *testing.T) {
	cases := []struct {
		name     string
		r        record.Record
		wantText string
		wantTime bool
	}{
		{"no level, no time", record.Record{ObservedTime: baseTime}, "", false},
		{"warn2", record.Record{ObservedTime: baseTime, Time: baseTime, Severity: record.SeverityWarn + 1}, "warn", true},
		{"before 1970 is unknown", record.Record{ObservedTime: baseTime, Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := newBuilder(DefaultConfig(), Resource{}, "").build(record.Batch{c.r})
			ds, _, err := decodeRequest(items[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			d := ds[0]
			if d.text != c.wantText || d.rec.Severity != c.r.Severity || !d.rec.Time.IsZero() != c.wantTime || !d.rec.ObservedTime.Equal(c.r.ObservedTime) {
				t.Errorf("got severity %d %q time %v observed %v", d.rec.Severity, d.text, d.rec.Time, d.rec.ObservedTime)
			}
		})
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	r := record.Record{ObservedTime: baseTime, Message: "bad \xff byte", Fields: []record.Field{{Key: "k\xfe", Value: record.StringValue("v\xc3")},
		{Key: "o", Value: record.ObjectValue([]record.Field{{Key: "x\xff", Value: record.IntValue(1)}})}}}
	items := newBuilder(DefaultConfig(), Resource{}, "").build(record.Batch{r})
	ds, _, err := decodeRequest(items[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(records(ds)), jsonOf([]record.Record{r}); got != want {
		t.Errorf("got\n%s\nwant the JSON form's replacement\n%s", got, want)
	}
}

func TestBuildBounds(t *testing.T) {
	batch := make(record.Batch, 25)
	for i := range batch {
		batch[i] = record.Record{ObservedTime: baseTime, Message: strings.Repeat("m", 100), Source: []string{"a", "b"}[i%2]}
	}
	cases := []struct {
		name     string
		maxRecs  int
		maxBytes int
		gzip     bool
		want     []int
	}{
		{"by records", 10, 1 << 20, false, []int{10, 10, 5}},
		{"by bytes, envelopes included", 1000, 1024, false, []int{7, 7, 7, 4}},
		{"gzip", 10, 1 << 20, true, []int{10, 10, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Batch = BatchConfig{MaxRecords: c.maxRecs, MaxBytes: c.maxBytes}
			if c.gzip {
				cfg.Compression = "gzip"
			}
			items := newBuilder(cfg, Resource{}, "").build(batch)
			var got []int
			var all []record.Record
			for _, it := range items {
				got = append(got, it.Records)
				data := it.Data
				if isGzip(data) != c.gzip {
					t.Fatalf("gzip %v, want %v", isGzip(data), c.gzip)
				}
				if c.gzip {
					data = gunzip(t, data)
				}
				ds, _, err := decodeRequest(data)
				if err != nil {
					t.Fatal(err)
				}
				if len(ds) != it.Records {
					t.Errorf("request says %d records, holds %d", it.Records, len(ds))
				}
				if len(data) > c.maxBytes && !c.gzip {
					t.Errorf("request of %d bytes, max_bytes %d", len(data), c.maxBytes)
				}
				all = append(all, records(ds)...)
			}
			if len(all) != len(batch) {
				t.Errorf("%d records arrived, want %d", len(all), len(batch))
			}
			if !equalInts(got, c.want) {
				t.Errorf("requests of %v records, want %v", got, c.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func gunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildReusesMemory: once warm, a build allocates only the item and
// the result slice, not the request or the groups' buffers.
func TestBuildReusesMemory(t *testing.T) {
	batch := make(record.Batch, 200)
	for i := range batch {
		batch[i] = record.Record{ObservedTime: baseTime, Message: "m", Source: []string{"a", "b", "c"}[i%3],
			Fields: []record.Field{{Key: "o", Value: record.ObjectValue([]record.Field{{Key: "k", Value: record.IntValue(1)}})}}}
	}
	bl := newBuilder(DefaultConfig(), Resource{}, "")
	for range 3 { // warm: the hints settle
		for _, it := range bl.build(batch) {
			bl.pool.Put(it.Data)
		}
	}
	if allocs := testing.AllocsPerRun(20, func() {
		for _, it := range bl.build(batch) {
			bl.pool.Put(it.Data) // as the buffer does once the request is accepted
		}
	}); allocs > 2 {
		t.Errorf("%v allocations per build, want at most 2 (the item, the result slice)", allocs)
	}
}

// TestBuildOversizedRecord: a record larger than batch.max_bytes travels
// alone; the records around it are not held back with it.
func TestBuildOversizedRecord(t *testing.T) {
	batch := record.Batch{
		{ObservedTime: baseTime, Message: "before"},
		{ObservedTime: baseTime, Message: strings.Repeat("x", 3000)},
		{ObservedTime: baseTime, Message: "after"},
	}
	cfg := DefaultConfig()
	cfg.Batch = BatchConfig{MaxRecords: 100, MaxBytes: 1024}
	var got []string
	for _, it := range newBuilder(cfg, Resource{}, "").build(batch) {
		ds, _, err := decodeRequest(it.Data)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, d := range ds {
			msgs = append(msgs, d.rec.Message[:min(len(d.rec.Message), 6)])
		}
		got = append(got, strings.Join(msgs, "+"))
	}
	if want := "before|xxxxxx|after"; strings.Join(got, "|") != want {
		t.Errorf("requests %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestEncodeEveryValue: pdata decodes every kind of value as it was, in
// records of one request: nested objects and arrays, empty, long and
// non-ASCII strings and keys (lengths of one to three bytes), invalid
// UTF-8 (U+FFFD, as in the JSON form), extreme numbers.
func TestEncodeEveryValue(t *testing.T) {
	long := strings.Repeat("é", 9000)
	nested := record.ObjectValue([]record.Field{
		{Key: "", Value: record.StringValue("")},
		{Key: "deeper", Value: record.ObjectValue([]record.Field{{Key: "list", Value: record.ArrayValue([]record.Value{
			record.ObjectValue(nil), record.ArrayValue(nil), record.StringValue("x\xffy"), record.FloatValue(-0.5)})}})},
		{Key: "long", Value: record.StringValue(long)},
	})
	var recs record.Batch
	for i, v := range []record.Value{
		record.StringValue(""), record.StringValue("ascii"), record.StringValue("ünïcode"), record.StringValue("bad\xc3"),
		record.StringValue(strings.Repeat("s", 200)), record.IntValue(0), record.IntValue(1), record.IntValue(-1),
		record.IntValue(math.MaxInt64), record.IntValue(math.MinInt64), record.FloatValue(0), record.FloatValue(math.Inf(-1)),
		record.BoolValue(false), record.BoolValue(true), record.NullValue(), record.ObjectValue(nil), record.ArrayValue(nil), nested,
		record.ArrayValue([]record.Value{record.NullValue(), record.IntValue(-7), record.BoolValue(true), nested}),
	} {
		recs = append(recs, record.Record{Time: baseTime.Add(time.Duration(i)), ObservedTime: baseTime, Severity: record.Severity(i % 25),
			Message: []string{"", "msg", "m\xfe", long}[i%4], Path: []string{"", "/var/log/a\xff.log", "/var/log/b.log"}[i%3],
			Stream: "stderr", Format: "json", Source: "app", Truncated: i%2 == 1,
			Fields: []record.Field{{Key: "k", Value: v}, {Key: "ké\xff" + strings.Repeat("k", i*10), Value: v}}})
	}
	items := newBuilder(DefaultConfig(), Resource{}, "1.2.3").build(recs)
	if len(items) != 1 {
		t.Fatalf("%d requests, want 1", len(items))
	}
	ds, _, err := decodeRequest(items[0].Data)
	if err != nil {
		t.Fatalf("pdata cannot decode the request: %v", err)
	}
	if got, want := jsonOf(records(ds)), jsonOf(recs); got != want {
		t.Errorf("decoded\n%s\nwant\n%s", got, want)
	}
	// The JSON form replaces invalid UTF-8 itself: check the strings on
	// the wire, which protobuf requires to be valid.
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(items[0].Data); err != nil {
		t.Fatal(err)
	}
	var bad []string
	check := func(s string) {
		if !utf8.ValidString(s) {
			bad = append(bad, s)
		}
	}
	var checkValue func(v pcommon.Value)
	checkMap := func(m pcommon.Map) {
		for k, v := range m.All() {
			check(k)
			checkValue(v)
		}
	}
	checkValue = func(v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			check(v.Str())
		case pcommon.ValueTypeMap:
			checkMap(v.Map())
		case pcommon.ValueTypeSlice:
			for _, it := range v.Slice().All() {
				checkValue(it)
			}
		}
	}
	for _, rl := range req.Logs().ResourceLogs().All() {
		checkMap(rl.Resource().Attributes())
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				checkValue(lr.Body())
				checkMap(lr.Attributes())
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("invalid UTF-8 on the wire: %q", bad)
	}
}

// TestValidUTF8 puts a byte that is not ASCII at every place of strings of
// every length up to a few words: alone it is invalid, in a two-byte rune
// valid.
func TestValidUTF8(t *testing.T) {
	for n := 0; n <= 40; n++ {
		s := strings.Repeat("a", n)
		if got := validUTF8(s); unsafe.StringData(got) != unsafe.StringData(s) {
			t.Errorf("%q: copied", s)
		}
		for i := range n {
			if got, want := validUTF8(s[:i]+"\x80"+s[i+1:]), s[:i]+"\uFFFD"+s[i+1:]; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if i < n-1 {
				if v := s[:i] + "é" + s[i+2:]; validUTF8(v) != v {
					t.Errorf("%q: changed", v)
				}
			}
		}
	}
}

func TestUnixNano(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Time{}, 0},
		{time.Unix(-1, 999_999_999), 0},
		{time.Unix(0, 0), 0},
		{time.Unix(0, 1), 1},
		{baseTime, uint64(baseTime.UnixNano())},
		{time.Unix(0, math.MaxInt64), math.MaxInt64},
		{time.Unix(0, math.MaxInt64).Add(1), 0},
		{time.Unix(math.MaxInt64/1_000_000_000+1, 0), 0},
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	} {
		if got := unixNano(c.t); got != c.want {
			t.Errorf("unixNano(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}
