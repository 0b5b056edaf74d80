// Package benchcorpus gives benchmarks the log file they run on: the one
// OBSADAPTER_CORPUS names, such as ../shared/bench/gen_corpus.py makes
// (generated corpora are never committed).
package benchcorpus

import (
	"os"
	"testing"
)

// Read returns the corpus's path and bytes, and skips the benchmark when
// OBSADAPTER_CORPUS is unset.
func Read(b testing.TB) (path string, data []byte) {
	b.Helper()
	path = os.Getenv("OBSADAPTER_CORPUS")
	if path == "" {
		b.Skip("set OBSADAPTER_CORPUS to a log file, e.g. from ../shared/bench/gen_corpus.py --lines 1000000 --seed 1 --format mixed")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, data
}
