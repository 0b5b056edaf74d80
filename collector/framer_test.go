package collector

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type framed struct {
	line      string
	end       int64
	truncated bool
}

// frameAll runs the framer over the input the way sources do: fill, then
// take lines until it needs more; at EOF take the unterminated rest.
func frameAll(r io.Reader, offset int64, maxLine int) []framed {
	f := newFramer(offset, maxLine)
	var out []framed
	for {
		for {
			line, end, tr, ok := f.next()
			if !ok {
				break
			}
			out = append(out, framed{string(line), end, tr})
		}
		if _, err := f.fill(r); err != nil {
			break
		}
	}
	for {
		line, end, tr, ok := f.next()
		if !ok {
			break
		}
		out = append(out, framed{string(line), end, tr})
	}
	if line, end, tr, ok := f.rest(); ok {
		out = append(out, framed{string(line), end, tr})
	}
	return out
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		input   string
		offset  int64
		maxLine int
		want    []framed
	}{
		{"simple lines", "a\nbb\n", 0, 64, []framed{{"a", 2, false}, {"bb", 5, false}}},
		{"offset carried", "a\n", 100, 64, []framed{{"a", 102, false}}},
		{"crlf stripped", "a\r\nb\n", 0, 64, []framed{{"a", 3, false}, {"b", 5, false}}},
		{"empty lines kept", "\n\na\n", 0, 64, []framed{{"", 1, false}, {"", 2, false}, {"a", 4, false}}},
		{"unterminated tail at EOF", "a\nbc", 0, 64, []framed{{"a", 2, false}, {"bc", 4, false}}},
		{"long line truncated, next line intact", long + "\nok\n", 0, 64, []framed{{long[:64], 101, true}, {"ok", 104, false}}},
		{"long unterminated tail truncated", "a\n" + long, 0, 64, []framed{{"a", 2, false}, {long[:64], 102, true}}},
		{"line exactly max", long[:64] + "\n", 0, 64, []framed{{long[:64], 65, false}}},
		{"invalid utf8 passes through", "\xff\xfe\n", 0, 64, []framed{{"\xff\xfe", 3, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []struct {
				name string
				r    func(string) io.Reader
			}{
				{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
				{"byte by byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
			} {
				got := frameAll(mode.r(tt.input), tt.offset, tt.maxLine)
				if len(got) != len(tt.want) {
					t.Fatalf("%s: got %d lines %+v, want %d %+v", mode.name, len(got), got, len(tt.want), tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("%s: line %d = %+v, want %+v", mode.name, i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

// An idle framer holds no read buffer: it lends it back once nothing is
// pending, and takes one again on the next read. A partial line keeps it.
func TestFramerReleasesItsBufferWhenIdle(t *testing.T) {
	f := newFramer(0, 1<<20)
	if _, err := f.fill(strings.NewReader("a\nb\n")); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, _, ok := f.next(); !ok {
			break
		}
	}
	f.release()
	if f.buf != nil {
		t.Fatal("idle framer kept its buffer")
	}
	f.fill(strings.NewReader("partial"))
	f.next()
	f.release()
	if f.buf == nil {
		t.Fatal("released the buffer of a pending partial line")
	}
	f.fill(strings.NewReader(" line\n"))
	line, end, _, ok := f.next()
	if !ok || string(line) != "partial line" || end != 17 {
		t.Fatalf("after a release and a new read: %q %d %v", line, end, ok)
	}
}
