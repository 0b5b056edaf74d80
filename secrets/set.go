package secrets

import (
	"errors"
	"math/bits"
)

// MaxSetRules is how many rules one Set holds (fired rules are a bitmask).
const MaxSetRules = 64

// A Set is a chosen list of rules with a prefilter: one pass over a text
// finds which rules could change it (by their literal hints, or a run of
// digits), so that a text with nothing to redact costs a scan and no rule.
// A Set is immutable and safe for concurrent use.
type Set struct {
	rules  []Rule
	hints  hintIndex
	always uint64 // rules that run on every text
	digits int    // the shortest digit run any rule wants; 0 = none
	digitM uint64 // the rules that want one
}

// hintIndex finds case-insensitive literals in a text fast: a bitset of
// the byte pairs that start a literal (in every case) rules out most
// positions with two table loads, before any literal is compared.
type hintIndex struct {
	pairs  [1 << 16]bool // a bool, not a bit: one load a byte
	single [256]bool     // literals one byte long, by that byte
	first  [256][]uint16 // literals by their first byte
	lits   []setHint
}

type setHint struct {
	lit   string // lower case
	rules uint64
}

// lower maps ASCII upper-case letters to lower case and leaves every other
// byte.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

func (x *hintIndex) add(lit string, rules uint64) {
	for i := range x.lits {
		if x.lits[i].lit == lit {
			x.lits[i].rules |= rules
			return
		}
	}
	c := lit[0]
	x.first[c] = append(x.first[c], uint16(len(x.lits)))
	x.lits = append(x.lits, setHint{lit: lit, rules: rules})
	// The table holds raw byte pairs, every case of them, so the scan
	// does not lower-case the text.
	for _, a := range cases(c) {
		if len(lit) == 1 {
			// Any pair it starts, and the text's last byte.
			x.single[a] = true
			for d := range 256 {
				x.setPair(a, byte(d))
			}
			continue
		}
		for _, b := range cases(lit[1]) {
			x.setPair(a, b)
		}
	}
}

func (x *hintIndex) setPair(a, b byte) { x.pairs[uint16(a)<<8|uint16(b)] = true }

// cases returns a lower-case byte and its upper case, if it has one.
func cases(c byte) []byte {
	if c >= 'a' && c <= 'z' {
		return []byte{c, c - 'a' + 'A'}
	}
	return []byte{c}
}

// find returns the rules of the literals in t, skipping those of skip.
func (x *hintIndex) find(t string, skip uint64) uint64 {
	var found uint64
	if len(t) == 0 {
		return 0
	}
	k := uint16(t[0])
	for i := 1; i < len(t); i++ {
		k = k<<8 | uint16(t[i])
		if x.pairs[k] {
			found = x.at(t[i-1:], found, skip)
		}
	}
	if len(t) > 0 && x.single[t[len(t)-1]] {
		found = x.at(t[len(t)-1:], found, skip)
	}
	return found
}

// at adds the rules of the literals t starts with to found.
func (x *hintIndex) at(t string, found, skip uint64) uint64 {
	for _, h := range x.first[lower[t[0]]] {
		hint := &x.lits[h]
		if (found|skip)&hint.rules != hint.rules && hasPrefixLower(t, hint.lit) {
			found |= hint.rules
		}
	}
	return found
}

// NewSet compiles rules (at most MaxSetRules) in their order.
func NewSet(rules []Rule) (*Set, error) {
	if len(rules) > MaxSetRules {
		return nil, errors.New("secrets: more than 64 rules in one set")
	}
	s := &Set{rules: append([]Rule(nil), rules...)}
	for i, r := range rules {
		bit := uint64(1) << i
		if len(r.hints) == 0 && r.digits == 0 {
			s.always |= bit
			continue
		}
		if r.digits > 0 {
			if s.digits == 0 || r.digits < s.digits {
				s.digits = r.digits
			}
			s.digitM |= bit
		}
		for _, h := range r.hints {
			s.hints.add(h, bit)
		}
	}
	return s, nil
}

// Rules returns the set's rules, in order; bit i of Redact's fired mask is
// Rules()[i].
func (s *Set) Rules() []Rule { return s.rules }

// Redact masks, with m, every secret the set's rules find in t. fired has
// bit i set when rule i changed the text.
func (s *Set) Redact(t string, m Mask) (out string, fired uint64) {
	cand := s.candidates(t)
	for cand != 0 {
		i := bits.TrailingZeros64(cand)
		cand &^= 1 << i
		if r := s.rules[i].Replace(t, m); r != t {
			fired |= 1 << i
			t = r
		}
	}
	return t, fired
}

// candidates returns the rules that could change t.
func (s *Set) candidates(t string) uint64 {
	cand := s.always
	if s.digits > 0 && digitRun(t, s.digits) {
		cand |= s.digitM
	}
	return cand | s.hints.find(t, cand)
}

// digitRun reports whether t has n digits in a row, single spaces or
// dashes between them allowed. Such a run spans at least n bytes that are
// all digits or separators, so a byte that is neither lets the scan jump n
// bytes past it (as Horspool's search does).
func digitRun(t string, n int) bool {
	for i := n - 1; i < len(t); {
		if digitClass[t[i]] == 0 {
			i += n
			continue
		}
		// Back to where this stretch of digits and separators starts,
		// then count forward.
		lo := i
		for lo > 0 && digitClass[t[lo-1]] != 0 {
			lo--
		}
		run := 0
		j := lo
		for ; j < len(t); j++ {
			switch digitClass[t[j]] {
			case isDigitClass:
				if run++; run == n {
					return true
				}
				continue
			case isSepClass:
				if j > lo && digitClass[t[j-1]] == isDigitClass {
					continue
				}
				run = 0 // two separators in a row, or one first
				continue
			}
			break
		}
		i = j + n
	}
	return false
}

const (
	isDigitClass = 1
	isSepClass   = 2
)

// digitClass tells digits and card separators from other bytes.
var digitClass = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = isDigitClass
	}
	t[' '], t['-'] = isSepClass, isSepClass
	return t
}()

// hasPrefixLower reports whether t starts with lit (lower case) in any
// ASCII case.
func hasPrefixLower(t, lit string) bool {
	if len(t) < len(lit) {
		return false
	}
	for j := 1; j < len(lit); j++ {
		c := t[j]
		if c-'A' <= 'Z'-'A' {
			c += 'a' - 'A'
		}
		if c != lit[j] {
			return false
		}
	}
	return true
}
