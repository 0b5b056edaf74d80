package procinfo

import (
	"regexp"

	"github.com/obsadapter/obsadapter/secrets"
)

// Masked replaces every redacted value.
const Masked = secrets.Masked

// redactor masks secret-looking values in a command line: the rule table of
// package secrets, then the configured extra patterns (redact.patterns).
type redactor struct {
	extra []*regexp.Regexp
}

func newRedactor(patterns []string) (*redactor, error) {
	r := &redactor{}
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, err
		}
		r.extra = append(r.extra, re)
	}
	return r, nil
}

// redact returns args with secrets masked; args itself is not modified.
func (r *redactor) redact(args []string) []string {
	out := secrets.RedactArgs(args)
	if len(r.extra) == 0 {
		return out
	}
	copied := false
	for i, a := range out {
		m := a
		for _, re := range r.extra {
			m = secrets.MaskMatches(m, re)
		}
		if m != a {
			if !copied && &out[0] == &args[0] {
				out = append([]string(nil), out...)
			}
			copied = true
			out[i] = m
		}
	}
	return out
}
