package otlp

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// benchBatch is 1,000 records shaped like a JSON access log line.
func benchBatch() record.Batch {
	k8s := &record.Kubernetes{Namespace: "shop", Pod: "web-7d9f", Container: "app", Node: "node-1"}
	b := make(record.Batch, 1000)
	for i := range b {
		b[i] = record.Record{
			Time: baseTime.Add(time.Duration(i) * time.Millisecond), ObservedTime: baseTime.Add(time.Second),
			Severity: record.SeverityInfo, Message: "GET /api/v1/orders/" + strconv.Itoa(i) + " completed", Format: "json",
			Source: "app", Path: "/var/log/app/app.log", Stream: "stdout", Kubernetes: k8s,
			Fields: []record.Field{
				{Key: "method", Value: record.StringValue("GET")},
				{Key: "status", Value: record.IntValue(200)},
				{Key: "duration_seconds", Value: record.FloatValue(0.0123)},
				{Key: "user", Value: record.StringValue("user-" + strconv.Itoa(i%50))},
				{Key: "trace_id", Value: record.StringValue("4bf92f3577b34da6a3ce929d0e0e4736")},
				{Key: "http", Value: record.ObjectValue([]record.Field{{Key: "path", Value: record.StringValue("/api/v1/orders")},
					{Key: "bytes", Value: record.IntValue(5120)}})},
			},
		}
	}
	return b
}

// BenchmarkEncode compares the hand-written encoder with building pdata's
// plog.Logs from the same records and marshalling it, the way an exporter
// on the collector's data model would.
func BenchmarkEncode(b *testing.B) {
	batch := benchBatch()
	b.Run("encoder=handwritten", func(b *testing.B) {
		bl := newBuilder(DefaultConfig(), Resource{HostName: "h"}, "dev")
		b.ReportAllocs()
		size := 0
		for b.Loop() {
			items := bl.build(batch)
			size = len(items[0].Data)
			bl.pool.Put(items[0].Data) // as the buffer does once the request is accepted
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
		b.ReportMetric(float64(size), "bytes/request")
	})
	b.Run("encoder=pdata", func(b *testing.B) {
		b.ReportAllocs()
		size := 0
		for b.Loop() {
			data, err := plogotlp.NewExportRequestFromLogs(pdataLogs(batch)).MarshalProto()
			if err != nil {
				b.Fatal(err)
			}
			size = len(data)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
		b.ReportMetric(float64(size), "bytes/request")
	})
}

// pdataLogs maps a batch as the hand-written encoder does (one resource,
// the same attributes), for the benchmark only.
func pdataLogs(batch record.Batch) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	k := batch[0].Kubernetes
	ra := rl.Resource().Attributes()
	ra.PutStr("k8s.namespace.name", k.Namespace)
	ra.PutStr("k8s.pod.name", k.Pod)
	ra.PutStr("k8s.container.name", k.Container)
	ra.PutStr("k8s.node.name", k.Node)
	ra.PutStr("host.name", "h")
	ra.PutStr(attrSource, batch[0].Source)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(scopeName)
	sl.Scope().SetVersion("dev")
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(batch))
	for i := range batch {
		r := &batch[i]
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(r.Time))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.ObservedTime))
		lr.SetSeverityNumber(plog.SeverityNumber(r.Severity))
		lr.SetSeverityText(r.Severity.Level().String())
		lr.Body().SetStr(r.Message)
		attrs := lr.Attributes()
		attrs.EnsureCapacity(len(r.Fields) + 3)
		for _, f := range r.Fields {
			if f.Key == "trace_id" {
				var id [16]byte
				if decodeID(id[:], f.Value) {
					lr.SetTraceID(id)
					continue
				}
			}
			putValue(attrs.PutEmpty(f.Key), f.Value)
		}
		attrs.PutStr(attrFilePath, r.Path)
		attrs.PutStr(attrIOStream, r.Stream)
		attrs.PutStr(attrFormat, r.Format)
	}
	return ld
}

func putValue(dst pcommon.Value, v record.Value) {
	switch v.Kind() {
	case record.KindString:
		dst.SetStr(v.Str())
	case record.KindInt:
		dst.SetInt(v.Int64())
	case record.KindFloat:
		dst.SetDouble(v.Float64())
	case record.KindBool:
		dst.SetBool(v.Bool())
	case record.KindObject:
		m := dst.SetEmptyMap()
		for _, f := range v.Object() {
			putValue(m.PutEmpty(f.Key), f.Value)
		}
	case record.KindArray:
		s := dst.SetEmptySlice()
		for _, it := range v.Array() {
			putValue(s.AppendEmpty(), it)
		}
	}
}

// BenchmarkExport is the whole path over loopback: encode, buffer, send,
// the fake receiver's answer (it reads and discards), per protocol.
func BenchmarkExport(b *testing.B) {
	batch := benchBatch()
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		for _, compression := range []string{"none", "gzip"} {
			b.Run("protocol="+protocol+"/compression="+compression, func(b *testing.B) {
				f := startFake(&testing.T{}, protocol == ProtocolGRPC)
				defer f.srv.Close()
				f.discard = true // measure the exporter, not the fake's decoding
				cfg := testConfig(f.endpoint(), protocol)
				cfg.Compression = compression
				e, err := New(cfg, Deps{})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close(context.Background())
				b.ReportAllocs()
				for b.Loop() {
					if err := e.Export(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// corpusBatches parses the first lines of OBSADAPTER_CORPUS (the corpus of
// bench/e2e.sh) as the adapter does, in batches of 1,000 records; the
// benchmarks that use it are skipped when it is unset.
func corpusBatches(b *testing.B, lines int) []record.Batch {
	path := os.Getenv("OBSADAPTER_CORPUS")
	if path == "" {
		b.Skip("set OBSADAPTER_CORPUS to a corpus of bench/e2e.sh")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := parsers.NewStream(parsers.DefaultConfig(), parsers.Meta{Source: "bench", Path: path, Stream: "stdout"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var all record.Batch
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 0; n < lines && sc.Scan(); n++ {
		all = append(all, st.Feed(sc.Bytes(), record.Position{}, false, now)...)
	}
	all = append(all, st.FlushAll(now)...)
	var batches []record.Batch
	for len(all) > 0 {
		n := min(len(all), 1000)
		batches = append(batches, all[:n:n])
		all = all[n:]
	}
	return batches
}

// BenchmarkEncodeCorpus is the encoder on the records of bench/e2e.sh's
// corpus, the mix the end-to-end job costs.
func BenchmarkEncodeCorpus(b *testing.B) {
	batches := corpusBatches(b, 50_000)
	bl := newBuilder(DefaultConfig(), Resource{HostName: "h", PodName: "p", Namespace: "ns"}, "dev")
	b.ReportAllocs()
	recs, size := 0, 0
	for b.Loop() {
		for _, batch := range batches {
			for _, it := range bl.build(batch) {
				size += len(it.Data)
				bl.pool.Put(it.Data)
			}
			recs += len(batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(recs), "ns/record")
	b.ReportMetric(float64(size)/float64(recs), "bytes/record")
}
