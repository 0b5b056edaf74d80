package record

import (
	"encoding/json"
	"strings"
	"testing"
)

// validRunes is s as JSON should carry it: every invalid byte one U+FFFD.
func validRunes(s string) string {
	var b strings.Builder
	for _, r := range s { // range yields U+FFFD for each invalid byte
		b.WriteRune(r)
	}
	return b.String()
}

func checkJSONString(t *testing.T, s string) {
	t.Helper()
	out := AppendJSONString(nil, s)
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("AppendJSONString(%q) = %s: not JSON: %v", s, out, err)
	}
	if want := validRunes(s); got != want {
		t.Fatalf("AppendJSONString(%q) decodes to %q, want %q", s, got, want)
	}
	if n := JSONStringSize(s); n != len(out) {
		t.Fatalf("JSONStringSize(%q) = %d, AppendJSONString wrote %d", s, n, len(out))
	}
}

func TestAppendJSONString(t *testing.T) {
	long := strings.Repeat("abcdefgh", 5)
	for name, s := range map[string]string{
		"empty":               "",
		"short ascii":         "ok",
		"exactly eight":       "abcdefgh",
		"quote after a word":  long + `"` + long,
		"backslash in word 2": "abcdefghij\\klm",
		"controls":            "a\x00b\x01c\x1fd\te\nf\rg\x7f",
		"del is plain":        strings.Repeat("\x7f", 17),
		"utf8 in the middle":  long + "héllo wörld 日本語" + long,
		"invalid utf8":        long + "\xff\xfe" + long + "\xc3",
		"truncated rune end":  "abcdefg\xe6\x97",
		"space and tilde":     strings.Repeat(" ~", 20),
		"every special at 7":  "1234567\"1234567\\1234567\n1234567\x80",
	} {
		t.Run(name, func(t *testing.T) { checkJSONString(t, s) })
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "abcdefgh\"", "\xff", "日本語 text\n", strings.Repeat("x", 40) + "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkJSONString(t, s) })
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := `GET /api/v1/orders/12345?expand=items HTTP/1.1 from 10.1.2.3 took 12.5ms user=alice`
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendJSONString(buf[:0], s)
	}
}
