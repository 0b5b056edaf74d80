package parsers

import (
	"bytes"
	"os"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

// The benchmarks read corpora made by ../shared/bench/gen_corpus.py (not
// committed), e.g.
//
//	python3 ../shared/bench/gen_corpus.py --lines 200000 --format mixed --out /tmp/mixed.log
//	OBSADAPTER_CORPUS_DIR=/tmp go test -run '^$' -bench . -benchmem -cpu 1 ./parsers/
//
// BenchmarkStream/mixed expects /tmp/mixed.log (or $OBSADAPTER_CORPUS_DIR/mixed.log),
// the others corpus-<format>.log. One op is one line.
func BenchmarkStream(b *testing.B) {
	dir := os.Getenv("OBSADAPTER_CORPUS_DIR")
	if dir == "" {
		dir = "/tmp"
	}
	// "overhead" is the mixed corpus with the format forced to plain: what
	// every line costs besides detection and its format's parser.
	for _, name := range []string{"mixed", "json", "logfmt", "nginx", "syslog", "klog", "plain", "cri", "overhead"} {
		b.Run(name, func(b *testing.B) {
			file := dir + "/corpus-" + name + ".log"
			if name == "mixed" || name == "overhead" {
				file = dir + "/mixed.log"
			}
			data, err := os.ReadFile(file)
			if err != nil {
				b.Skipf("corpus missing (make it with gen_corpus.py): %v", err)
			}
			// Line ends as offsets, not a [][]byte: 200,000 slice headers
			// would make every GC cycle scan them and skew the result.
			var ends []int32
			for i, c := range data {
				if c == '\n' {
					ends = append(ends, int32(i))
				}
			}
			s := newTestStream(b, func(c *Config) {
				if name == "overhead" {
					c.Format = "plain"
				}
			})
			buf := make([]byte, 0, 64<<10)
			i, start := 0, 0
			b.SetBytes(int64(len(data) / len(ends)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				end := int(ends[i])
				buf = append(buf[:0], data[start:end]...)
				s.Feed(buf, record.Position{Offset: int64(end + 1)}, false, testNow)
				start = end + 1
				if i++; i == len(ends) {
					i, start = 0, 0
					s.FlushAll(testNow)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkFormat parses each format's golden input over and over with the
// format forced and multiline off: ns/op is the cost of one line of that
// format's parser, without detection.
func BenchmarkFormat(b *testing.B) {
	for _, name := range Formats() {
		data, err := os.ReadFile("testdata/" + name + "/" + name + ".log")
		if err != nil {
			b.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		b.Run(name, func(b *testing.B) {
			s := newTestStream(b, func(c *Config) {
				c.Format = name
				c.Multiline = Multiline{Mode: MultilineOff}
			})
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				s.Feed(lines[i], record.Position{}, false, testNow)
				if i++; i == len(lines) {
					i = 0
					s.FlushAll(testNow)
				}
			}
		})
	}
}

// BenchmarkLearned is the learned-header path: an auto-detecting stream on
// one layout no named format claims, so after the first lines every line
// takes the sticky learned layout at fixed cost.
func BenchmarkLearned(b *testing.B) {
	for _, name := range []string{"hdfs", "spark", "windows_cbs", "websphere", "oslo"} {
		data, err := os.ReadFile("testdata/layouts/" + name + ".log")
		if err != nil {
			b.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		b.Run(name, func(b *testing.B) {
			s := newTestStream(b, func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} })
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				s.Feed(lines[i], record.Position{}, false, layoutClock)
				if i++; i == len(lines) {
					i = 0
				}
			}
		})
	}
}
