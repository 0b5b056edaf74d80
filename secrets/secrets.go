// Package secrets is the one table of secret-detection rules: procinfo masks
// command lines with it, and the log redact processor is to mask text with
// the same rules. It imports the standard library only.
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

// A Rule is one entry of the rule table. Text rules mask inside one string
// (an argument, a shell script, a log line); argument rules need the
// argument vector (the flag before a value, the program a short flag
// belongs to) and, given a string, apply to its shell-like words.
type Rule struct {
	// Name identifies the rule (in docs and tests).
	Name string
	// Example shows an input and what it becomes.
	Example, Redacted string

	text func(s string) string
	args func(v argsView)
}

// Text masks what the rule finds in s: a string that is not an argument
// vector, such as a log message. Argument rules apply to s's shell-like
// words, so "sh -c 'mysql -phunter5'" is covered.
func (r Rule) Text(s string) string {
	if r.args != nil {
		return inWords(s, r.args)
	}
	return r.text(s)
}

// Rules is the rule table, applied in this order.
var Rules = []Rule{
	{
		Name:    "flag-value",
		Example: "app --password hunter2 --api-key k1", Redacted: "app --password *** --api-key ***",
		args: maskFlagValues,
	},
	{
		Name:    "client-flag",
		Example: "mysql -uroot -phunter5 db", Redacted: "mysql -uroot -p*** db",
		args: maskClientFlags,
	},
	{
		Name:     "assignment",
		Example:  `PGPASSWORD=pg777 -Dpassword=jp555 {"password":"js666"} Authorization: Bearer x`,
		Redacted: `PGPASSWORD=*** -Dpassword=*** {"password":"***"} Authorization: Bearer ***`,
		text:     maskAssignments,
	},
	{
		Name:    "url-credentials",
		Example: "postgres://bob:s3cret@db:5432/app", Redacted: "postgres://bob:***@db:5432/app",
		text: maskURLCredentials,
	},
	{
		Name:    "bearer-token",
		Example: "sent Bearer eyJhbGciOiJIUzI1NiJ9", Redacted: "sent Bearer ***",
		text: maskBearer,
	},
}

// RedactText masks every secret the rules find in s.
func RedactText(s string) string {
	for _, r := range Rules {
		s = r.Text(s)
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
		if r.args != nil {
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
func MaskMatches(s string, re *regexp.Regexp) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	p := splice{s: s}
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
