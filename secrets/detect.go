package secrets

import (
	"net/netip"
	"strings"
)

// Detectors of secrets recognisable by their shape rather than by a name
// before them. Like the other text rules they are byte scanners.

// maskAWSKeys masks AWS access key IDs: AKIA (long-term) or ASIA
// (temporary) and 16 upper-case letters or digits, standing alone.
func maskAWSKeys(s string, m Mask) string {
	p := splice{s: s, m: m}
	for i := 0; i+20 <= len(s); i++ {
		if s[i] != 'A' || s[i+1] != 'K' && s[i+1] != 'S' || s[i+2:i+4] != "IA" || i > 0 && isAlnum(s[i-1]) {
			continue
		}
		e := i + 4
		for e < len(s) && (isUpper(s[e]) || isDigit(s[e])) {
			e++
		}
		if e-i == 20 && (e == len(s) || !isAlnum(s[e])) {
			p.mask(i, e)
		}
		i = e - 1
	}
	return p.result()
}

// maskPrivateKeys masks the body of PEM private-key blocks, keeping the
// armour lines readable; a block cut short (a truncated line) is masked to
// the end.
func maskPrivateKeys(s string, m Mask) string {
	p := splice{s: s, m: m}
	from := 0
	for {
		k := indexFold(s[from:], "-----BEGIN ")
		if k < 0 {
			break
		}
		k += from
		cl := strings.Index(s[k+11:], "-----")
		if cl < 0 {
			break
		}
		label := s[k+11 : k+11+cl]
		body := k + 11 + cl + 5
		from = body
		if !strings.HasSuffix(label, "PRIVATE KEY") && !strings.HasSuffix(label, "PRIVATE KEY BLOCK") || len(label) > 64 {
			continue
		}
		end := strings.Index(s[body:], "-----END ")
		if end < 0 {
			end = len(s) - body
		}
		p.mask(body, body+end)
		from = body + end
	}
	return p.result()
}

func indexFold(s, lit string) int {
	for i := 0; i+len(lit) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(lit)], lit) {
			return i
		}
	}
	return -1
}

// Payment card numbers: 13 to 19 digits, alone or in groups separated by
// single spaces or dashes, with an issuer's prefix and length, passing the
// Luhn check. Order numbers, timestamps and IDs of the same length rarely
// pass all three.
const (
	minCardDigits = 13
	maxCardDigits = 19
)

func maskCards(s string, m Mask) string {
	p := splice{s: s, m: m}
	var digits [maxCardDigits]byte
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.' || s[i-1] == '-' || s[i-1] == '+') {
			continue
		}
		n, e := 0, i
		var sep byte
		for e < len(s) {
			c := s[e]
			if isDigit(c) {
				if n == maxCardDigits {
					n++ // too long: not a card
					break
				}
				digits[n] = c - '0'
				n++
				e++
				continue
			}
			// One separator between digits, the same all along.
			if (c == ' ' || c == '-') && e+1 < len(s) && isDigit(s[e+1]) && (sep == 0 || sep == c) {
				sep = c
				e++
				continue
			}
			break
		}
		next := e
		for next < len(s) && isDigit(s[next]) {
			next++
		}
		// After the number: not a letter or digit, nor a decimal point.
		end := e == len(s) || !isAlnum(s[e]) && !(s[e] == '.' && e+1 < len(s) && isDigit(s[e+1]))
		if n >= minCardDigits && n <= maxCardDigits && end &&
			cardIssuer(digits[:n]) && luhn(digits[:n]) {
			p.mask(i, e)
		}
		i = next - 1
	}
	return p.result()
}

// mayHoldCard reports whether a part of t, any piece of it, may hold a
// number maskCards masks. maskCards reads a number where t places it,
// after no letter, digit, '.', '-' or '+'; a part may start or end
// anywhere, so each piece of 13 to 19 digits of a stretch of digits and
// single separators counts when it has an issuer's prefix and length and
// passes the Luhn check. Where a line's stretch of 13 digits says only
// "may", this says no to the pod hashes, order numbers and millisecond
// times that make up most such stretches. Past cardLooks pieces it says
// yes, which keeps it linear: the texts then get their own look.
func mayHoldCard(t string) bool {
	var d [cardLooks]byte
	n, looks := 0, 0
	for i := 0; i < len(t); i++ {
		c := t[i]
		if isDigit(c) {
			if n == len(d) {
				return true
			}
			d[n] = c - '0'
			n++
			continue
		}
		if (c == ' ' || c == '-') && n > 0 && isDigit(t[i-1]) && i+1 < len(t) && isDigit(t[i+1]) {
			continue
		}
		if n >= minCardDigits {
			if looks += n - minCardDigits + 1; looks > cardLooks || cardWithin(d[:n]) {
				return true
			}
		}
		n = 0
	}
	return n >= minCardDigits && (looks+n-minCardDigits+1 > cardLooks || cardWithin(d[:n]))
}

// cardLooks bounds mayHoldCard's work on a text: the digits of a stretch,
// and the places a piece of one may start.
const cardLooks = 48

// cardWithin: a piece of the digits d, 13 to 19 long, is a card's number.
func cardWithin(d []byte) bool {
	for a := 0; a+minCardDigits <= len(d); a++ {
		if d[a] < 2 || d[a] > 6 {
			continue // no issuer's number starts so (cardIssuer)
		}
		for e := a + minCardDigits; e <= min(len(d), a+maxCardDigits); e++ {
			if cardIssuer(d[a:e]) && luhn(d[a:e]) {
				return true
			}
		}
	}
	return false
}

// cardIssuer reports whether the number has a card network's prefix and
// one of its lengths.
func cardIssuer(d []byte) bool {
	n := len(d)
	pre := func(k int) int {
		v := 0
		for _, x := range d[:k] {
			v = v*10 + int(x)
		}
		return v
	}
	switch p2, p4 := pre(2), pre(4); {
	case d[0] == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p2 == 36 || p2 == 38 || p2 == 39 || pre(3) >= 300 && pre(3) <= 305: // Diners Club
		return n >= 14 && n <= 19
	case p4 == 6011 || p2 == 65 || pre(3) >= 644 && pre(3) <= 649, p2 == 62, p4 >= 3528 && p4 <= 3589: // Discover, UnionPay, JCB
		return n >= 16
	}
	return false
}

func luhn(d []byte) bool {
	sum := 0
	for i := range d {
		x := int(d[len(d)-1-i])
		if i%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// maskEmails masks e-mail addresses, local part and domain, when the domain
// has a dot and ends in a top-level domain of letters.
func maskEmails(s string, m Mask) string {
	p := splice{s: s, m: m}
	from := 0
	for {
		k := strings.IndexByte(s[from:], '@')
		if k < 0 {
			break
		}
		at := from + k
		from = at + 1
		lo := at
		for lo > 0 && lo > p.last && isLocalByte(s[lo-1]) {
			lo--
		}
		hi := at + 1
		for hi < len(s) && (isAlnum(s[hi]) || s[hi] == '-' || s[hi] == '.') {
			hi++
		}
		for hi > at+1 && s[hi-1] == '.' {
			hi-- // a sentence's full stop
		}
		dot := strings.LastIndexByte(s[at+1:hi], '.')
		if lo == at || dot <= 0 || !isTLD(s[at+1+dot+1:hi]) {
			continue
		}
		p.mask(lo, hi)
		from = hi
	}
	return p.result()
}

func isLocalByte(c byte) bool { return isAlnum(c) || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0 }

func isTLD(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isUpper(s[i]) && !isLower(s[i]) {
			return false
		}
	}
	return true
}

// maskIPv4 masks dotted-quad addresses standing alone (not a version
// number with more parts, not inside a longer dotted word).
func maskIPv4(s string, m Mask) string {
	p := splice{s: s, m: m}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || i > 0 && (isAlnum(s[i-1]) || s[i-1] == '.') {
			continue
		}
		e := i
		for e < len(s) && (isDigit(s[e]) || s[e] == '.') {
			e++
		}
		end := e
		for end > i && s[end-1] == '.' {
			end-- // a sentence's full stop
		}
		if (e == len(s) || !isAlnum(s[e])) && end-i >= 7 && end-i <= 15 {
			if a, err := netip.ParseAddr(s[i:end]); err == nil && a.Is4() {
				p.mask(i, end)
			}
		}
		i = e
	}
	return p.result()
}

// maskIPv6 masks IPv6 addresses: runs of hex digits and colons (with a
// dotted IPv4 tail) that parse as one. Times (12:30:45) and MAC addresses
// do not parse.
func maskIPv6(s string, m Mask) string {
	p := splice{s: s, m: m}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) && s[i] != ':' || i > 0 && (isHex(s[i-1]) || s[i-1] == ':' || isAlnum(s[i-1])) {
			continue
		}
		e, colons := i, 0
		for e < len(s) && (isHex(s[e]) || s[e] == ':' || s[e] == '.') {
			if s[e] == ':' {
				colons++
			}
			e++
		}
		end := e
		for end > i && (s[end-1] == '.' || s[end-1] == ':' && !strings.HasSuffix(s[i:end], "::")) {
			end--
		}
		if colons >= 2 && end-i <= 45 && (e == len(s) || !isAlnum(s[e])) {
			if a, err := netip.ParseAddr(s[i:end]); err == nil && a.Is6() {
				p.mask(i, end)
			}
		}
		i = e
	}
	return p.result()
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// clientNames finds the names of the clients, and their subcommands.
var clientNames = func() *hintIndex {
	x := &hintIndex{}
	for _, c := range clients {
		for _, n := range c.names {
			x.add(strings.ToLower(n), 1)
		}
		if c.sub != "" {
			x.add(c.sub, 1)
		}
	}
	return x
}()

// mayRunClient is client-flag's cheap test: the text names a client.
func mayRunClient(s string) bool { return clientNames.find(s, 0) != 0 }
