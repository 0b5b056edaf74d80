package secrets

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
