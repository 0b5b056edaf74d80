package secrets

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// bothScans returns the set of rules twice: taking the wide scan, and
// taking the pair scan only. Without the wide scan on this CPU, the test
// skips: it would check the pair scan twice.
func bothScans(t testing.TB, rules []Rule) (wide, pairs *Set) {
	t.Helper()
	if !haveWide {
		t.Skip("this CPU has no AVX2 and BMI2: the wide scan is not used here")
	}
	wide, err := NewSet(rules)
	if err != nil {
		t.Fatal(err)
	}
	if !wide.wide {
		t.Fatal("the built-in rules do not take the wide scan")
	}
	p := *wide
	p.wide = false
	return wide, &p
}

// applyAll is what a Set's Redact must return: every default rule in
// turn, without a prefilter.
func applyAll(s string) string {
	for _, r := range defaultRules() {
		s = r.apply(s, nil)
	}
	return s
}

// TestWidePlacement: every kind of secret, at every offset around the
// wide scan's blocks (the 16-byte pair of a short text, the first 32-byte
// block at position 2, the last one overlapping the one before, and where
// a call whose hits are full stops and the next goes on), after every
// kind of byte, is found as the rules find it.
func TestWidePlacement(t *testing.T) {
	wide, _ := bothScans(t, defaultRules())
	secrets := []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
		"--password hunter2", "-token hunter2", "--2fa-token hunter2", `-\-password hunter2`, `-"p"assword hunter2`,
		"mysql -phunter2", "mysql -'p'hunter2", "a;-ptoken=x", "Bearer abcdefgh12345678", "BEARER abcdefgh12345678",
		"postgres://app:hunter2@db:5432/x", "s3://u:p@h", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "password=hunter2", "PassWord: hunter2",
		`"api_key":"k1"`, "Authorization: Basic dXNlcjpwYXNz", "Cookie: a=1; b=2", "db_pwd=x1",
		"4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5500 0000 0000 0004"}
	changed := 0
	// A hint in every block: the eighth such block (ending at 258) fills
	// wideScan's hits, and the secret comes around there.
	busy := strings.Repeat("create ", 35)
	for _, sec := range secrets {
		for _, lead := range []string{"", busy, "\xff\x80é€ ~`{}[]<>", "\x00\x01\x7f"} {
			for _, before := range []string{"", " ", "\t", "\n", ";", "&", "|", "'", "\"", "\\", "=", ":", "x", "7"} {
				for pre := range 70 {
					for _, post := range []string{"", " z", " and then some more text after it, long enough"} {
						s := lead + strings.Repeat("o", pre) + before + sec + post
						want := applyAll(s)
						if got, _ := wide.Redact(s, nil); got != want {
							t.Fatalf("Redact(%q) = %q, want %q", s, got, want)
						}
						if want != s {
							changed++
						}
					}
				}
			}
		}
	}
	if changed < 50000 {
		t.Errorf("only %d texts hold a secret the rules find", changed)
	}
}

// TestWideFindsWhatPairsFind: on the leak table and its near-misses, the
// wide scan names every rule the pair scan names that changes the text.
func TestWideFindsWhatPairsFind(t *testing.T) {
	wide, pairs := bothScans(t, defaultRules())
	for _, l := range readLeaks(t) {
		for _, s := range []string{l.line, "at the start of a longer line: " + l.line, l.line + " (and more after it, past a block)"} {
			if len(s) < wideMin {
				continue
			}
			w, p := wide.candidates(s), pairs.candidates(s)
			for m := p &^ w; m != 0; m &= m - 1 {
				i := bits.TrailingZeros64(m)
				if r := wide.rules[i]; r.apply(s, nil) != s {
					t.Errorf("the wide scan misses %s in %q", r.Name, s)
				}
			}
		}
	}
}

// TestWideDigitRuns: a run of 13 digits and separators is seen whichever
// blocks it crosses, within the span the scan reports, and one of 12
// alone is not (the scan's own test), nor 13 blanks or a klog thread id's
// padding between digits, nor two runs of 12 apart; a card's 13 digits,
// grouped so that they span 25 bytes, lie in the span wherever they
// stand, and beside another run far before or after it.
func TestWideDigitRuns(t *testing.T) {
	if !haveWide {
		t.Skip("this CPU has no AVX2 and BMI2: the wide scan is not used here")
	}
	for n := wideMin; n < 140; n++ {
		for at := 0; at+13 <= n; at++ {
			s := []byte(strings.Repeat("x", n))
			copy(s[at:], "4111 1111 1111 1111"[:13])
			if _, got := wideReport(t, string(s)); got.hi == 0 || got.lo > at || got.hi < at+13 {
				t.Fatalf("the run in %q is not in the span %v", s, got)
			}
			for _, none := range []string{"411111111111", "             ", "006507   16816", "- - - - - - - ", "x-411111111111"} {
				if at+len(none) <= n {
					copy(s[at:], strings.Repeat("x", 14))
					copy(s[at:], none)
					if _, got := wideReport(t, string(s)); got.hi != 0 {
						t.Fatalf("a run seen in %q", s)
					}
				}
			}
		}
	}
	// Two runs of 12 a block apart make no run: RUN13 rotates, and a
	// block's last run bytes wrap around to the block before's first ones,
	// which the scan must cut off.
	for _, n := range []int{66, 67, 80, 97, 130} {
		for a := 0; a+12 <= n; a++ {
			for b := a + 13; b+12 <= n; b++ {
				s := []byte(strings.Repeat("x", n))
				copy(s[a:], "411111111111")
				copy(s[b:], "411111111111")
				if _, got := wideReport(t, string(s)); got.hi != 0 {
					t.Fatalf("a run seen in %q: span %v", s, got)
				}
			}
		}
	}
	// Where a long text's second call goes on, the run bytes just before
	// its first block are counted as anywhere else: hits fill after the
	// eighth block of "create", at 258.
	busy := strings.Repeat("create ", 60)
	for at := 200; at < 300; at++ {
		for _, c := range []struct {
			text string
			run  bool
		}{{"x4111-1111-1111-1", true}, {"x-411111111111", false}, {"x 411111111111", false}} {
			s := busy[:at] + c.text + busy[at+len(c.text):]
			if _, got := wideReport(t, s); got.holds(s, 13) != c.run || c.run && (got.lo > at+1 || got.hi < at+len(c.text)) {
				t.Fatalf("%q at %d: span %v", c.text, at, got)
			}
		}
	}
	const card = "4 1 1 1 1 1 1 1 1 1 1 1 1" // 13 digits in 25 bytes
	for n := 40; n < 300; n += 7 {
		for at := 0; at+len(card) <= n; at++ {
			for _, other := range []int{-1, 0, n - 14} {
				s := []byte(strings.Repeat("x", n))
				if other >= 0 && (other+14 <= at || other >= at+len(card)+1) {
					copy(s[other:], "2026-11-23 20")
				}
				copy(s[at:], card)
				if _, got := wideReport(t, string(s)); !got.holds(string(s), 13) {
					t.Fatalf("the card in %q is not found in the span %v", s, got)
				}
			}
		}
	}
}

// FuzzWideScan: the set with the wide scan redacts as every rule applied
// in turn does, and as the set with the pair scan.
func FuzzWideScan(f *testing.F) {
	for _, r := range Rules {
		f.Add(r.Example)
		f.Add(strings.Repeat("x", 20) + r.Example + strings.Repeat(" y", 20))
	}
	f.Add("PassWord=x TOKEN: y; run '--pass'word x; a|--token y \"-Secret\" z")
	f.Add("x AKIAIOSFODNN7EXAMPLE eyJa.eyJb.c -----begin rsa private key----- 4111-1111-1111-1111")
	wide, pairs := bothScans(f, defaultRules())
	f.Fuzz(func(t *testing.T, s string) {
		want := applyAll(s)
		if got, _ := wide.Redact(s, nil); got != want {
			t.Fatalf("wide %q\n all rules %q\n     input %q", got, want, s)
		}
		if got, _ := pairs.Redact(s, nil); got != want {
			t.Fatalf("pairs %q\n all rules %q\n     input %q", got, want, s)
		}
	})
}

// wideModel is what the wide scan must report for t, by its tables read a
// byte at a time: the positions k >= 2 where t[k-2:k+1] shares a class,
// and where 13 run bytes in a row end: a digit (class 0x80), or a
// separator (0x40) right after one.
func wideModel(t string) (hits, runEnds []int) {
	class := func(place int, c byte) byte { return wideTab[2*place][c&15] & wideTab[2*place+1][c>>4] }
	run := 0
	for k := 0; k < len(t); k++ {
		if k >= 2 && class(0, t[k-2])&class(1, t[k-1])&class(2, t[k]) != 0 {
			hits = append(hits, k)
		}
		if c := class(3, t[k]); c == 0x80 || c == 0x40 && k > 0 && class(3, t[k-1]) == 0x80 {
			if run++; run >= 13 {
				runEnds = append(runEnds, k)
			}
		} else {
			run = 0
		}
	}
	return hits, runEnds
}

// wideReport is what the wide scan reports for t: every flagged position
// once, in order, over all the calls a text takes, and the span of its
// digit runs.
func wideReport(t *testing.T, s string) (hits []int, run digitSpan) {
	for k := range wideFlags(s, &run) {
		if len(hits) > 0 && k <= hits[len(hits)-1] {
			t.Fatalf("position %d reported after %d in %q", k, hits[len(hits)-1], s)
		}
		hits = append(hits, k)
	}
	return hits, run
}

// spanHolds: every run of 13 (ending at each of ends) lies in the span,
// and the span is empty when there is none.
func spanHolds(run digitSpan, ends []int) bool {
	if len(ends) == 0 {
		return run.hi == 0
	}
	return run.hi > 0 && ends[0]-12 >= run.lo && ends[len(ends)-1] < run.hi
}

// TestWideScanModel: the assembly reports what its tables say, position by
// position, for texts of every length up to a few blocks past a full hits
// buffer, of random bytes drawn to flag often (so calls stop and go on,
// and last blocks overlap with flagged positions in them).
func TestWideScanModel(t *testing.T) {
	if !haveWide {
		t.Skip("this CPU has no AVX2 and BMI2: the wide scan is not used here")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	// Bytes drawn to flag often, and digits and separators, for runs that
	// end in every block and cross from one to the next.
	for _, alphabet := range [][]byte{[]byte("pasdwokeiycrutJbAKSI:/-\"' \t;|\\0123456789xz\x00\xff\x80"), []byte("0123456789 -x")} {
		for n := wideMin; n < 600; n++ {
			for range 20 {
				b := make([]byte, n)
				for i := range b {
					b[i] = alphabet[rng.IntN(len(alphabet))]
				}
				s := string(b)
				wantHits, runEnds := wideModel(s)
				gotHits, run := wideReport(t, s)
				if !slices.Equal(gotHits, wantHits) || !spanHolds(run, runEnds) {
					t.Fatalf("%q:\n hits %v digit span %v\nwant %v runs ending at %v", s, gotHits, run, wantHits, runEnds)
				}
			}
		}
	}
}
