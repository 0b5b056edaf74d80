package fluent

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tinylib/msgp/msgp"
)

// TestTimeSpelling: the str is time.RFC3339Nano in UTC, whatever the cache
// held before, for times in and out of four-digit years and zones.
func TestTimeSpelling(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	tests := []struct {
		name string
		t    time.Time
	}{
		{"whole second", time.Date(2026, 11, 23, 20, 31, 2, 0, time.UTC)},
		{"same second, nanos", time.Date(2026, 11, 23, 20, 31, 2, 123456789, time.UTC)},
		{"same second, trailing zeros", time.Date(2026, 11, 23, 20, 31, 2, 120000000, time.UTC)},
		{"same second, one nano", time.Date(2026, 11, 23, 20, 31, 2, 1, time.UTC)},
		{"next second", time.Date(2026, 11, 23, 20, 31, 3, 5000, time.UTC)},
		{"zone, same instant as before", time.Date(2026, 11, 24, 2, 1, 3, 5000, east)},
		{"new year", time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"leap day", time.Date(2028, 2, 29, 0, 0, 0, 1000, time.UTC)},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 42, time.UTC)},
		{"negative year", time.Date(-3, 6, 1, 12, 0, 0, 0, time.UTC)},
		{"back to 2026", time.Date(2026, 11, 23, 20, 31, 2, 7, time.UTC)},
	}
	var tc timeCache
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTime(t, &tc, tt.t)
		})
	}
	t.Run("random walk", func(t *testing.T) {
		ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for range 20000 {
			ts = ts.Add(time.Duration(rand.Int64N(int64(3 * time.Second))))
			if rand.IntN(4) == 0 {
				ts = ts.Truncate(time.Millisecond)
			}
			checkTime(t, &tc, ts)
		}
	})
}

func checkTime(t *testing.T, tc *timeCache, ts time.Time) {
	t.Helper()
	b := tc.appendTime(nil, ts)
	got, rest, err := msgp.ReadStringBytes(b)
	if err != nil || len(rest) != 0 {
		t.Fatalf("%v: not one str: %v, %d bytes left", ts, err, len(rest))
	}
	if want := ts.UTC().Format(time.RFC3339Nano); got != want {
		t.Fatalf("%v: got %q, want %q", ts, got, want)
	}
}

// TestAppendStr: every str is valid UTF-8 with the right header; invalid
// bytes become U+FFFD as in the JSON form.
func TestAppendStr(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"short", "ok"},
		{"seven", "seven!!"},
		{"word", "eight!!!"},
		{"fixstr limit", strings.Repeat("a", 31)},
		{"str8", strings.Repeat("a", 32)},
		{"str8 limit", strings.Repeat("a", 255)},
		{"str16", strings.Repeat("a", 256)},
		{"str32", strings.Repeat("a", 1<<16)},
		{"utf-8", "naïve café ✓ 日本"},
		{"invalid first", "\xffabcdefgh"},
		{"invalid last", "abcdefgh\xff"},
		{"invalid middle of a word", "abc\xfedefghijk"},
		{"truncated rune", "abc\xe2\x9c"},
		{"invalid short", "\xc3"},
		{"invalid growing the header", strings.Repeat("\xff", 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkStr(t, tt.in)
		})
	}
}

func checkStr(t *testing.T, in string) {
	t.Helper()
	b := appendStr([]byte("prefix"), in)
	if string(b[:6]) != "prefix" {
		t.Fatalf("prefix overwritten: %q", b[:6])
	}
	got, rest, err := msgp.ReadStringBytes(b[6:])
	if err != nil || len(rest) != 0 {
		t.Fatalf("not one str: %v, %d bytes left", err, len(rest))
	}
	if want := strings.ToValidUTF8(in, "\uFFFD"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzAppendStr(f *testing.F) {
	for _, s := range []string{"", "a", "plain ascii text", "naïve", "\xff", "abc\xe2\x9c", strings.Repeat("é", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkStr(t, s)
	})
}

// TestIsASCII puts one high byte at every position of every short length.
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 40; n++ {
		p := []byte(strings.Repeat("x", n))
		if !isASCII(p) {
			t.Fatalf("%d ASCII bytes reported as not ASCII", n)
		}
		for i := range n {
			p[i] = 0x80
			if isASCII(p) {
				t.Fatalf("high byte at %d of %d not seen", i, n)
			}
			if utf8.Valid(p) {
				t.Fatalf("test bytes should be invalid UTF-8")
			}
			p[i] = 'x'
		}
	}
}

// TestBuilderReusesBuffers: a released chunk buffer carries the next chunk
// of its size (the pool's bounds are tested in exporters/buffer).
func TestBuilderReusesBuffers(t *testing.T) {
	tg, _ := newTagger("app")
	bl := newBuilder(tg, false, 100, 1<<20)
	batch := numbered(0, 100)
	bl.pool.Put(bl.build(batch)[0].Data) // grown from the first guess: the size is known now
	first := bl.build(batch)[0].Data
	bl.pool.Put(first)
	second := bl.build(batch)[0].Data
	if &first[:1][0] != &second[:1][0] {
		t.Error("the released buffer was not reused")
	}
	bl.pool.Put(second)
	if allocs := testing.AllocsPerRun(10, func() {
		for _, c := range bl.build(batch) {
			bl.pool.Put(c.Data)
		}
	}); allocs > 4 { // the chunk, its id, the result slice; not the message
		t.Errorf("%v allocations per build", allocs)
	}
}

// BenchmarkAppendStr is the str writer on short and long, ASCII and not.
func BenchmarkAppendStr(b *testing.B) {
	for _, tt := range []struct{ name, s string }{
		{"short", "GET"}, {"word", "request completed"}, {"long", strings.Repeat("log line text ", 10)}, {"utf-8", "naïve café"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			for b.Loop() {
				buf = appendStr(buf[:0], tt.s)
			}
		})
	}
}
