package secrets

import "strings"

// An anchor is what every text a rule changes holds: a byte, at a
// position the anchor's check accepts. Anchor bytes are punctuation or rare
// letters, so a Set finds the rules a log line could need in one pass of
// table loads, and a check then looks only around its byte. (The literal
// hints they replaced, "pass", "token", "key" …, start with letters most
// words hold, and cost the scan 1.5 ns a byte.) The built-in rules' checks
// are called directly by kind; a pattern's goes through its func.
type anchor struct {
	kind anchorKind
	// For byteAnchor: the bytes, and a check (nil: the byte is enough).
	bytes string
	check func(s string, i int) bool
}

type anchorKind uint8

const (
	noAnchor         anchorKind = iota
	flagAnchor                  // '-' of a secret flag's word: "--password x", "-token x"
	clientAnchor                // '-' of a client's password flag: "mysql -phunter2", "curl -u bob:pw"
	assignAnchor                // a secret name's hint, then '=' or ':': NAME=value, "NAME":"value" (no byte: pairTable)
	urlAnchor                   // ':' of scheme://user:password@host
	bearerAnchor                // 'b' or 'B' of "Bearer token"
	jwtAnchor                   // 'J' of the "eyJ" a JWT starts with ('J' is rare, "ey" is not)
	awsAnchor                   // 'K' or 'S' of AKIA…, ASIA…
	privateKeyAnchor            // '-' of -----BEGIN … PRIVATE KEY-----
	byteAnchor                  // the anchor's own bytes and check
	numAnchorKinds
)

// kindBytes are the bytes of the built-in kinds.
var kindBytes = [numAnchorKinds]string{
	flagAnchor: "-", clientAnchor: "-", urlAnchor: ":", bearerAnchor: "bB",
	jwtAnchor: "J", awsAnchor: "KS", privateKeyAnchor: "-",
}

// isQuoting: bytes the shell removes from a word.
func isQuoting(c byte) bool { return c == '"' || c == '\'' || c == '\\' }

// wordStartAt reports whether the '-' at s[k] can start a word once the
// shell has removed quotes ('--password', \--token, "-p"x).
func wordStartAt(s string, k int) bool {
	return k == 0 || isWordBreak(s[k-1]) || isQuoting(s[k-1])
}

// flagAt: the word at the '-' s[k] is a secret flag, or holds quotes or
// escapes, which only words and unquote can see through.
func flagAt(s string, k int) bool {
	if !wordStartAt(s, k) {
		return false
	}
	e := k
	for e < len(s) && !isWordBreak(s[e]) {
		e++
	}
	w := s[k:e]
	return strings.ContainsAny(w, "\"'\\") || isSecretFlag(w)
}

// clientFlagSeconds holds the byte after the '-' of every client password
// flag (-p, -a, -w, -P, -u, -U, --user).
var clientFlagSeconds = func() string {
	var b []byte
	for _, c := range clients {
		for _, f := range c.flags {
			if strings.IndexByte(string(b), f.flag[1]) < 0 {
				b = append(b, f.flag[1])
			}
		}
	}
	return string(b)
}()

// clientFlagAt: the '-' at s[k] starts a word that may be a client's
// password flag, once quotes and escapes are removed (-\p, -"p"). The
// client's name is the rule's own cheap test (mayRunClient).
func clientFlagAt(s string, k int) bool {
	if !wordStartAt(s, k) {
		return false
	}
	j := k + 1
	for j < len(s) && isQuoting(s[j]) {
		j++
	}
	return j < len(s) && strings.IndexByte(clientFlagSeconds, s[j]) >= 0
}

// assignmentAt: the name before the '=' or ':' at s[i] is a secret name,
// as maskAssignments classifies it. Only the name's part after its last
// '.' decides (spring.datasource.password), and it holds a name hint's
// trigram (hasNameHint): most colons are in times, ports, URLs and
// file:line, so a short walk back stops there before any classify.
func assignmentAt(s string, i int) bool {
	end := i
	for end > 0 && isBlank(s[end-1]) {
		end--
	}
	if end > 0 && (s[end-1] == '"' || s[end-1] == '\'') {
		end--
	}
	var t uint32 // the trigram starting at j-1, walking back (hasNameHint's, mirrored)
	hint := false
	for j := end; j > 0 && end-j < maxName; j-- {
		c := s[j-1]
		if !isPartByte[c] {
			break
		}
		t = t>>5 | uint32(letterCode[c])<<10
		if isHintTrigram(t) {
			hint = true
			break
		}
	}
	if !hint {
		return false
	}
	start, end, _ := assignmentName(s, i)
	return classify(s[start:end], true) != notSecret
}

// assignmentFrom: after the name hint's trigram at s[p:p+3], the rest of
// the name's part that holds it, an optional quote and blanks, and an '='
// or ':' that assignmentAt accepts. An assignmentAt that holds has such a
// trigram within maxName bytes before its name's end, whose pair the scan
// flags (pairAnchors finds the trigram), so checking from the hints finds
// every assignment the '=' and ':' would: and most colons (times, ports,
// URLs, file:line) follow no hint.
func assignmentFrom(s string, p int) bool {
	k := p + 3
	for k < len(s) && k-p < maxName && isPartByte[s[k]] {
		k++
	}
	k = assignmentOpAt(s, k)
	return k >= 0 && assignmentAt(s, k)
}

// assignmentOpAt returns where the '=' or ':' of an assignment is when
// s[j:] is maybe a closing quote, blanks, then it: after a name; else -1.
func assignmentOpAt(s string, j int) int {
	if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
	}
	for j < len(s) && isBlank(s[j]) {
		j++
	}
	if j < len(s) && (s[j] == '=' || s[j] == ':') {
		return j
	}
	return -1
}

// trigramAt is the trigram of s[p:p+3].
func trigramAt(s string, p int) uint32 {
	return uint32(letterCode[s[p]])<<10 | uint32(letterCode[s[p+1]])<<5 | uint32(letterCode[s[p+2]])
}

// isPartByte tells the bytes of a name's part after its last '.'.
var isPartByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isNameChar(byte(c)) && c != '.'
	}
	return t
}()

// urlCredentialsAt: "://" at s[i] after a scheme, and an '@' after it.
func urlCredentialsAt(s string, i int) bool {
	return i > 0 && strings.HasPrefix(s[i:], "://") && isAlnum(s[i-1]) && strings.IndexByte(s[i+3:], '@') >= 0
}

// bearerAt: "bearer" (any case) at s[i], a word of its own followed by a
// blank, as maskBearer wants.
func bearerAt(s string, i int) bool {
	return i+6 < len(s) && (i == 0 || !isAlnum(s[i-1])) && strings.EqualFold(s[i:i+6], "bearer") && isBlank(s[i+6])
}

// jwtAt: the 'J' at s[i] ends an "eyJ" that starts a token.
func jwtAt(s string, i int) bool {
	return i >= 2 && s[i-2] == 'e' && s[i-1] == 'y' && (i == 2 || !tokenByte(s[i-3]))
}

// awsKeyAt: the 'K' or 'S' at s[i] is the second byte of an "AKIA" or
// "ASIA" starting a word with room for a key.
func awsKeyAt(s string, i int) bool {
	return i >= 1 && s[i-1] == 'A' && len(s)-(i-1) >= 20 && s[i+1] == 'I' && s[i+2] == 'A' &&
		(i == 1 || !isAlnum(s[i-2]))
}

// privateKeyAt: "-----BEGIN " (any case) at s[i].
func privateKeyAt(s string, i int) bool { return hasPrefixLower(s[i:], "-----begin ") }

// literalAnchor anchors a pattern on the rarest byte of the literal every
// match starts with.
func literalAnchor(lit string) anchor {
	at := 0
	for i := 1; i < len(lit); i++ {
		if commonness(lit[i]) < commonness(lit[at]) {
			at = i
		}
	}
	return anchor{kind: byteAnchor, bytes: lit[at : at+1], check: func(s string, i int) bool {
		return i >= at && strings.HasPrefix(s[i-at:], lit)
	}}
}

// commonness ranks a byte by how often log text holds it: punctuation
// least, then upper case, digits, lower case by English letter frequency,
// and blanks most.
func commonness(c byte) int {
	const byFrequency = "zqjxkvbpygfwmucldrhsnioate"
	switch {
	case isLower(c):
		return 40 + strings.IndexByte(byFrequency, c)
	case isDigit(c):
		return 30
	case isUpper(c):
		return 20
	case isBlank(c) || c == '\n' || c == '\r':
		return 100
	}
	return 10
}
