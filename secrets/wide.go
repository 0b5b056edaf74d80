package secrets

import (
	"iter"
	"math/bits"
	"unsafe"
)

// The wide scan is candidates' other form, for CPUs with 32-byte vectors
// (wide_amd64.s): it classes every byte of a 32-byte block for each of a
// trigram's three places at once, with two 16-entry tables a place (one
// by the byte's low nibble, one by its high), and flags each position
// where the three bytes ending there share a class (Hyperscan's "Teddy"
// literal matcher works so). Each class is a set of trigrams, a superset
// of what one or two kinds of anchor start with, so a flagged position
// runs the checks the pair scan would run there (trigramChecks), and
// nothing else; the digits and card separators are classed too, and 13
// run bytes in a row (a digit, or a separator right after one) make the
// exact digitRun look.
//
// It serves texts of wideMin bytes or more, whose pairs cost the pair scan
// most: 32 bytes at a time, the last block overlapping the one before, or
// for texts shorter than 34 bytes one block of two 16-byte lanes. Where
// the pair scan flags a pair at every even offset and checks the few
// trigrams around it, this flags only the trigrams themselves: far fewer
// positions in real log text ("re", "as" and "ke" are in most lines,
// "cre", "pas" and "key" much less). A class's bytes are matched by their
// nibbles, and one class serves several anchors, so it holds trigrams
// none starts with ("kee", "bey", "oku"): those cost a check that says no,
// never a miss. Classes are cut to keep common ones out: "pat" (path,
// pattern), a quarter of the flags on the benchmark corpus when pas and
// pwd shared a class.

// wideMin is the shortest text the wide scan takes: below it, the pair
// scan's two words cost less than a call (and a 16-byte block starting
// at position 2 must fit).
const wideMin = 18

// wideHits is how many 32-byte blocks with flagged positions one call
// of wideScan reports; a text with more (a stack trace) takes more calls.
const wideHits = 8

// The classes: a trigram's bytes in each place (upper and lower case
// where the rule ignores case), each class one bit.
var wideClasses = []struct{ first, second, third string }{
	{"pP", "aA", "sS"},                   // pas: secret names' hints (hintTrigrams)
	{"pP", "wW", "dD"},                   // pwd
	{"oOkKbB", "kKeE", "eEiIyYaA"},       // oke, oki, key; bearer
	{"cC", "rR", "eE"},                   // cre
	{"aAe", "uUy", "tTJ"},                // aut; eyJ, a JWT's start
	{":- \t\r\n\"'&;|\\", "/-", `/-"'\`}, // "://"; "---" of -----BEGIN; a flag's "--" or quoted '-' at a word's start
	{"A", "KS", "I"},                     // AKIA, ASIA
	{" \t\r\n\"'&", "-", letters},        // a flag's '-' at a word's start, before a letter
}

// The break and escape bytes a flag may follow without a blank (a;-p,
// a|-p, \-p) share the AWS key's class: in real text "A[KS]I" and
// "[;|\]-letter" are both rare.
var wideShared = struct{ first, second, third string }{`;|\`, "-", letters}

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// wideTables is what the wide scan reads: for each of the trigram's three
// places its low- and high-nibble class tables, then the digit class's,
// then the low-nibble mask, each 16 bytes twice (one for each 16-byte lane
// of a vector).
type wideTables [9][32]byte

var wideTab = func() *wideTables {
	t := new(wideTables)
	add := func(bit byte, c struct{ first, second, third string }) {
		for k, set := range []string{c.first, c.second, c.third} {
			for _, b := range []byte(set) {
				t[2*k][b&15] |= bit
				t[2*k+1][b>>4] |= bit
			}
		}
	}
	for i, c := range wideClasses {
		add(1<<i, c)
	}
	add(1<<6, wideShared)
	// The digit class: 0x80 exactly for a digit and 0x40 for ' ' and '-'
	// (runByte's separators), which wide_amd64.s tells apart by the top
	// bit.
	for _, b := range []byte("0123456789") {
		t[6][b&15] |= 0x80
		t[7][b>>4] |= 0x80
	}
	for _, b := range []byte(" -") {
		t[6][b&15] |= 0x40
		t[7][b>>4] |= 0x40
	}
	for i := range t[8][:16] {
		t[8][i] = 0x0f
	}
	for i := range t {
		copy(t[i][16:], t[i][:16])
	}
	return t
}()

// useWide reports whether the wide scan can stand in for the pair scan for
// s: its anchors are the built-in kinds only, and its shortest run of
// digits, if any, at least the 13 the scan's run test finds.
func (s *Set) useWide() bool {
	return haveWide && len(s.generic) == 0 && (s.digits == 0 || s.digits >= 13)
}

// wideCandidates is candidates by the wide scan, for len(t) >= wideMin.
func (s *Set) wideCandidates(t string) uint64 {
	found := s.always
	var run digitSpan
	for k := range wideFlags(t, &run) {
		found = s.trigramChecks(t, k, found)
	}
	// A '-' first has no byte before it in any block's trigram; one last
	// is looked at as the pair scan does.
	if t[0] == '-' {
		found = s.dashAt(t, 0, found)
	}
	if t[len(t)-1] == '-' {
		found = s.dashAt(t, len(t)-1, found)
	}
	if s.digitM&^found != 0 && run.holds(t, s.digits) {
		found |= s.digitM
	}
	return found
}

// digitSpan is where the wide scan saw 13 run bytes in a row: t[lo:hi]
// holds every such stretch of t, and so the first 13 digits of every run
// digitRun finds (hi == 0: none).
type digitSpan struct{ lo, hi int }

// holds reports whether t has n digits in a row (digitRun), looking only
// within the span.
func (d digitSpan) holds(t string, n int) bool {
	return d.hi > 0 && digitRun(t[d.lo:d.hi], n)
}

// add widens d to the runs a wideScan call on a text of n bytes reported
// (runFirst > 0). A run ending in a block starts at most 12 bytes before
// it. The first 13 digits of a card's number, separators between them,
// are such runs from their first digit to their 13th, which ends in the
// last block with a run.
func (d *digitSpan) add(runFirst, runLast, n int) {
	if d.hi == 0 {
		d.lo = max(0, runFirst-1-12)
	}
	d.hi = min(n, runLast+32)
}

// wideFlags yields each position k the wide scan flags in t (the
// trigram t[k-2:k+1] shares a class), in order, and sets *run to where it
// sees 13 run bytes in a row. len(t) >= wideMin.
func wideFlags(t string, run *digitSpan) iter.Seq[int] {
	return func(yield func(int) bool) {
		if len(t) < 32+2 {
			m, d := wideScan16(unsafe.StringData(t), len(t), wideTab)
			if d {
				*run = digitSpan{0, len(t)}
			}
			for ; m != 0; m &= m - 1 {
				if !yield(bits.TrailingZeros64(m)) {
					return
				}
			}
			return
		}
		var hits [wideHits]uint64
		for from := 2; from < len(t); {
			var nh, first, last int
			nh, from, first, last = wideScan(unsafe.StringData(t), len(t), from, wideTab, &hits)
			if first > 0 {
				run.add(first, last, len(t))
			}
			for _, h := range hits[:nh] {
				o := int(h >> 32)
				for m := uint32(h); m != 0; m &= m - 1 {
					if !yield(o + bits.TrailingZeros32(m)) {
						return
					}
				}
			}
		}
	}
}

// trigramChecks adds the rules the trigram t[k-2:k+1], flagged by the wide
// scan, holds for: the checks the pair scan runs for the anchors that can
// stand in it.
func (s *Set) trigramChecks(t string, k int, found uint64) uint64 {
	kb := &s.kindBits
	c0, c1, c2 := t[k-2], t[k-1], t[k]
	if b := kb[assignAnchor]; b&^found != 0 && isHintTrigram(trigramAt(t, k-2)) && assignmentFrom(t, k-2) {
		found |= b
	}
	if c1 == '-' {
		if c0 == '-' {
			found = s.dashAt(t, k-2, found) // -----BEGIN's first '-', or a "--" flag's
		}
		found = s.dashAt(t, k-1, found)
	}
	if b := kb[urlAnchor]; c0 == ':' && b&^found != 0 && urlCredentialsAt(t, k-2) {
		found |= b
	}
	if b := kb[bearerAnchor]; lower[c0] == 'b' && b&^found != 0 && bearerAt(t, k-2) {
		found |= b
	}
	if b := kb[jwtAnchor]; c2 == 'J' && b&^found != 0 && jwtAt(t, k) {
		found |= b
	}
	if b := kb[awsAnchor]; c0 == 'A' && b&^found != 0 && awsKeyAt(t, k-1) {
		found |= b
	}
	return found
}
