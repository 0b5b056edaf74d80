package secrets

import "strings"

// The words that make a name (a flag, an environment variable, a property,
// a JSON or YAML key, a header) hold a secret. A name is split into parts at
// '_', '-' and camelCase boundaries after dropping its leading dashes, a Java
// "-D" and everything up to its last '.' (spring.datasource.password →
// password); parts compare in lower case with trailing digits removed.
var (
	// strongWords make a name secret wherever they stand among its parts
	// (DB_PASSWORD_2, PASSWORD_HASH, auth_token_v2), and also as the end of
	// a part (dbpassword, csrftoken).
	strongWords = []string{"password", "passwd", "passphrase", "pwd", "token", "secret", "apikey",
		"storepass", "keypass", "srcstorepass", "deststorepass", "srckeypass", "destkeypass"} // keytool

	// suffixWords are the strong words that also match as the end of a part;
	// "pwd" does not, so OLDPWD stays readable.
	suffixWords = []string{"password", "passwd", "passphrase", "token", "secret", "apikey", "storepass", "keypass"}
	// strongPairs are two consecutive parts that make a name secret
	// wherever they stand (API_KEY, AWS_ACCESS_KEY_ID, ssh.privateKey).
	strongPairs = [][2]string{{"api", "key"}, {"access", "key"}, {"private", "key"}, {"secret", "key"}}
	// weakWords make a name secret only as its last part: "--key=x" and
	// "--basic-auth=x" hide x, "--key-file=x" and "SSH_AUTH_SOCK=x" do not.
	weakWords = []string{"key", "pass", "auth", "credential", "credentials", "authorization", "cookie"}
	// referenceWords, as the last part, say the value names where the secret
	// is, or describes it, rather than being it: PASSWORD_FILE,
	// --token-ttl, --password-stdin. A secret in such a value (a URL with
	// credentials) is still found by the other rules.
	referenceWords = []string{"file", "files", "path", "dir", "env", "stdin", "fd", "url", "uri",
		"type", "ttl", "timeout", "length", "count", "limit", "size"}
	// headerWords are last parts whose value runs to the end of the line
	// (or quote): "Authorization: Basic x y" and "Cookie: a=1; b=2".
	headerWords = []string{"authorization", "cookie"}
)

// nameKind says how a secret name's value is masked.
type nameKind int

const (
	notSecret nameKind = iota
	plainSecret
	authHeader   // keep the scheme word: "Bearer ***"
	cookieHeader // the whole rest of the line
)

// maxName bounds the name a scan looks back at, so a pathological argument
// costs linear time; the last part of a longer name still counts.
const maxName = 128

// IsSecretName reports whether a value named name (a flag without its
// dashes or with them, an environment variable, a -D property, a JSON or
// YAML key, a header name) is a secret by the rule table's name rules.
// The redact processor asks it for every field key.
func IsSecretName(name string) bool { return nameKindOf(name) != notSecret }

// nameKindOf is classify with suffixes, for a name as a whole: most names
// hold no hint, which two table loads a byte pair tell, and classify,
// which splits a name into words, need not see them.
func nameKindOf(name string) nameKind {
	if !hasNameHint(name) {
		return notSecret
	}
	return classify(name, true)
}

// hasNameHint is IsSecretName's cheap first test: every secret name holds
// one of nameHints, in some case, so it holds the hint's trigram (three
// letters of it, hintTrigrams)
// in a row (its trigram). Most keys hold none (status, path, component).
// A trigram's two byte pairs start at consecutive offsets, so one of them
// starts at an even one: looking up the pairs at even offsets, two bytes a
// load, finds every trigram's first flagged pair, and only from there (a
// trigram may start a byte before it) is the name read byte by byte.
func hasNameHint(name string) bool {
	for i := 0; i+2 <= len(name); i += 2 {
		if hintPairs[uint16(name[i])|uint16(name[i+1])<<8] {
			return hasHintTrigram(name[max(i-1, 0):])
		}
	}
	return false
}

// hasHintTrigram reports whether name holds a hint's trigram.
func hasHintTrigram(name string) bool {
	var t uint32
	for i := 0; i < len(name); i++ {
		t = t<<5&trigramMask | uint32(letterCode[name[i]])
		if isHintTrigram(t) {
			return true
		}
	}
	return false
}

// A trigram is three letter codes, the first in the high bits; a byte that
// is not a letter has code 0, which no hint trigram holds, so it breaks a
// trigram without a branch.
const trigramMask = 1<<15 - 1

// letterCode numbers the ASCII letters 1..26 in either case; 0 otherwise.
var letterCode = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = uint8(c-'a') + 1
		t[c-'a'+'A'] = uint8(c-'a') + 1
	}
	return t
}()

// trigramID numbers the distinct trigrams of the name hints (hintTrigrams)
// from 1, and is 0 for every other trigram: a byte a trigram, so a test is
// one load (32 KiB, of which a scan touches the few lines its text's
// trigrams fall in), and the number indexes the words that hold it
// (wordsByTrigram).
var trigramID, hintTrigramCount = func() (b [trigramMask + 1]uint8, n int) {
	for _, h := range hintTrigrams {
		if i := &b[uint32(letterCode[h[0]])<<10|uint32(letterCode[h[1]])<<5|uint32(letterCode[h[2]])]; *i == 0 {
			n++
			*i = uint8(n)
		}
	}
	return b, n
}()

// hintPairs holds, in every case, the first and the second byte pair of
// every hint's trigram, indexed by two bytes read little-endian.
var hintPairs = func() *[1 << 16]bool {
	t := new([1 << 16]bool)
	for _, h := range hintTrigrams {
		for k := range 2 {
			for _, a := range cases(h[k]) {
				for _, b := range cases(h[k+1]) {
					t[uint16(a)|uint16(b)<<8] = true
				}
			}
		}
	}
	return t
}()

func isHintTrigram(t uint32) bool { return trigramID[t&trigramMask] != 0 }

// classify names the kind of value name holds. With suffixes, a strong
// word also matches as the end of a part (dbpassword); flags whose value is
// the next argument do not use it, so "mysql -psecret db" keeps db.
func classify(name string, suffixes bool) nameKind {
	if name == "PWD" { // the shell's working directory, not MYSQL_PWD
		return notSecret
	}
	if strings.HasPrefix(name, "-D") && len(name) > 2 && name[2] != '-' {
		name = name[2:] // a Java system property
	}
	name = strings.TrimLeft(name, "-")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		return notSecret
	}
	var buf [16]string
	parts := splitName(name, buf[:0])
	if len(parts) == 0 {
		return notSecret
	}
	lastPart := parts[len(parts)-1]
	secret := false
	for i, p := range parts {
		if contains(strongWords, p) || suffixes && hasSuffixWord(p) {
			secret = true
			break
		}
		if i > 0 {
			for _, pair := range strongPairs {
				if parts[i-1] == pair[0] && p == pair[1] {
					secret = true
				}
			}
		}
	}
	if !secret && !contains(weakWords, lastPart) {
		return notSecret
	}
	switch {
	case contains(headerWords, lastPart) && lastPart == "cookie":
		return cookieHeader
	case contains(headerWords, lastPart):
		return authHeader
	case contains(referenceWords, lastPart):
		return notSecret
	}
	return plainSecret
}

func hasSuffixWord(p string) bool {
	for _, w := range suffixWords {
		if strings.HasSuffix(p, w) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, w := range list {
		if w == s {
			return true
		}
	}
	return false
}

// splitName splits name at '_', '-' and camelCase boundaries (keyStorePassword →
// key store password, APIKey → api key), lower-cases the parts and drops their
// trailing digits.
func splitName(name string, parts []string) []string {
	start := 0
	flush := func(end int) {
		for end > start && isDigit(name[end-1]) {
			end--
		}
		if end > start {
			parts = append(parts, strings.ToLower(name[start:end]))
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c == '-' || !isAlnum(c) {
			flush(i)
			start = i + 1
			continue
		}
		if i > start && isUpper(c) {
			prev := name[i-1]
			nextLower := i+1 < len(name) && isLower(name[i+1])
			if isLower(prev) || isDigit(prev) || isUpper(prev) && nextLower {
				flush(i)
				start = i
			}
		}
	}
	flush(len(name))
	return parts
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isUpper(c) || isLower(c) || isDigit(c) }

// isNameChar: the bytes of a flag, variable, property or key name.
func isNameChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// isSecretFlag reports whether a is a flag whose value may be the next
// argument: "--password", "-token", "--api-key". Negated flags
// ("--no-password") and reference flags ("--password-file") are not.
func isSecretFlag(a string) bool {
	if len(a) < 4 || a[0] != '-' {
		return false
	}
	name := strings.TrimPrefix(a[1:], "-")
	if len(name) < 3 || a[1] != '-' && !isUpper(a[1]) && !isLower(a[1]) {
		return false // a one-dash flag starts with a letter: "-1.5" and "-0.key" are numbers or other words
	}
	for i := 0; i < len(name); i++ {
		if !isNameChar(name[i]) {
			return false
		}
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "no-") || strings.HasPrefix(lower, "no_") {
		return false
	}
	return classify(name, false) != notSecret
}
