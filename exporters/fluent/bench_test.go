package fluent

import (
	"bufio"
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// corpus parses the mixed-format corpus made by
//
//	python3 /work/shared/bench/gen_corpus.py --lines 200000 --format mixed --out /tmp/mixed.log
//
// (FLUENT_BENCH_CORPUS overrides the path) into records once, outside the
// timed loop: the benchmark measures encoding, sending and acks.
func corpus(b *testing.B) []record.Record {
	path := os.Getenv("FLUENT_BENCH_CORPUS")
	if path == "" {
		path = "/tmp/mixed.log"
	}
	f, err := os.Open(path)
	if err != nil {
		b.Skipf("no corpus (%v); generate it with shared/bench/gen_corpus.py", err)
	}
	defer f.Close()
	st, err := parsers.NewStream(parsers.DefaultConfig(), parsers.Meta{Source: "app", Path: path, Stream: "stdout"})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)
	var out []record.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var off int64
	for sc.Scan() {
		off += int64(len(sc.Bytes())) + 1
		out = append(out, st.Feed(sc.Bytes(), record.Position{Offset: off}, false, now)...)
	}
	return append(out, st.FlushAll(now)...)
}

// BenchmarkExportAcked measures records/s acknowledged end to end into the
// test receiver on loopback, in the pipeline's batches of 1024 records
// (Export returns only after the ack).
func BenchmarkExportAcked(b *testing.B) {
	recs := corpus(b)
	for _, mode := range []struct{ compress, buffer string }{{"none", "memory"}, {"gzip", "memory"}, {"none", "file"}} {
		b.Run("compress="+mode.compress+"/buffer="+mode.buffer, func(b *testing.B) {
			s, err := forwardtest.New(forwardtest.Options{CountOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			cfg := testConfig(s.Addr())
			cfg.Compress = mode.compress
			cfg.Buffer.Type = mode.buffer
			cfg.Buffer.MaxBytes = 256 << 20
			e, err := New(cfg, Deps{StateDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(context.Background())
			const batch = 1024
			cpu0 := cpuSeconds()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				lo := (i * batch) % (len(recs) - batch)
				if err := e.Export(context.Background(), recs[lo:lo+batch]); err != nil {
					b.Fatal(err)
				}
				n += batch
			}
			for e.buf.Durable() { // file: count until everything is acked
				ch := e.buf.Changes()
				if r, _ := e.buf.Depth(); r == 0 {
					break
				}
				<-ch
			}
			b.StopTimer()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			// Sender and receiver share the process: this is both sides.
			b.ReportMetric((cpuSeconds()-cpu0)/float64(n)*1e6, "cpu-s/Mrecords")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkEncode is the encoder alone: records into PackedForward chunks,
// whose buffers come back as they would once acknowledged.
func BenchmarkEncode(b *testing.B) {
	recs := corpus(b)
	tg, _ := newTagger("obsadapter.{source}")
	bl := newBuilder(tg, false, 4096, 4<<20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lo := (i * 1024) % (len(recs) - 1024)
		for _, c := range bl.build(recs[lo : lo+1024]) {
			bl.pool.Put(c.Data) // as the sender does once the chunk is acknowledged
		}
	}
	b.ReportMetric(float64(b.N*1024)/b.Elapsed().Seconds(), "records/s")
}

// cpuSeconds is the process's user+system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
