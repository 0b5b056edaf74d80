package processors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/secrets"
)

// TestKeyMemo: the memo answers as IsSecretName does, for keys of every
// length around its bound, asked over and over in an order that makes them
// take each other's slots, and for keys that differ only in a byte the
// words might miss, or only in length.
func TestKeyMemo(t *testing.T) {
	var keys []string
	for n := range maxMemoKey + 4 {
		keys = append(keys, strings.Repeat("k", n), strings.Repeat("x", n))
		if n > 0 {
			keys = append(keys, strings.Repeat("k", n-1)+"Y")
		}
	}
	keys = append(keys, "token", "tokens", "Token", "tok", "password", "passwor", "pass_word", "db_password",
		"x_api_key_12345", "x_api_key_123456", "x_api_key_1234567", "aaaaaaaapassword", "passwordaaaaaaaa",
		"aaaa_pwd_aaaaaaa", "user_agent", "status", "ts", "", "ａｕｔｈ", "api\x00key")
	for n := 1; n <= maxMemoKey; n++ { // a secret name's byte in each place of a short key
		for i := 0; i+3 <= n; i++ {
			keys = append(keys, strings.Repeat("a", i)+"pwd"+strings.Repeat("a", n-i-3))
		}
	}
	// Many keys alike but for their last bytes, some secret and some not,
	// share slots: an answer must never be another key's.
	for i := range 100 {
		keys = append(keys, fmt.Sprintf("aaaaaaaa_token%02d", i), fmt.Sprintf("aaaaaaaa_tuken%02d", i))
	}
	var m keyMemo
	for round := range 3 {
		for i := range keys {
			k := keys[(i*7+round)%len(keys)]
			if got, want := m.secret(k), secrets.IsSecretName(k); got != want {
				t.Fatalf("round %d: secret(%q) = %v, IsSecretName says %v", round, k, got, want)
			}
		}
	}
}

// FuzzTextWords: two texts of at most 16 bytes with the same length and
// words are the same text, so the memo never answers for another key.
func FuzzTextWords(f *testing.F) {
	f.Add("password", "passwerd")
	f.Add("abcdefghijklmnop", "abcdefghXjklmnop")
	f.Add("abc", "abd")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > maxMemoKey || len(b) > maxMemoKey || len(a) != len(b) || a == b {
			return
		}
		fa, la := textWords(a)
		fb, lb := textWords(b)
		if fa == fb && la == lb {
			t.Fatalf("%q and %q have the same words", a, b)
		}
	})
}
