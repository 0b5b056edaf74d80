package parsers

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/formats.md examples")

// parseFile runs a whole file through one auto-detecting stream with the
// pinned clock and UTC, as `obsadapter parse --now` does, and returns the
// records.
func parseFile(t testing.TB, path string, mutate func(*Config)) []record.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := newTestStream(t, mutate)
	s.meta = Meta{Source: "test"}
	var out []record.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var off int64
	for sc.Scan() {
		off += int64(len(sc.Bytes())) + 1
		out = append(out, s.Feed(sc.Bytes(), record.Position{Offset: off}, false, testNow)...)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return append(out, s.FlushAll(testNow)...)
}

func ndjson(recs []record.Record) []byte {
	var b []byte
	for i := range recs {
		b = recs[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return b
}

// TestGolden parses every testdata/<dir>/*.log and compares the NDJSON with
// its .golden.ndjson (go test -run TestGolden -update rewrites them). In a
// directory named after a format, every record of <format>.log must be
// detected as that format (envelope directories: every record must carry
// the envelope's stream).
func TestGolden(t *testing.T) {
	logs, err := filepath.Glob("testdata/*/*.log")
	if err != nil || len(logs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, path := range logs {
		dir := filepath.Base(filepath.Dir(path))
		name := strings.TrimSuffix(filepath.Base(path), ".log")
		t.Run(dir+"/"+name, func(t *testing.T) {
			recs := parseFile(t, path, nil)
			if name == dir {
				checkFormat(t, dir, recs)
			}
			got := ndjson(recs)
			golden := strings.TrimSuffix(path, ".log") + ".golden.ndjson"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("%s differs at record %d:\ngot  %s\nwant %s", golden, i+1, g, w)
					}
				}
			}
		})
	}
}

func checkFormat(t *testing.T, dir string, recs []record.Record) {
	t.Helper()
	if len(recs) < 10 {
		t.Errorf("%s: only %d records, want at least 10", dir, len(recs))
	}
	for i, r := range recs {
		switch dir {
		case envelopeCRI, envelopeDocker:
			if r.Stream != "stdout" && r.Stream != "stderr" {
				t.Errorf("record %d: stream %q, want stdout or stderr: %s", i+1, r.Stream, r.Message)
			}
		case "mixed":
			continue
		case "multiline":
			if !strings.Contains(r.Message, "\n") {
				t.Errorf("record %d is not multiline: %q", i+1, r.Message)
			}
		default:
			if r.Format != dir {
				t.Errorf("record %d: format %q, want %q: %s", i+1, r.Format, dir, r.AppendJSON(nil))
			}
		}
	}
}
