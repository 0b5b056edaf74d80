package procinfo

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Masked replaces every redacted value.
const Masked = "***"

// secretWordSet are the words that end a flag or key name holding a secret.
// A name matches when one of them is its last word, i.e. preceded by a
// non-alphanumeric ("--db-password", "API_KEY", "client.secret"), so
// "--keyspace" or "monkey=" are left alone.
var secretWordSet = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "pass": true, "secret": true, "token": true,
	"key": true, "apikey": true, "credential": true, "credentials": true, "auth": true,
}

var (
	// scheme://user:password@host
	reURLCred = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:([^/\s@]+)@`)
	// Authorization: Bearer xyz, or a bare "Bearer xyz"
	reBearer = regexp.MustCompile(`(?i)\b(?:bearer|basic)\s+([A-Za-z0-9._~+/=-]+)`)
)

// shortPasswordFlags are programs whose one-letter flag takes a password.
// A generic "-p x" is not redacted: for ssh, redis-cli or docker it is a port.
// attached: the value is glued to the flag (mysql -pSECRET; "mysql -p db"
// prompts and names the database db). separate: "-p SECRET" also counts.
var shortPasswordFlags = map[string]struct {
	flag     string
	separate bool
}{
	"mysql":        {"-p", false},
	"mysqldump":    {"-p", false},
	"mysqladmin":   {"-p", false},
	"mariadb":      {"-p", false},
	"mariadb-dump": {"-p", false},
	"sshpass":      {"-p", true},
	"redis-cli":    {"-a", true},
	"mongo":        {"-p", true},
	"mongosh":      {"-p", true},
}

// redactor masks secret-looking values in a command line.
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
	var out []string // copied on first change
	set := func(i int, s string) {
		if out == nil {
			out = append([]string(nil), args...)
		}
		out[i] = s
	}
	short, hasShort := struct {
		flag     string
		separate bool
	}{}, false
	if len(args) > 0 {
		short, hasShort = shortPasswordFlags[filepath.Base(args[0])]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if i > 0 && i+1 < len(args) && isSecretFlag(a) {
			set(i+1, Masked)
			i++
			continue
		}
		if hasShort && i > 0 && strings.HasPrefix(a, short.flag) {
			switch {
			case len(a) > len(short.flag):
				set(i, short.flag+Masked)
				continue
			case a == short.flag && short.separate && i+1 < len(args):
				set(i+1, Masked)
				i++
				continue
			}
		}
		// Cheap byte checks keep the regexps off the arguments that cannot
		// match (most of them): a snapshot redacts every new command line.
		m := a
		if strings.ContainsAny(m, "=:") {
			m = maskAssignments(m)
		}
		if strings.Contains(m, "://") && strings.Contains(m, "@") {
			m = maskGroups(m, reURLCred)
		}
		if strings.ContainsAny(m, " \t") {
			m = maskGroups(m, reBearer)
		}
		for _, re := range r.extra {
			m = maskGroups(m, re)
		}
		if m != a {
			set(i, m)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// maskGroups replaces the first capture group of every match of re in s with
// Masked, or the whole match when re has no group.
func maskGroups(s string, re *regexp.Regexp) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		start, end := m[0], m[1]
		if len(m) >= 4 && m[2] >= 0 {
			start, end = m[2], m[3]
		}
		b.WriteString(s[last:start])
		b.WriteString(Masked)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskAssignments masks the value of every name=value or name:value in s
// whose name's last word is a secret word: flags, env-style assignments,
// query strings inside a URL, shell -c scripts. It is a scanner rather than a
// regexp because a case-insensitive alternation costs microseconds per
// argument and a snapshot redacts every new command line.
func maskAssignments(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '=' && s[i] != ':' {
			continue
		}
		end := i // the name ends before optional blanks
		for end > 0 && isBlank(s[end-1]) {
			end--
		}
		start := end
		for start > 0 && isAlnum(s[start-1]) {
			start--
		}
		if end-start < 3 || end-start > len("credentials") || !secretWordSet[strings.ToLower(s[start:end])] {
			continue
		}
		v := i + 1
		for v < len(s) && isBlank(s[v]) {
			v++
		}
		ve := v
		for ve < len(s) && !isBlank(s[ve]) && !strings.ContainsRune("&;,'\"", rune(s[ve])) {
			ve++
		}
		if ve == v {
			continue
		}
		b.WriteString(s[last:v])
		b.WriteString(Masked)
		last, i = ve, ve-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// isSecretFlag reports whether a is a flag whose value is the next argument:
// "--password", "-token", "--api-key" (a letters-digits-.-_ name whose last
// word is a secret word).
func isSecretFlag(a string) bool {
	name, ok := strings.CutPrefix(a, "-")
	if !ok {
		return false
	}
	name = strings.TrimPrefix(name, "-")
	word := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case isAlnum(c):
		case c == '-' || c == '_' || c == '.':
			word = i + 1
		default:
			return false
		}
	}
	w := name[word:]
	return len(w) >= 3 && len(w) <= len("credentials") && secretWordSet[strings.ToLower(w)]
}
