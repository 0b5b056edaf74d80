package secrets

import (
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"
)

// A parser's texts are mostly parts of its line: a JSON value between its
// quotes, a logfmt value after its '=', a message after its header. So one
// look at the line can stand in for the many at its texts: the redact
// processor asks LineClean once a line, and then skips each text that
// InCleanLine says is a part of it, instead of scanning it.
//
// A text's checks look at the bytes around an anchor, and a part of a line
// sees fewer of them than the line: where it starts and ends decides what
// a name or a flag's word is. So each check at a flagged trigram of the
// line answers for every part that holds the trigram, wherever it starts
// and ends:
//   - an assignment's name: each name a part can cut from the line's
//     (from where the part starts to the '=' or ':'), as classify reads it
//     (lineAssignment);
//   - a flag's word: a part cuts it short, so a word that holds a name
//     hint counts, and one holding quotes (--pa"ss"word) counts when its
//     letters spell one once the quotes are left out, as the shell joins
//     them for the flag rule;
//   - bearer, eyJ and AKIA/ASIA count without the "no letter before" their
//     checks want, since a part may start at them;
//   - a client's flag counts where the line names a client (the rule's own
//     test, which holds in the line where it holds in a part);
//   - a '-' that starts a part is a word's start there, whatever the line
//     has before it, so InCleanLine leaves such a part out.
// The other checks (a URL's credentials, -----BEGIN, a run of digits)
// hold in the line where they hold in a part of it.
//
// Names are the keys parsers cut from a line, and a parser cuts a key as a
// key is written: a JSON key, a logfmt or klog key, "client: x" (the
// parsers' TestLineKeysAreKeyParts holds them to it). So a name hint counts
// against names only where it may lie in such a part (keyNamesSecret), and its
// secret word end in it: "Failed password for bob" and "authorised: ok"
// name no secret, "password: x" and `"pass word":` may.

// LineClean reports, as parts, whether no rule that is not optional
// changes any part of line that InCleanLine accepts, and, as names, whether
// besides no key part of line (IsKeyPart) is a secret name (IsSecretName):
// no name hint lies where such a part may hold it. It may say no where
// every part would be clean; it never says yes where one is not. It says
// no to lines shorter than the wide scan takes, and always on CPUs
// without it.
func LineClean(line string) (parts, names bool) {
	return lineSet.Load().lineClean(line) // one call: this inlines where lines are checked
}

// InCleanLine reports whether t is a part of line that LineClean answers
// for: its bytes lie in line's (InLine), and it does not start with a '-'
// (which a part sees at a word's start where the line may not). A text
// made anew (unescaped, joined, added) lies elsewhere in memory.
func InCleanLine(line, t string) bool {
	return len(t) == 0 || t[0] != '-' && InLine(line, t)
}

// InLine reports whether t's bytes lie in line's: t is a part of line.
func InLine(line, t string) bool {
	off := uintptr(unsafe.Pointer(unsafe.StringData(t))) - uintptr(unsafe.Pointer(unsafe.StringData(line))) // wraps to huge below line
	return off < uintptr(len(line)) && uintptr(len(t)) <= uintptr(len(line))-off
}

// lineSet is the rules that are not optional, which LineClean answers for.
var lineSet atomic.Pointer[Set]

func newLineSet() *Set {
	var rules []Rule
	for _, r := range Rules {
		if !r.Optional {
			rules = append(rules, r)
		}
		if r.digits > 0 && r.Name != "credit-card" {
			panic("secrets: the line check answers for runs of digits by the card rule's own test (mayHoldCard)")
		}
	}
	s, err := NewSet(rules)
	if err != nil || s.always != 0 {
		panic("secrets: the rules that are not optional make no prefiltered set")
	}
	lineSet.Store(s)
	return s
}

// LineCleanCovers reports whether LineClean answers for s: its rules are
// built-in ones that are not optional.
func (s *Set) LineCleanCovers() bool {
	for _, r := range s.rules {
		b, ok := Lookup(r.Name)
		if !ok || b.Optional || r.anchor.kind != b.anchor.kind || r.digits != b.digits {
			return false
		}
	}
	return true
}

// lineClean is LineClean for s, the line set (nil: not built yet).
func (s *Set) lineClean(t string) (parts, names bool) {
	if s == nil {
		s = newLineSet()
	}
	if !s.wide || len(t) < wideMin {
		return false, false
	}
	if len(t) < 32+2 {
		return s.lineByFlags(t)
	}
	// Most lines' first call of the scan is their only one and flags
	// nothing: it settles them, with no loop over its flags.
	var hits [wideHits]uint64
	nh, next, first, last := wideScan(unsafe.StringData(t), len(t), 2, wideTab, &hits)
	if first == 0 && next >= len(t) {
		if nh == 0 {
			return true, true
		}
		// Most other lines' scan flags one trigram: its check, without
		// lineFlagged's loop.
		if h := uint32(hits[0]); nh == 1 && h&(h-1) == 0 {
			names = true
			if s.lineDirty(t, int(hits[0]>>32)+bits.TrailingZeros32(h), &names) {
				return false, false
			}
			return true, names
		}
	}
	return s.lineFlagged(t, &hits, nh, next, first, last)
}

// lineFlagged is lineClean for a line of 34 bytes or more from what the
// scan's first call on it returned, calling it again while it has more.
// Unlike a text's, a line's first and last '-' need no look of their own:
// a part that starts at the first starts with a '-', which InCleanLine
// leaves out, and a last one starts no flag's word.
func (s *Set) lineFlagged(t string, hits *[wideHits]uint64, nh, next, first, last int) (parts, names bool) {
	var run digitSpan
	names = true
	for {
		if first > 0 {
			run.add(first, last, len(t))
		}
		for _, h := range hits[:nh] {
			o := int(h >> 32)
			for m := uint32(h); m != 0; m &= m - 1 {
				if s.lineDirty(t, o+bits.TrailingZeros32(m), &names) {
					return false, false
				}
			}
		}
		if next >= len(t) {
			break
		}
		nh, next, first, last = wideScan(unsafe.StringData(t), len(t), next, wideTab, hits)
	}
	// A stretch of 13 digits, single separators between them, is run
	// bytes every 13 in a row of which lie in the span: all of it does.
	if run.hi > 0 && mayHoldCard(t[run.lo:run.hi]) {
		return false, false
	}
	return true, names
}

// lineByFlags is lineClean by wideFlags: for lines shorter than 34 bytes,
// which the scan takes in one 16-byte-lane block.
func (s *Set) lineByFlags(t string) (parts, names bool) {
	var run digitSpan
	names = true
	for k := range wideFlags(t, &run) {
		if s.lineDirty(t, k, &names) {
			return false, false
		}
	}
	if run.hi > 0 && mayHoldCard(t[run.lo:run.hi]) {
		return false, false
	}
	return true, names
}

// lineDirty is trigramChecks for a line, as the package's comment above
// says: whether the trigram t[k-2:k+1] anchors a change to a part of t.
// A name hint's clears names.
func (s *Set) lineDirty(t string, k int, names *bool) bool {
	c0, c1, c2 := t[k-2], t[k-1], t[k]
	switch tri := trigramAt(t, k-2); {
	case isHintTrigram(tri):
		// A secret name or an assignment to one needs a secret word
		// holding the trigram and ending where a name's part may, so
		// without one ("created", "invoke", "authorised") neither looks
		// further; with one, a name ending at or after the first such end
		// has one (each end they try is before no lower-case letter).
		e := secretWordEnd(t, k-2, tri)
		if e < 0 {
			return false
		}
		// Without a secret word ending where a key part holding the
		// hint may end, it is no secret name ("authorised: ok").
		if *names && keyNamesSecret(t, e, k+1) {
			*names = false
		}
		return lineAssignment(t, k-2, e)
	case c1 == '-' && c2 == c0 && (c0 == '"' || c0 == '\'') && (k+1 == len(t) || isWordBreak(t[k+1])):
		return false // "-" alone, an access log's empty field: no flag (emptyFlagAt), no -----BEGIN
	case c1 == '-':
		return c0 == '-' && s.lineDash(t, k-2) || s.lineDash(t, k-1)
	case c0 == ':':
		return urlCredentialsAt(t, k-2)
	case lower[c0] == 'b':
		i := k - 2
		return i+6 < len(t) && foldAt(t, i, "bearer") && isBlank(t[i+6])
	case c2 == 'J':
		return c0 == 'e' && c1 == 'y'
	case c0 == 'A':
		return (c1 == 'K' || c1 == 'S') && c2 == 'I' && k+1 < len(t) && t[k+1] == 'A' && len(t)-(k-2) >= 20
	}
	return false
}

// IsKeyPart reports whether line[a:b] may be a key a parser cut from line:
// after it, maybe a quote, blanks, then '=' or ':'; in it, when that quote
// follows it (a JSON key), no such quote, and otherwise (logfmt's, "client:
// x") no blank, quote, '=' or ':'. A JSON key holds blanks, the other
// quote, '=' and ':' as any text.
func IsKeyPart(line string, a, b int) bool {
	if a >= b || b > len(line) || assignmentOpAt(line, b) < 0 {
		return false
	}
	if b < len(line) && (line[b] == '"' || line[b] == '\'') {
		return strings.IndexByte(line[a:b], line[b]) < 0
	}
	for i := a; i < b; i++ {
		if keyStop[line[i]] {
			return false
		}
	}
	return true
}

// keyNamesSecret reports whether a key part (IsKeyPart) that holds t[i-1]
// and goes on from there may end with a secret word that holds the hint
// trigram there, the first of which ends at wordEnd (secretWordEnd): it
// ends there or later. Such a part ends, unquoted, where
// the bytes from i on first hold a blank, quote, '=' or ':', or, quoted,
// at the first double quote or the first single quote from i on (past any
// blank, '=', ':' or other quote on the way, which a JSON key may hold):
// each end an assignment follows is tried. The two quotes are tried apart,
// as a JSON key holding a single quote ends at the double quote after it.
func keyNamesSecret(t string, wordEnd, i int) bool {
	j := i
	for j < len(t) && !keyStop[t[j]] {
		j++
	}
	if wordEnd <= j && assignmentOpAt(t, j) >= 0 {
		return true
	}
	for _, q := range [2]byte{'"', '\''} {
		if j < len(t) && t[j] == q {
			continue // the first such quote, where no assignment follows
		}
		if e := strings.IndexByte(t[j:], q); e >= 0 && wordEnd <= j+e && assignmentOpAt(t, j+e) >= 0 {
			return true
		}
	}
	return false
}

// keyStop: the bytes that end an unquoted key part, or may end a quoted one.
var keyStop = [256]bool{' ': true, '\t': true, '"': true, '\'': true, '=': true, ':': true}

// lineDash is dashAt for a line: -----BEGIN; a client's password flag
// where t names a client; a secret flag's word. A part's flag word is the
// line's name run from the '-' (it ends where a name does), or, when the
// line's word holds quotes, any of it, quotes left out.
func (s *Set) lineDash(t string, i int) bool {
	if privateKeyAt(t, i) {
		return true
	}
	if !wordStartAt(t, i) || emptyFlagAt(t, i) {
		return false
	}
	if clientFlagAt(t, i) && longFlagAt(t, i) && mayRunClient(t) {
		return true
	}
	e := i
	for e < len(t) && !isWordBreak(t[e]) {
		e++
	}
	if w := t[i:e]; strings.ContainsAny(w, `"'\`) {
		return quotedHint(w)
	}
	// A secret flag's name holds a hint (FuzzNameHint), and a part cuts
	// the word short anywhere.
	for e = i; e < len(t) && isNameChar(t[e]); e++ {
	}
	return quotedHint(t[i:e])
}

// emptyFlagAt: the word of the '-' at t[i] is that '-' and quotes (the
// "-" of an access log's empty field): no flag, not even a client's.
func emptyFlagAt(t string, i int) bool {
	j := i + 1
	for j < len(t) && isQuoting(t[j]) {
		j++
	}
	return j == len(t) || isWordBreak(t[j])
}

// longFlagAt: after the '-' at t[i], a second '-' (quotes aside) is
// followed by a letter, as a client's long flag's (--user) is: "---" of
// a Spring header is none, and no look for a client's name is needed.
func longFlagAt(t string, i int) bool {
	j := i + 1
	for j < len(t) && isQuoting(t[j]) {
		j++
	}
	if j >= len(t) || t[j] != '-' {
		return true
	}
	for j++; j < len(t) && isQuoting(t[j]); j++ {
	}
	return j < len(t) && (isUpper(t[j]) || isLower(t[j]))
}

// quotedHint: w, its quotes and backslashes left out, holds a name hint
// (in any case), as a secret flag's name does once the shell has joined
// its pieces.
func quotedHint(w string) bool {
	var last [16]byte // the last letters, lower case, the latest at the end
	n := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		if isQuoting(c) {
			continue
		}
		copy(last[:], last[1:])
		last[len(last)-1] = lower[c]
		n++
		for _, h := range nameHints {
			if n >= len(h) && string(last[len(last)-len(h):]) == h {
				return true
			}
		}
	}
	return false
}

// wordsByTrigram lists, by a hint trigram's number (trigramID), the words
// that hold it and where: for secretWordEnd, the words that make a name
// secret (strongWords, weakWords). Each list is in the order of where its
// words end after the trigram, and next is the first word that ends
// elsewhere than this one: one look at that end settles all that end
// there (storepass, keypass and five more end where pass does).
type trigramWord struct {
	word     string
	at, next int
}

func wordsByTrigram(words []string) [][]trigramWord {
	m := make([][]trigramWord, hintTrigramCount+1)
	for _, w := range words {
		for i := 0; i+3 <= len(w); i++ {
			if id := trigramID[trigramAt(w, i)&trigramMask]; id != 0 {
				m[id] = append(m[id], trigramWord{word: w, at: i})
			}
		}
	}
	after := func(w trigramWord) int { return len(w.word) - w.at }
	for _, ws := range m {
		slices.SortStableFunc(ws, func(a, b trigramWord) int { return after(a) - after(b) })
		for i := range ws {
			j := i + 1
			for j < len(ws) && after(ws[j]) == after(ws[i]) {
				j++
			}
			ws[i].next = j
		}
	}
	return m
}

var secretsByTrigram = wordsByTrigram(append(append([]string(nil), strongWords...), weakWords...))

// secretWordEnd returns where the first word that makes a name secret,
// holds the hint trigram tri at t[p:] and ends where a name's part may
// (not before a lower-case letter) ends, or -1 where none does. Every name
// classify calls secret has such a word (a part that is one, or ends with
// one, or "key" after "api"), so a name without one needs no classify:
// "authorised" has "auth" only inside a part. A name that holds the
// trigram and ends at end, before no lower-case letter, has one if and
// only if end is at or after this one.
func secretWordEnd(t string, p int, tri uint32) int {
	ws := secretsByTrigram[trigramID[tri&trigramMask]]
	for i := 0; i < len(ws); {
		w := &ws[i]
		s := p - w.at
		// The end first: it fails for most words the trigram is in, and
		// for every word that ends there.
		e := s + len(w.word)
		if e > len(t) || e != len(t) && isLower(t[e]) {
			i = w.next
			continue
		}
		if foldAt(t, s, w.word) {
			return e
		}
		i++
	}
	return -1
}

// foldAt: t holds w, which is lower case, at i in any ASCII case.
func foldAt(t string, i int, w string) bool {
	return i >= 0 && i+len(w) <= len(t) && lower[t[i]] == w[0] && hasPrefixLower(t[i:], w)
}

// lineAssignment is assignmentFrom for every part of t that holds the
// hint trigram at t[p:p+3]: after it, the name's rest and an '=' or ':',
// and before that a name, cut where the part starts, that classify calls
// secret. A cut name's parts are the whole name's but its first, which is
// cut short: it makes the name secret only as a word of its own
// (password, auth; api before key), so the cuts to try are the whole name
// (for its other parts), those up to cutReach bytes before the trigram
// (for a word that holds it), and where the word of a strongPairs entry
// before the trigram's part would start. wordEnd is where the first
// secret word holding the trigram ends (secretWordEnd).
func lineAssignment(t string, p, wordEnd int) bool {
	k := p + 3
	for k < len(t) && k-p < maxName && isPartByte[t[k]] {
		k++
	}
	if k = assignmentOpAt(t, k); k < 0 {
		return false
	}
	start, end, _ := assignmentName(t, k)
	if start > p {
		return false // the name holds no part of the trigram: as assignmentAt's walk back
	}
	if wordEnd > end {
		return false // no secret word ends within the name (secretWordEnd)
	}
	secret := func(j int) bool { return j >= start && j <= p && classify(t[j:end], true) != notSecret }
	if secret(start) {
		return true
	}
	for j := max(start+1, p-cutReach); j <= p; j++ {
		if secret(j) {
			return true
		}
	}
	ps := p // the trigram's part, then the end of the one before
	for ps > start && isAlnum(t[ps-1]) {
		ps--
	}
	pe := ps
	for pe > start && !isAlnum(t[pe-1]) {
		pe--
	}
	for _, pair := range strongPairs {
		if j := pe - len(pair[0]); j > start && j < p-cutReach && secret(j) {
			return true
		}
	}
	return false
}

// cutReach is how far before a hint's trigram in a secret word the word
// may start: deststorepass's "pas" is 9 bytes in.
const cutReach = 16
