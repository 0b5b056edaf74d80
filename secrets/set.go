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
	rules []Rule
	// hints are the rules' literal hints; first[c] lists those starting
	// with the lower-case byte c.
	hints  []setHint
	first  [256][]uint16
	always uint64 // rules that run on every text
	digits int    // the shortest digit run any rule wants; 0 = none
	digitM uint64 // the rules that want one
}

type setHint struct {
	lit   string // lower case
	rules uint64
}

// NewSet compiles rules (at most MaxSetRules) in their order.
func NewSet(rules []Rule) (*Set, error) {
	if len(rules) > MaxSetRules {
		return nil, errors.New("secrets: more than 64 rules in one set")
	}
	s := &Set{rules: append([]Rule(nil), rules...)}
	at := map[string]int{}
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
			if j, ok := at[h]; ok {
				s.hints[j].rules |= bit
				continue
			}
			at[h] = len(s.hints)
			s.first[h[0]] = append(s.first[h[0]], uint16(len(s.hints)))
			s.hints = append(s.hints, setHint{lit: h, rules: bit})
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
	run := 0 // digits in the current run, single separators allowed
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c-'0' <= 9 {
			run++
			if run == s.digits {
				cand |= s.digitM
			}
			continue
		}
		if c != ' ' && c != '-' || i == 0 || t[i-1]-'0' > 9 {
			run = 0
		}
		if c-'A' <= 'Z'-'A' {
			c += 'a' - 'A'
		}
		for _, h := range s.first[c] {
			hint := &s.hints[h]
			if cand&hint.rules != hint.rules && hasPrefixLower(t[i:], hint.lit) {
				cand |= hint.rules
			}
		}
	}
	return cand
}

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
