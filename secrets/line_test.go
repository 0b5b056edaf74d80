package secrets

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obsadapter/obsadapter/internal/benchcorpus"
)

// checkLineParts holds LineClean to its promise for line: when it passes
// the line's parts, no rule changes a part InCleanLine accepts, and when
// it passes its names, no key part (IsKeyPart) is a secret name. Every
// part is tried (first by the set's prefilter, and where that says it may
// change, by the rules themselves), so a line costs its length squared.
func checkLineParts(t *testing.T, set *Set, line string) {
	t.Helper()
	parts, names := LineClean(line)
	if !parts {
		if names {
			t.Fatalf("LineClean(%q) passes names but not parts", line)
		}
		return
	}
	for a := 0; a < len(line); a++ {
		for b := a + 1; b <= len(line); b++ {
			part := line[a:b]
			if names && IsKeyPart(line, a, b) && IsSecretName(part) {
				t.Fatalf("LineClean(%q) passes names, but the key part %q (at %d) is a secret name", line, part, a)
			}
			if !InCleanLine(line, part) || set.Clean(part) {
				continue
			}
			if got := applyRules(part); got != part {
				t.Fatalf("LineClean(%q) passes parts, but the part %q (at %d) becomes %q", line, part, a, got)
			}
		}
	}
}

// applyRules is what the default rules make of s, each with its own test.
func applyRules(s string) string {
	for _, r := range defaultRules() {
		s = r.Replace(s, nil)
	}
	return s
}

func TestInCleanLine(t *testing.T) {
	line := "msg=-p x --token=y"
	for _, tc := range []struct {
		name string
		t    string
		want bool
	}{
		{"whole line", line, true},
		{"empty", "", true},
		{"a part", line[4:7], false}, // starts with a '-' the line has a byte before
		{"a part after its dash", line[5:7], true},
		{"the end", line[len(line)-1:], true},
		{"a copy", strings.Clone(line[:3]), false},
		{"from the line's start", line[:3], true},
		{"past the end", line[len(line)-1:] + "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := InCleanLine(line, tc.t); got != tc.want {
				t.Errorf("InCleanLine(%q) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
	long := line + " and more"
	if InCleanLine(line, long[:len(line)+1]) {
		t.Error("a text running past the line's end is in it")
	}
	if dash := "-p x"; InCleanLine(dash, dash[:2]) {
		t.Error("a part starting with '-' is left to the caller, at the line's start too")
	}
}

// TestLineCleanCases: lines a part of which a rule changes, however the
// parser cuts it, are not passed; lines with a secret's look but none are.
func TestLineCleanCases(t *testing.T) {
	if !haveWide {
		t.Skip("this CPU has no AVX2 and BMI2: LineClean passes no line here")
	}
	set := defaultSet(t)
	for _, tc := range []struct {
		name         string
		line         string
		parts, names bool
	}{
		{"plain", "GET /api/v1/orders/123 HTTP/1.1 200 512 0.003", true, true},
		{"hint in prose", "Failed password for invalid user bob from 10.1.2.3 port 22 ssh2", true, true},
		{"a hint in a value", `{"msg":"cache miss for key sess:51fb98b8da9f","n":1}`, true, true},
		{"a hint in a key that holds a blank", `{"msg":"ok","key name":"x"}`, true, false},
		{"a secret name that holds a blank", `{"msg":"ok","password hint":"abcdef"}`, true, false},
		// A JSON key may hold a ':' or '=' too, which no key part does: a
		// blank's quoted key runs to the first quote whatever lies before it.
		{"a JSON key that holds a blank and a colon", `{"msg":"ok","a password b:c":"abcdefgh"}`, true, false},
		{"a JSON key that holds a blank and an equals sign", `{"msg":"ok","the api key x=y":"abcdefgh"}`, true, false},
		// A JSON key holds the other quote: the key runs on to its
		// closing quote.
		{"a JSON key that holds a blank and the other quote", `{"msg":"ok","api key'00":0,"n":1}`, true, false},
		{"a JSON key that holds the other quote", `{"msg":"ok","api_key'00":0,"n":1}`, true, false},
		{"a JSON value before a key, no blank between", `{"pod":"auth-f19755d4c1-1a2b8","method":"POST"}`, true, true},
		{"hint before a colon, not a secret name", "payment authorised: amount=54.00 currency=EUR", true, true},
		{"a word that holds a trigram only", "order 7492479 created for customer user0071 by broker", true, true},
		{"an assignment", `ts=1 level=info password=hunter2 user=bob`, false, false},
		{"a JSON key", `{"msg":"login","api_key":"abc123def"}`, false, false},
		{"a cut name: monkey holds key", "a monkey: banana, and a donkey= mule", false, false},
		{"a cut name: a pair after separators", "the private___key_id: 12345678901", false, false},
		{"a secret word inside a longer one", "the passwordless: mode is on and fine", true, true},
		{"a Spring header's dashes", "2026-12-05 07:31:29.123  INFO 1 --- [main] c.e.App : Started App in 2 s", true, true},
		{"a client's long flag", "then curl --user bob:xyz12345 https://example.com/api", false, false},
		{"a client's quoted long flag", `then curl -"-user" bob:xyz12345 https://example.com/api`, false, false},
		{"OLDPWD is no secret", "cd OLDPWD=/home/bob now please", true, false},
		{"a flag", "running app --password hunter2 now", false, false},
		{"a flag cut short", "running app --passwordless mode now", false, false},
		{"a quoted flag", `running app --pa"ss"word hunter2 now`, false, false},
		{"a flag quoted from its dash", `running app -"pass"word hunter2 now`, false, false},
		{"a quoted dash, no hint", `10.1.2.3 - - [x] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"`, true, true},
		{"a quoted dash last", `10.1.2.3 - - [x] "GET / HTTP/1.1" 200 5 "curl/8.0" "-"`, true, true},
		// The shell joins "-" and what follows it into a flag.
		{"a quoted dash that starts a client's flag", `exec mysql -uroot "-"phunter2 shop`, false, false},
		{"a quoted dash that starts a flag", `running app '-'-password hunter2 now`, false, false},
		{"a client's flag", "exec mysql -uroot -phunter2 shop", false, false},
		{"a client's flag without a client", "tail -n 20 -p file.log and more", true, true},
		{"bearer", "header was Bearer abcdefghijklmnopqrstuvwxyz", false, false},
		{"bearer after a letter", "header wasBearer abcdefghijklmnopqrstuvwxyz0123", false, false},
		{"a JWT after a slash", "GET /cb/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln done", false, false},
		{"an AWS key after a letter", "keyidxAKIAIOSFODNN7EXAMPLE used here ok", false, false},
		{"a URL's password", "dial postgres://bob:s3cret@db:5432/app failed", false, false},
		{"a URL without one", "dial https://db.example.com:5432/app failed now", true, true},
		{"a card", "paid with 4111 1111 1111 1111 at the shop today", false, false},
		{"a date and time", "2026-12-05 07:31:29,123 INFO main started in 3 s", true, true},
		// 13 digits in a row that no piece of makes a card's number.
		{"a pod's hash of digits", `{"msg":"ok","pod":"auth-0125633370-6870d"}`, true, true},
		{"a time in milliseconds", `{"msg":"ok","at":1732393862000,"n":1}`, true, true},
		{"a snowflake id", "order 1234567890123456789 shipped to the customer", true, true},
		{"an order number that fails Luhn", "order 4111 1111 1111 1112 is late", true, true},
		// A part may cut a card's number out of a longer run.
		{"a card in a longer run", "ref 94111111111111111 done today", false, false},
		{"a card after a letter", "refX4111111111111111 done today", false, false},
		{"a private key", "key -----BEGIN RSA PRIVATE KEY----- MIIEow", false, false},
		{"a dash first", "--password hunter2 was given on the command", false, false},
		{"short", "password=x", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parts, names := LineClean(tc.line)
			if parts != tc.parts || names != tc.names {
				t.Errorf("LineClean(%q) = %v, %v; want %v, %v", tc.line, parts, names, tc.parts, tc.names)
			}
			checkLineParts(t, set, tc.line)
		})
	}
}

// TestLineCleanLayouts: every line of the parsers' layout and format test
// files (real software's default output), and each with every leak of
// leaks.tsv put in it, keeps LineClean's promise.
func TestLineCleanLayouts(t *testing.T) {
	if !haveWide {
		t.Skip("this CPU has no AVX2 and BMI2: LineClean passes no line here")
	}
	set := defaultSet(t)
	files, _ := filepath.Glob("../parsers/testdata/*/*.log")
	if len(files) < 40 {
		t.Fatalf("found %d parser test files", len(files))
	}
	var lines []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if l := sc.Text(); len(l) <= 400 {
				lines = append(lines, l)
			}
		}
		fh.Close()
	}
	passed := 0
	for _, l := range lines {
		if p, _ := LineClean(l); p {
			passed++
		}
		checkLineParts(t, set, l)
	}
	t.Logf("%d of %d lines passed", passed, len(lines))
	if passed < len(lines)/2 {
		t.Errorf("only %d of %d real lines passed: the check is too strict to help", passed, len(lines))
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	for i, l := range readLeaks(t) {
		host := lines[(i*step*31)%len(lines)]
		for _, at := range []int{0, len(host) / 2, len(host)} {
			line := host[:at] + l.line + host[at:]
			if len(line) > 400 {
				continue
			}
			if l.rule != "-" {
				if p, _ := LineClean(line); p {
					t.Errorf("LineClean passes %q, which holds a %s", line, l.rule)
				}
			}
			checkLineParts(t, set, line)
		}
	}
}

func FuzzLineClean(f *testing.F) {
	for _, r := range Rules {
		f.Add(r.Example)
		f.Add("ts=2026-12-05 msg=\"" + r.Example + "\" x=1")
	}
	f.Add(`{"msg":"a monkey: b","private__key_id":"x","u":"-p"}`)
	f.Add(`run --pa"ss"word x; mysql -u'root' -p"x"`)
	f.Add("ids 94111111111111111 0125633370-6870 4111 1111 1111 1112 x")
	set := defaultSet(f)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 160 {
			s = s[:160]
		}
		checkLineParts(t, set, s)
	})
}

// BenchmarkLineClean: LineClean over the first lines of OBSADAPTER_CORPUS,
// a log file such as ../shared/bench/gen_corpus.py makes; bytes/s are the
// lines'.
func BenchmarkLineClean(b *testing.B) {
	_, data := benchcorpus.Read(b)
	lines := strings.Split(string(data), "\n")
	lines = lines[:min(len(lines), 2000)]
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, l := range lines {
			LineClean(l)
		}
	}
}

// TestLineCleanByCalls: a line that the scan's first call settles, and
// one that takes its flags through several calls, get the answer its flags
// give one by one (wideFlags), at every length and with flags and runs
// across every block's edge.
func TestLineCleanByCalls(t *testing.T) {
	set := newLineSet()
	for _, base := range []string{
		strings.Repeat("key=pas 4111 1111 1111 -x http://a:b@c ", 80),
		strings.Repeat("GET /index.html 200 in 12 ms from 10.0.0.1 ", 80),
		strings.Repeat("order 4111-1111-1111-1112 4111111111111111 ", 80),
		strings.Repeat("path=/a pat=b cache miss for key product:1 ", 80),
		// Flags that say no in more blocks than one call reports, then
		// a secret, or a card's number.
		strings.Repeat("path=/a pat=b see http://host/x ", 40) + "password=hunter2 " + strings.Repeat("path=/b ", 20),
		strings.Repeat("path=/a pat=b see http://host/x ", 40) + "card 4111 1111 1111 1111 " + strings.Repeat("path=/b ", 20),
	} {
		for n := wideMin; n <= len(base); n += 1 + n/40 {
			for _, off := range []int{0, 1, 7, 19} {
				if off+n > len(base) {
					continue
				}
				line := base[off : off+n]
				p, nm := set.lineClean(line)
				wp, wn := set.lineByFlags(line)
				if p != wp || nm != wn {
					t.Fatalf("lineClean(%q) = %v, %v; its flags one by one say %v, %v", line, p, nm, wp, wn)
				}
			}
		}
	}
}

// A secret name is found only at a hint trigram the scan flags, which
// lineDirty then looks up in secretsByTrigram: every word that makes a
// name secret must hold one.
func TestSecretWordsHoldHints(t *testing.T) {
	held := map[string]bool{}
	for _, words := range secretsByTrigram {
		for _, w := range words {
			held[w.word] = true
		}
	}
	for _, w := range append(append([]string(nil), strongWords...), weakWords...) {
		if !held[w] {
			t.Errorf("%q holds no hint trigram: the scan would not flag it", w)
		}
	}
}

// TestSecretWordEnd: secretWordEnd, which settles the words of a
// trigram's list that end alike with one look, answers for every end
// before no lower-case letter, the ends the line check tries, as a look at
// each word would: a secret word holding the trigram ends at or before it,
// before no lower-case letter or right at it. Every secret word and its
// near misses, cut at every end.
func TestSecretWordEnd(t *testing.T) {
	each := func(text string, p int, tri uint32, end int) bool {
		for _, ws := range secretsByTrigram {
			for _, w := range ws {
				s := p - w.at
				if trigramAt(w.word, w.at) == tri && s+len(w.word) <= end && foldAt(text, s, w.word) &&
					(s+len(w.word) == end || !isLower(text[s+len(w.word)])) {
					return true
				}
			}
		}
		return false
	}
	n := 0
	for _, ws := range secretsByTrigram {
		for _, w := range ws {
			for _, text := range []string{w.word, "x" + w.word + "=1", w.word + "s: 1", "src" + strings.ToUpper(w.word) + "_x",
				"dest" + w.word + "pass y", w.word[:len(w.word)-1] + " " + w.word[len(w.word)-1:], "my" + w.word + "ed: x",
				strings.ToUpper(w.word) + "_ID Y", "a " + w.word + " " + w.word + "\"x\": 1"} {
				for p := 0; p+3 <= len(text); p++ {
					tri := trigramAt(text, p)
					if trigramID[tri&trigramMask] == 0 {
						continue
					}
					e := secretWordEnd(text, p, tri)
					for end := p + 3; end <= len(text); end++ {
						if end < len(text) && isLower(text[end]) {
							continue
						}
						n++
						if got, want := e >= 0 && e <= end, each(text, p, tri, end); got != want {
							t.Errorf("secretWordEnd(%q, %d) = %d, for end %d: %v, want %v", text, p, e, end, got, want)
						}
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d cases", n)
	}
}

// TestMayHoldCard: pieces of stretches are looked at, and past its bound
// (a long run, many stretches) it says yes rather than look on.
func TestMayHoldCard(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want bool
	}{
		{"none", "GET /index.html 200", false},
		{"a card", "4111 1111 1111 1111", true},
		{"a card's piece", "94111111111111111", true},
		{"a card's piece, separators", "9-4111-1111-1111-1111-0", true},
		{"not one", "0125633370-6870", false},
		{"fails Luhn", "4111111111111112", false},
		{"two separators break it", "4111  1111 1111 1111", false},
		{"a long run", strings.Repeat("1", cardLooks+1), true},
		{"many stretches", strings.Repeat("1234567890123 x ", cardLooks+1), true},
		{"stretches within the bound", strings.Repeat("1234567890123 x ", cardLooks/2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mayHoldCard(tc.text); got != tc.want {
				t.Errorf("mayHoldCard(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

// TestCardIssuerFirstDigit: cardWithin skips a piece whose first digit is
// none of 2 to 6, as no issuer's number starts with one.
func TestCardIssuerFirstDigit(t *testing.T) {
	d := make([]byte, maxCardDigits)
	for p := 0; p < 10000; p++ {
		d[0], d[1], d[2], d[3] = byte(p/1000), byte(p/100%10), byte(p/10%10), byte(p%10)
		for n := minCardDigits; n <= maxCardDigits; n++ {
			if cardIssuer(d[:n]) && (d[0] < 2 || d[0] > 6) {
				t.Fatalf("cardIssuer takes %v, which cardWithin skips", d[:n])
			}
		}
	}
}
