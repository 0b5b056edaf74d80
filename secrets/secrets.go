// Package secrets is the one table of secret-detection rules: procinfo masks
// command lines with it, and the log redact processor is to mask text with
// the same rules. It imports the standard library, and x/sys/cpu to know
// whether the CPU runs the wide scan (wide.go).
//
// A rule finds a secret value and replaces it with Masked, keeping what
// names it readable: "--password=***", "PGPASSWORD=***", "-p***" for mysql,
// "postgres://bob:***@db/app", "Authorization: Bearer ***". Masking is
// idempotent (masking a masked text changes nothing) and only ever replaces
// non-empty spans with Masked.
package secrets

import "regexp"

// Masked replaces every secret value.
const Masked = "***"

// Mask says what replaces one secret; nil masks with Masked. The redact log
// processor passes its own (a custom string, a keyed hash).
type Mask func(secret string) string

func (m Mask) of(secret string) string {
	if m == nil {
		return Masked
	}
	return m(secret)
}

// A Rule is one entry of the rule table. Text rules mask inside one string
// (an argument, a shell script, a log line); argument rules need the
// argument vector (the flag before a value, the program a short flag
// belongs to) and, given a string, apply to its shell-like words.
type Rule struct {
	// Name identifies the rule (in docs, tests and the redact processor's
	// report of which rules fired).
	Name string
	// Example shows an input and what it becomes.
	Example, Redacted string
	// Optional rules (e-mail and IP addresses: personal data, not
	// credentials) apply only when asked for by name: RedactText and
	// RedactArgs skip them.
	Optional bool

	text func(s string, m Mask) string
	args func(v argsView)
	// anchor holds in every text the rule can change; digits, when set,
	// is the alternative: a run of that many digits. A rule with neither
	// always runs. Set uses them to skip rules cheaply.
	anchor anchor
	digits int
	// minLen is the length of the shortest text the rule can change (0:
	// unknown, as for a pattern); Set skips shorter texts.
	minLen int
	// pre, when set, is a cheap test that s has nothing for the rule.
	pre func(s string) bool
}

// Text masks what the rule finds in s: a string that is not an argument
// vector, such as a log message. Argument rules apply to s's shell-like
// words, so "sh -c 'mysql -phunter5'" is covered.
func (r Rule) Text(s string) string { return r.Replace(s, nil) }

// Replace is Text with m choosing what replaces each secret.
func (r Rule) Replace(s string, m Mask) string {
	if r.pre != nil && !r.pre(s) {
		return s
	}
	return r.apply(s, m)
}

func (r Rule) apply(s string, m Mask) string {
	if r.args != nil {
		return inWords(s, r.args, m)
	}
	return r.text(s, m)
}

// nameHints are in every secret name (see names.go).
var nameHints = []string{"pass", "pwd", "token", "secret", "key", "auth", "credential", "cookie"}

// hintTrigrams are three letters in a row of each name hint, in order: the
// three whose two byte pairs are rarest in English, so that the scan's
// pair table flags few pairs of plain text (token's "oke", not "tok": "to"
// is in every other line); secret shares credential's "cre", which costs
// no pair of its own ("ec" of "ecr" is in every "check" and "record").
var hintTrigrams = []string{"pas", "pwd", "oke", "cre", "key", "aut", "cre", "oki"}

// Rules is the rule table, applied in this order.
var Rules = []Rule{
	{
		Name: "flag-value", minLen: 6,
		Example: "app --password hunter2 --api-key k1", Redacted: "app --password *** --api-key ***",
		args: maskFlagValues, anchor: anchor{kind: flagAnchor}, pre: mayHaveSecretFlag,
	},
	{
		Name: "client-flag", minLen: 6,
		Example: "mysql -uroot -phunter5 db", Redacted: "mysql -uroot -p*** db",
		args: maskClientFlags, anchor: anchor{kind: clientAnchor}, pre: mayRunClient,
	},
	{
		Name: "assignment", minLen: 5,
		Example:  `PGPASSWORD=pg777 -Dpassword=jp555 {"password":"js666"} Authorization: Bearer x`,
		Redacted: `PGPASSWORD=*** -Dpassword=*** {"password":"***"} Authorization: Bearer ***`,
		text:     maskAssignments, anchor: anchor{kind: assignAnchor},
	},
	{
		Name: "url-credentials", minLen: 7,
		Example: "postgres://bob:s3cret@db:5432/app", Redacted: "postgres://bob:***@db:5432/app",
		text: maskURLCredentials, anchor: anchor{kind: urlAnchor},
	},
	{
		Name: "bearer-token", minLen: 15,
		Example: "sent Bearer eyJhbGciOiJIUzI1NiJ9", Redacted: "sent Bearer ***",
		text: maskBearer, anchor: anchor{kind: bearerAnchor},
	},
	{
		Name: "jwt", minLen: 20,
		Example: "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl expired", Redacted: "token *** expired",
		text: maskJWTs, anchor: anchor{kind: jwtAnchor},
	},
	{
		Name: "aws-access-key", minLen: 20,
		Example: "using AKIAIOSFODNN7EXAMPLE in us-east-1", Redacted: "using *** in us-east-1",
		text: maskAWSKeys, anchor: anchor{kind: awsAnchor},
	},
	{
		Name: "private-key", minLen: 28,
		Example:  "key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- loaded",
		Redacted: "key -----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY----- loaded",
		text:     maskPrivateKeys, anchor: anchor{kind: privateKeyAnchor},
	},
	{
		Name: "credit-card", minLen: 13,
		Example: "paid with 4111 1111 1111 1111, order 1234567812345678", Redacted: "paid with ***, order 1234567812345678",
		text: maskCards, digits: minCardDigits,
	},
	{
		Name: "email", minLen: 3,
		Example: "mail to bob.smith+x@example.co.uk sent", Redacted: "mail to *** sent",
		Optional: true, text: maskEmails, anchor: anchor{kind: byteAnchor, bytes: "@"},
	},
	{
		Name: "ipv4", minLen: 7,
		Example: "from 10.1.2.3:8080 version 1.2.3", Redacted: "from ***:8080 version 1.2.3",
		Optional: true, text: maskIPv4,
	},
	{
		Name: "ipv6", minLen: 2,
		Example: "from [2001:db8::1]:443 at 12:30:45", Redacted: "from [***]:443 at 12:30:45",
		Optional: true, text: maskIPv6, anchor: anchor{kind: byteAnchor, bytes: ":"},
	},
}

// RedactText masks every secret the rules that are not optional find in s.
func RedactText(s string) string {
	for _, r := range Rules {
		if !r.Optional {
			s = r.Text(s)
		}
	}
	return s
}

// RedactArgs returns argv with every secret the rules find masked: argument
// rules over the vector, then every rule inside each argument. argv itself
// is never modified; it is returned as is when nothing is masked.
func RedactArgs(argv []string) []string {
	out := append([]string(nil), argv...)
	v := argvView(out)
	for _, r := range Rules {
		if r.args != nil && !r.Optional {
			r.args(v)
		}
	}
	changed := false
	for i, a := range out {
		if a != Masked {
			out[i] = RedactText(a)
		}
		if out[i] != argv[i] {
			changed = true
		}
	}
	if !changed {
		return argv
	}
	return out
}

// MaskMatches replaces the first capture group of every match of re in s
// with Masked, or the whole match when re has no group (or the group did
// not take part): for configured extra patterns.
func MaskMatches(s string, re *regexp.Regexp) string { return maskMatches(s, re, nil) }

func maskMatches(s string, re *regexp.Regexp, m Mask) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	p := splice{s: s, m: m}
	for _, m := range idx {
		lo, hi := m[0], m[1]
		if len(m) >= 4 && m[2] >= 0 {
			lo, hi = m[2], m[3]
		}
		if lo >= p.last {
			p.mask(lo, hi)
		}
	}
	return p.result()
}

// PatternRule makes a rule of a configured pattern: the first capture group
// of every match of re (or the whole match) is masked. It extends the table
// for one user (procinfo's and the redact processor's extra patterns).
func PatternRule(name string, re *regexp.Regexp) Rule {
	r := Rule{Name: name, text: func(s string, m Mask) string { return maskMatches(s, re, m) }}
	// A literal every match starts with lets Set skip the pattern; a
	// pattern that can match without it ("(?i)..."), has none.
	if lit, _ := re.LiteralPrefix(); lit != "" {
		r.anchor = literalAnchor(lit)
	}
	return r
}

// Lookup returns the table's rule called name.
func Lookup(name string) (Rule, bool) {
	for _, r := range Rules {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}
