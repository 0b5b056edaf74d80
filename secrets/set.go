package secrets

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// MaxSetRules is how many rules one Set holds (fired rules are a bitmask).
const MaxSetRules = 64

// A Set is a chosen list of rules with a prefilter: one pass over a text
// finds which rules could change it (by their anchors, or a run of digits),
// so that a text with nothing to redact costs a scan and no rule. A Set is
// immutable and safe for concurrent use.
type Set struct {
	rules []Rule
	// anchorAt says what a byte anchors: builtinByte, genericByte; 0 for
	// most bytes.
	anchorAt [256]uint8
	// pairAt flags a pair of bytes (indexed by a little-endian uint16) with
	// the kinds of check it wants (dashPair, urlPair, …), so the scan loads
	// 8 bytes as one word and looks up 4 pairs: half the loads of a byte
	// table. The scan looks up every pair at an even offset of a text, and
	// the last byte of a text of odd length in anchorAt. Sets with equal
	// anchors share the table.
	pairAt   *[1 << 16]uint8
	kindBits [numAnchorKinds]uint64 // the rules of each built-in anchor kind
	// generic holds the byteAnchor checks, by genericAt[byte]-1.
	generic   [][]anchorCheck
	genericAt [256]uint8
	anchored  uint64 // rules with anchors
	always    uint64 // rules that run on every text
	digits    int    // the shortest digit run any rule wants; 0 = none
	digitM    uint64 // the rules that want one
	minLen    int    // the shortest text any rule can change
	wide      bool   // texts of wideMin bytes or more take the wide scan (wide.go)
}

// What anchorAt holds for a byte, and pairAt for a pair. A pair's bit
// names the check it wants, so that a flagged pair goes straight to it.
const (
	builtinByte = 1 << iota // anchorAt only: a built-in kind's byte (kindBytes)
	genericByte             // a pattern's byte (byteAnchor)
	runByte                 // pairAt only: a pair a run of digits may hold (isRunPair)
	hintByte                // pairAt only: a pair of a name hint's trigram (hintPairs)
	dashPair                // pairAt only: a '-' that flag, client or private-key rules want
	urlPair                 // pairAt only: ":/" or "//" of "://"
	bearerPair              // pairAt only: "be" of bearer, or the byte before it and its 'b'
	letterPair              // pairAt only: AK, AS, KI or SI of an AWS key, or a 'J' (of eyJ)
)

type anchorCheck struct {
	rules uint64
	check func(s string, i int) bool // nil: the byte is enough
}

// NewSet compiles rules (at most MaxSetRules) in their order.
func NewSet(rules []Rule) (*Set, error) {
	if len(rules) > MaxSetRules {
		return nil, errors.New("secrets: more than 64 rules in one set")
	}
	s := &Set{rules: append([]Rule(nil), rules...), minLen: math.MaxInt}
	for i, r := range rules {
		bit := uint64(1) << i
		s.minLen = min(s.minLen, max(r.minLen, 1))
		a := r.anchor
		if a.kind == noAnchor && r.digits == 0 {
			s.always |= bit
			continue
		}
		if r.digits > 0 {
			if s.digits == 0 || r.digits < s.digits {
				s.digits = r.digits
			}
			s.digitM |= bit
		}
		switch a.kind {
		case noAnchor:
		case byteAnchor:
			s.anchored |= bit
			for _, c := range []byte(a.bytes) {
				if s.genericAt[c] == 0 {
					s.generic = append(s.generic, nil)
					s.genericAt[c] = uint8(len(s.generic))
				}
				k := s.genericAt[c] - 1
				s.generic[k] = append(s.generic[k], anchorCheck{rules: bit, check: a.check})
				s.anchorAt[c] |= genericByte
			}
		default:
			s.anchored |= bit
			s.kindBits[a.kind] |= bit
			for _, c := range []byte(kindBytes[a.kind]) {
				s.anchorAt[c] |= builtinByte
			}
		}
	}
	s.pairAt = pairTable(pairKey{s.anchorAt, s.kindBits[bearerAnchor] != 0, s.kindBits[awsAnchor] != 0,
		s.kindBits[urlAnchor] != 0, s.kindBits[assignAnchor] != 0, s.digits > 0})
	s.wide = s.useWide()
	return s, nil
}

// pairTables holds the pair tables made, by their anchors: most sets are
// the default rules, and a table is 64 KiB. At most maxPairTables are
// kept, so reloads with ever new patterns do not pile them up.
var (
	pairTables  sync.Map // pairKey → *[1 << 16]uint8
	pairsShared atomic.Int32
)

const maxPairTables = 16

type pairKey struct {
	anchorAt                           [256]uint8
	bearer, awsKey, url, hints, digits bool
}

// pairTable makes the chunk scan's table: a pair holds the patterns'
// anchor bytes it holds, and the built-in kinds, common in log text, only
// as pairs which every secret of theirs has at an even offset, so that the
// scan, looking at every even offset, cannot miss them:
//   - 'b' and 'S' alone are in most lines: "be" of bearer, or the byte
//     before it (not a letter or digit: bearerAt) and its 'b', "AK" or
//     "KI" of AKIA, "AS" or "SI" of ASIA;
//   - ':' is in every time and file:line: ":/" or "//" of "://";
//   - '-' is in dates, numbers and names ("ap-south-1"), but the rules
//     it anchors want it at a word's start (after a break or a quote),
//     before a letter, a quote or another '-' (a flag's word, or
//     -----BEGIN): the pair of the byte before it and it, or of it and the
//     byte after it, is such;
//   - a secret name is found by its hint's trigram rather than by the '='
//     or ':' after it: either of the trigram's two pairs (hintByte);
//   - digits are no anchor: a pair a run of digits may hold (runByte)
//     tells candidates where a run may cross a chunk's end.
//
// Each kind has its own bit, so a flagged pair's check is the one its bit
// names (pairAnchors), looking at the byte before the pair where that
// kind's anchor may stand there.
func pairTable(k pairKey) *[1 << 16]uint8 {
	if t, ok := pairTables.Load(k); ok {
		return t.(*[1 << 16]uint8)
	}
	dash := k.anchorAt['-']&builtinByte != 0
	jwt := k.anchorAt['J']&builtinByte != 0
	t := new([1 << 16]uint8)
	for i := range t {
		lo, hi := byte(i), byte(i>>8)
		t[i] = (k.anchorAt[lo] | k.anchorAt[hi]) & genericByte
		if dash && (hi == '-' && (isWordBreak(lo) || isQuoting(lo)) || lo == '-' && dashWordByte(hi)) {
			t[i] |= dashPair
		}
		if k.url && (lo == ':' || lo == '/') && hi == '/' {
			t[i] |= urlPair
		}
		if k.bearer && (lower[lo] == 'b' && lower[hi] == 'e' || !isAlnum(lo) && lower[hi] == 'b') {
			t[i] |= bearerPair
		}
		if k.awsKey && (lo == 'A' && (hi == 'K' || hi == 'S') || (lo == 'K' || lo == 'S') && hi == 'I') ||
			jwt && (lo == 'J' || hi == 'J') {
			t[i] |= letterPair
		}
		if k.hints && hintPairs[i] {
			t[i] |= hintByte
		}
		if k.digits && isRunPair(lo, hi) {
			t[i] |= runByte
		}
	}
	if pairsShared.Add(1) > maxPairTables {
		pairsShared.Add(-1)
		return t
	}
	got, loaded := pairTables.LoadOrStore(k, t)
	if loaded {
		pairsShared.Add(-1)
	}
	return got.(*[1 << 16]uint8)
}

// Rules returns the set's rules, in order; bit i of Redact's fired mask is
// Rules()[i].
func (s *Set) Rules() []Rule { return s.rules }

// Redact masks, with m, every secret the set's rules find in t. fired has
// bit i set when rule i changed the text.
func (s *Set) Redact(t string, m Mask) (out string, fired uint64) {
	if len(t) < s.minLen {
		return t, 0 // inlined: many field values are short
	}
	return s.redact(t, m)
}

// Clean reports whether no rule of the set can change t, so Redact would
// return it as it is: the test a caller walking many texts asks first,
// which builds nothing.
func (s *Set) Clean(t string) bool { return len(t) < s.minLen || s.candidates(t) == 0 }

func (s *Set) redact(t string, m Mask) (out string, fired uint64) {
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

// candidates returns the rules that could change t: one pass over it
// finds the anchors, and the runs of digits. A run of s.digits, single
// separators between them, spans at least s.digits bytes that are digits
// or separators, never two separators in a row: whatever its offset,
// (s.digits-1)/2 of its pairs at even offsets lie wholly inside it, each
// a runByte pair. More than a chunk's four (minCardDigits is 13,
// TestDigitRunGate), so every run crosses from one chunk to the next with
// a runByte pair on both sides: only there is one looked for. A set that
// takes the wide scan hands it every text of wideMin bytes or more.
func (s *Set) candidates(t string) uint64 {
	if s.wide && len(t) >= wideMin {
		return s.wideCandidates(t)
	}
	found := s.always
	var last uint8 // the flags of the last chunk's last pair: its runByte is what counts
	pairs := s.pairAt
	p := unsafe.Pointer(unsafe.StringData(t))
	i := 0
	// Most chunks need no look: the loop calls out only for those that do
	// (chunk), so what it uses stays in registers.
	for ; i+8 <= len(t); i += 8 {
		x := binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(p, i)), 8))
		e0, e1, e2, e3 := pairs[uint16(x)], pairs[uint16(x>>16)], pairs[uint16(x>>32)], pairs[uint16(x>>48)]
		if last&e0|(e0|e1|e2|e3)&^runByte != 0 {
			found = s.chunk(t, i, last&e0, e0, e1, e2, e3, found)
		}
		last = e3
	}
	// The tail: its pairs, and its last byte when alone.
	var c uint8
	for q := i; q+2 <= len(t); q += 2 {
		c |= pairs[uint16(t[q])|uint16(t[q+1])<<8]
	}
	if last&c != 0 && s.digitM&^found != 0 && runAcross(t, i, s.digits) {
		found |= s.digitM // c holds the tail's first pair's runByte (and others': a needless look at worst)
	}
	if (len(t)-i)&1 != 0 {
		c |= s.anchorAt[t[len(t)-1]]
	}
	if c&^runByte != 0 && s.anchored&^found != 0 {
		found = s.anchorsInTail(t, i, found)
	}
	return found
}

// chunk adds the rules the chunk at t[i:] holds for, where the scan
// stopped: run, the flags its first pair shares with the chunk before's
// last, holds runByte when a run of digits may go on across them (other
// shared bits cost at most a needless look), and e0..e3 are its pairs'
// flags. It is out of line, so that the scan's loop keeps its registers.
//
//go:noinline
func (s *Set) chunk(t string, i int, run, e0, e1, e2, e3 uint8, found uint64) uint64 {
	if run != 0 && s.digitM&^found != 0 && runAcross(t, i, s.digits) {
		found |= s.digitM
	}
	if s.anchored&^found == 0 {
		return found
	}
	if e := e0 &^ runByte; e != 0 {
		found = s.pairAnchors(t, i, e, found)
	}
	if e := e1 &^ runByte; e != 0 {
		found = s.pairAnchors(t, i+2, e, found)
	}
	if e := e2 &^ runByte; e != 0 {
		found = s.pairAnchors(t, i+4, e, found)
	}
	if e := e3 &^ runByte; e != 0 {
		found = s.pairAnchors(t, i+6, e, found)
	}
	return found
}

// runAcross reports whether a run of n digits crosses t[i-1:i+1]: it lies in
// the stretch of digits and separators around it.
func runAcross(t string, i, n int) bool {
	lo, hi := i, i
	for lo > 0 && digitClass[t[lo-1]] != 0 {
		lo--
	}
	for hi < len(t) && digitClass[t[hi]] != 0 {
		hi++
	}
	return hi-lo >= n && digitRun(t[lo:hi], n)
}

// dashWordByte: c may follow the '-' of a flag or of -----BEGIN, quotes
// and escapes (-"p"x) included.
func dashWordByte(c byte) bool { return isUpper(c) || isLower(c) || c == '-' || isQuoting(c) }

// isRunPair: the two bytes may stand in a run of digits, single spaces or
// dashes between them, that digitRun looks for: both digits or separators,
// and not both separators.
func isRunPair(lo, hi byte) bool {
	return digitClass[lo] != 0 && digitClass[hi] != 0 && (digitClass[lo] == isDigitClass || digitClass[hi] == isDigitClass)
}

// anchorsInTail adds the rules the anchors in t[from:] hold for, by its
// pairs and its last byte when alone, as candidates looked at them.
func (s *Set) anchorsInTail(t string, from int, found uint64) uint64 {
	q := from
	for ; q+2 <= len(t); q += 2 {
		if e := s.pairAt[uint16(t[q])|uint16(t[q+1])<<8] &^ runByte; e != 0 {
			found = s.pairAnchors(t, q, e, found)
		}
	}
	if q < len(t) {
		if a := s.anchorAt[t[q]]; a != 0 {
			found = s.checkAt(t, q, a, found)
		}
	}
	return found
}

// pairAnchors adds the rules the pair t[q:q+2], flagged e in pairAt,
// holds for: each of e's bits names the check to run, and where its
// anchor stands (the byte before the pair for "//" of "://", and for the
// first '-' of "-----BEGIN" before a "--" pair).
func (s *Set) pairAnchors(t string, q int, e uint8, found uint64) uint64 {
	k := &s.kindBits
	if b := k[assignAnchor]; e&hintByte != 0 && b&^found != 0 {
		// The pair is a hint trigram's second or first one; most stand in
		// words that hold no hint ("re" of "request").
		p := -1
		if q > 0 && isHintTrigram(trigramAt(t, q-1)) {
			p = q - 1
		} else if q+3 <= len(t) && isHintTrigram(trigramAt(t, q)) {
			p = q
		}
		if p >= 0 && assignmentFrom(t, p) {
			found |= b
		}
	}
	if e&^hintByte == 0 {
		return found
	}
	if e&dashPair != 0 {
		if t[q] == '-' {
			if q > 0 && t[q-1] == '-' {
				found = s.dashAt(t, q-1, found) // "-----BEGIN" at an odd offset, after no break
			}
			found = s.dashAt(t, q, found)
		}
		if t[q+1] == '-' {
			found = s.dashAt(t, q+1, found)
		}
	}
	if b := k[urlAnchor]; e&urlPair != 0 && b&^found != 0 {
		p := q
		if t[q] == '/' {
			p = q - 1 // "//": the ':' is the byte before
		}
		if urlCredentialsAt(t, p) {
			found |= b
		}
	}
	if b := k[bearerAnchor]; e&bearerPair != 0 && b&^found != 0 {
		p := q
		if lower[t[q]] != 'b' {
			p = q + 1 // the byte before it, then its 'b'
		}
		if bearerAt(t, p) {
			found |= b
		}
	}
	if e&letterPair != 0 {
		found = s.builtinAt(t, q, s.builtinAt(t, q+1, found))
	}
	if e&genericByte != 0 {
		found = s.genericCheck(t, q, s.genericCheck(t, q+1, found))
	}
	return found
}

// checkAt adds the rules the anchor byte t[i] (of class a) holds for.
func (s *Set) checkAt(t string, i int, a uint8, found uint64) uint64 {
	if a&builtinByte != 0 {
		found = s.builtinAt(t, i, found)
	}
	if a&genericByte != 0 {
		found = s.genericCheck(t, i, found)
	}
	return found
}

// genericCheck adds the rules of the patterns anchored on t[i], if any.
func (s *Set) genericCheck(t string, i int, found uint64) uint64 {
	g := s.genericAt[t[i]]
	if g == 0 {
		return found
	}
	for _, c := range s.generic[g-1] {
		if c.rules&^found != 0 && (c.check == nil || c.check(t, i)) {
			found |= c.rules
		}
	}
	return found
}

// builtinAt runs the built-in rules' checks for the byte t[i], each only
// while its rules are not found yet, cheapest rejection first.
func (s *Set) builtinAt(t string, i int, found uint64) uint64 {
	k := &s.kindBits
	switch t[i] {
	case '-':
		found = s.dashAt(t, i, found)
	case ':':
		if b := k[urlAnchor]; b&^found != 0 && urlCredentialsAt(t, i) {
			found |= b
		}
	case 'b', 'B':
		if b := k[bearerAnchor]; b&^found != 0 && bearerAt(t, i) {
			found |= b
		}
	case 'J':
		if b := k[jwtAnchor]; b&^found != 0 && jwtAt(t, i) {
			found |= b
		}
	case 'K', 'S':
		if b := k[awsAnchor]; b&^found != 0 && awsKeyAt(t, i) {
			found |= b
		}
	}
	return found
}

// dashAt runs the checks of the rules the '-' at t[i] anchors.
func (s *Set) dashAt(t string, i int, found uint64) uint64 {
	k := &s.kindBits
	if b := k[privateKeyAnchor]; b&^found != 0 && privateKeyAt(t, i) {
		found |= b
	}
	if (k[flagAnchor]|k[clientAnchor])&^found != 0 && wordStartAt(t, i) {
		if b := k[flagAnchor]; b&^found != 0 && flagAt(t, i) {
			found |= b
		}
		if b := k[clientAnchor]; b&^found != 0 && clientFlagAt(t, i) {
			found |= b
		}
	}
	return found
}

// digitRun reports whether t has n digits in a row, single spaces or
// dashes between them allowed. Such a run spans at least n bytes, each a
// digit or a separator between two digits, so a byte that is neither lets
// the scan jump n bytes past it (as Horspool's search does). Prose lands on
// spaces often: one not between digits is jumped too.
func digitRun(t string, n int) bool {
	for i := n - 1; i < len(t); {
		switch digitClass[t[i]] {
		case 0:
			i += n
			continue
		case isSepClass:
			if i == 0 || i+1 == len(t) || digitClass[t[i-1]] != isDigitClass || digitClass[t[i+1]] != isDigitClass {
				i += n
				continue
			}
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
