package secrets

import "strings"

// A client is a well-known program whose own short flags carry a password.
// A short flag means different things to different programs (-p is a port
// for ssh, redis-cli and docker run), so these apply only to the arguments
// of the named programs.
type client struct {
	names []string
	// sub, when set, is the subcommand the flags belong to ("docker login").
	sub   string
	flags []clientFlag
	// wraps: the client runs the command after its own flags (sshpass -p x
	// ssh -p 2222 host), whose flags are not the client's.
	wraps bool
}

type clientFlag struct {
	flag     string
	attached bool // -pSECRET (and --flag=SECRET for a long flag)
	separate bool // -p SECRET
	// userSep, when set, says the value is user<sep>password and only the
	// password is masked (curl -u bob:***); a value without it is a user name.
	userSep byte
}

var (
	pBoth   = []clientFlag{{flag: "-p", attached: true, separate: true}}
	clients = []client{
		// mysql -p db prompts and names the database db, but "mysql -p
		// hunter4" is how a password ends up in a process list, so the next
		// argument is masked too unless it is a flag.
		{names: []string{"mysql", "mariadb", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck",
			"mysqlpump", "mysqlslap", "mysqlbinlog", "mysqlsh", "mariadb-dump", "mariadb-admin", "mariadb-import",
			"mariadb-show", "mariadb-check", "mariadb-slap", "mariadb-binlog"}, flags: pBoth},
		{names: []string{"sshpass"}, flags: pBoth, wraps: true},
		{names: []string{"redis-cli", "valkey-cli", "keydb-cli"}, flags: []clientFlag{{flag: "-a", separate: true}}},
		{names: []string{"mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat",
			"mongotop", "mongofiles"}, flags: pBoth},
		{names: []string{"cqlsh", "rabbitmqadmin"}, flags: pBoth},
		{names: []string{"ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami", "ldappasswd", "ldapcompare",
			"ldapmodrdn", "ldapexop"}, flags: []clientFlag{{flag: "-w", attached: true, separate: true}}},
		{names: []string{"sqlcmd", "bcp", "osql"}, flags: []clientFlag{{flag: "-P", attached: true, separate: true}}},
		{names: []string{"curl"}, flags: []clientFlag{
			{flag: "-u", attached: true, separate: true, userSep: ':'},
			{flag: "-U", attached: true, separate: true, userSep: ':'},
			{flag: "--user", attached: true, separate: true, userSep: ':'},
			{flag: "--proxy-user", attached: true, separate: true, userSep: ':'},
		}},
		{names: []string{"smbclient", "rpcclient", "smbmap"}, flags: []clientFlag{
			{flag: "-U", attached: true, separate: true, userSep: '%'},
			{flag: "--user", attached: true, separate: true, userSep: '%'},
		}},
		{names: []string{"docker", "podman", "nerdctl", "buildah", "skopeo", "helm", "oras"}, sub: "login", flags: pBoth},
	}
	// wrappers run the command that follows them: "sudo -u bob mysql …",
	// "env X=1 mysql …"; the value says how many positional words they take
	// before it (gosu USER cmd).
	wrappers = map[string]int{"sudo": 0, "doas": 0, "env": 0, "exec": 0, "nice": 0, "nohup": 0, "time": 0,
		"timeout": 0, "stdbuf": 0, "ionice": 0, "chrt": 0, "taskset": 0, "xargs": 0, "command": 0, "watch": 0,
		"strace": 0, "ltrace": 0, "setsid": 0, "unbuffer": 0, "tini": 0, "dumb-init": 0, "catatonit": 0,
		"runuser": 0, "gosu": 1, "su-exec": 1, "chpst": 0, "chroot": 1}
	// wrapperValueFlags take the next word as their value (sudo -u bob).
	wrapperValueFlags = []string{"-u", "-g", "-s", "-n", "-c", "-C", "-p", "-U", "-k", "-o", "-e", "-i"}
	// containerTools run a command in a container with "exec", and log in
	// to a registry with "login".
	containerTools = []string{"docker", "podman", "nerdctl", "kubectl", "oc", "crictl", "buildah", "skopeo", "helm", "oras"}
)

func basename(w string) string {
	if i := strings.LastIndexByte(w, '/'); i >= 0 {
		return w[i+1:]
	}
	return w
}

func findClient(name, sub string) *client {
	for i := range clients {
		if clients[i].sub == sub && contains(clients[i].names, name) {
			return &clients[i]
		}
	}
	return nil
}

func isSeparator(w string) bool {
	switch w {
	case ";", "&&", "||", "|", "&", "\n", "|&":
		return true
	}
	return false
}

// isValue reports whether w can be the value of the flag before it: not
// a separator, a redirection, another flag, or a secret flag of its own.
func isValue(w string) bool {
	return w != "" && !isSeparator(w) && w[0] != '-' && w[0] != '<' && w[0] != '>'
}

// isAssignmentWord: NAME=value before a command (env, a shell script).
func isAssignmentWord(w string) bool {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		if !isAlnum(w[j]) && w[j] != '_' {
			return false
		}
	}
	return true
}

func isNumberish(w string) bool {
	if w == "" || !isDigit(w[0]) {
		return false
	}
	for i := 1; i < len(w); i++ {
		if !isDigit(w[i]) && !strings.ContainsRune(".smhdx", rune(w[i])) {
			return false
		}
	}
	return true
}

// argsView is an argument vector, or the words of a shell-like string, with
// the classification text of each word (quotes removed for words).
type argsView struct {
	out  []string // words, masked in place
	bare func(i int) string
	m    Mask
}

// maskFlagValues masks the value after a secret flag: "--password x",
// "-token x", "--api-key x".
func maskFlagValues(v argsView) {
	for i := 0; i+1 < len(v.out); i++ {
		if !isSecretFlag(v.bare(i)) {
			continue
		}
		next := v.bare(i + 1)
		if isValue(next) && !isSecretFlag(next) {
			v.out[i+1] = v.m.of(next)
			i++
		}
	}
}

// mayHaveSecretFlag is flag-value's cheap test on a text: a secret flag
// is a word starting with '-' that isSecretFlag accepts (see flagAt).
func mayHaveSecretFlag(s string) bool {
	for i := 0; ; {
		k := strings.IndexByte(s[i:], '-')
		if k < 0 {
			return false
		}
		if flagAt(s, i+k) {
			return true
		}
		i += k + 1
	}
}

// isWordBreak: the bytes that end a word for words.
func isWordBreak(c byte) bool {
	return isBlank(c) || c == '\r' || c == '\n' || c == ';' || c == '&' || c == '|'
}

// maskClientFlags finds, in each command of v (commands are separated by
// ;, &&, ||, |), the program, looking through wrappers (sudo, env, timeout,
// docker/kubectl exec …), and masks the password flags of a known client.
func maskClientFlags(v argsView) {
	for start := 0; start < len(v.out); {
		end := start
		for end < len(v.out) && !isSeparator(v.bare(end)) {
			end++
		}
		from := start
		for from < end {
			k, c := commandClient(v, from, end)
			if c == nil {
				break
			}
			from = applyClientFlags(v, c, k+1, end)
		}
		start = end + 1
	}
}

// commandClient returns the index of the known client the command
// v.out[start:end] runs, and the client, or nil.
func commandClient(v argsView, start, end int) (int, *client) {
	k := start
	for k < end {
		w := v.bare(k)
		base := basename(w)
		switch {
		case isAssignmentWord(w) || w == "--":
			k++
		case isWrapper(base):
			skip := wrappers[base]
			k++
		wrapped:
			for k < end {
				f := v.bare(k)
				switch {
				case contains(wrapperValueFlags, f):
					k += 2
				case strings.HasPrefix(f, "-") || isAssignmentWord(f) || isNumberish(f):
					k++
				case skip > 0:
					skip--
					k++
				default:
					break wrapped
				}
			}
		case contains(containerTools, base):
			for j := k + 1; j < end; j++ {
				switch v.bare(j) {
				case "login":
					if c := findClient(base, "login"); c != nil {
						return j, c
					}
					return 0, nil
				case "exec":
					// After "exec": the tool's flags, the container, then the command.
					for m := j + 1; m < end; m++ {
						b := v.bare(m)
						if b == "--" {
							return commandClient(v, m+1, end)
						}
						if c := findClient(basename(b), ""); c != nil {
							return m, c
						}
					}
					return 0, nil
				}
			}
			return 0, nil
		default:
			if c := findClient(base, ""); c != nil {
				return k, c
			}
			// Not a client: it may still run one further on ("exec
			// failed: mysql -p…" in a log line, "ssh host mysql -p…").
			k++
		}
	}
	return 0, nil
}

func isWrapper(base string) bool {
	_, ok := wrappers[base]
	return ok
}

// applyClientFlags masks c's password flags in v.out[from:end]. It returns
// where the command c wraps starts, or end.
func applyClientFlags(v argsView, c *client, from, end int) int {
	for i := from; i < end; i++ {
		w := v.bare(i)
		if c.wraps && !strings.HasPrefix(w, "-") {
			return i
		}
	flags:
		for _, f := range c.flags {
			switch {
			case w == f.flag && f.separate && i+1 < end:
				if next := v.bare(i + 1); isValue(next) {
					v.out[i+1] = maskUserPass(v.out[i+1], next, f.userSep, v.m)
					i++
				}
			case f.attached && len(w) > len(f.flag) && strings.HasPrefix(w, f.flag):
				val := w[len(f.flag):]
				if strings.HasPrefix(f.flag, "--") {
					if val[0] != '=' {
						continue
					}
					val = val[1:]
				}
				if val == "" {
					continue
				}
				prefix := w[:len(w)-len(val)]
				v.out[i] = prefix + maskUserPass(val, val, f.userSep, v.m)
			default:
				continue
			}
			break flags
		}
	}
	return end
}

// maskUserPass masks raw (whose unquoted text is bare): whole, or after the
// first sep when sep is set (a value without sep is a user name: kept).
func maskUserPass(raw, bare string, sep byte, m Mask) string {
	if sep == 0 {
		return m.of(bare)
	}
	i := strings.IndexByte(bare, sep)
	if i < 0 {
		return raw
	}
	if bare[i+1:] == "" {
		return raw
	}
	return bare[:i+1] + m.of(bare[i+1:])
}

// words splits a shell-like string into words with their byte spans:
// quotes group, ; & | and newlines are words of their own.
func words(s string) (ws []string, spans [][2]int) {
	// Sized once: a log line can hold a million words.
	n := strings.Count(s, " ") + 1
	ws, spans = make([]string, 0, n), make([][2]int, 0, n)
	i := 0
	for i < len(s) {
		c := s[i]
		if isBlank(c) || c == '\r' {
			i++
			continue
		}
		start := i
		if c == '\n' || c == ';' || c == '&' || c == '|' {
			i++
			if i < len(s) && (c == '&' || c == '|') && (s[i] == c || c == '|' && s[i] == '&') {
				i++
			}
		} else {
			for i < len(s) {
				c = s[i]
				if isBlank(c) || c == '\r' || c == '\n' || c == ';' || c == '&' || c == '|' {
					break
				}
				switch c {
				case '\\':
					i += 2
					continue
				case '"', '\'':
					i = closingQuote(s, i+1, c) + 1
					continue
				}
				i++
			}
			if i > len(s) {
				i = len(s)
			}
		}
		ws = append(ws, s[start:i])
		spans = append(spans, [2]int{start, i})
	}
	return ws, spans
}

// unquote removes shell quoting from a word, roughly: quote characters and
// backslashes go.
func unquote(w string) string {
	if !strings.ContainsAny(w, `"'\`) {
		return w
	}
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '"', '\'':
		case '\\':
			if i+1 < len(w) {
				i++
				b.WriteByte(w[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// maxQuoteDepth bounds how deep inWords looks into quoted scripts
// (sh -c 'su -c "mysql -p…"').
const maxQuoteDepth = 3

// inWords applies an argument rule to the words of s (a shell script in
// sh -c, a command line in a log message), and to the words inside a quoted
// word that holds blanks (a script quoted in a log line).
func inWords(s string, rule func(argsView), m Mask) string { return inWordsDepth(s, rule, m, 0) }

func inWordsDepth(s string, rule func(argsView), m Mask, depth int) string {
	if !strings.ContainsAny(s, " \t\n") {
		return s
	}
	ws, spans := words(s)
	bare := make([]string, len(ws))
	for i, w := range ws {
		bare[i] = unquote(w)
	}
	out := append([]string(nil), ws...)
	rule(argsView{out: out, m: m, bare: func(i int) string {
		if out[i] != ws[i] {
			return out[i]
		}
		return bare[i]
	}})
	p := splice{s: s}
	for i, w := range ws {
		if out[i] == w && depth < maxQuoteDepth && len(w) > 2 && (w[0] == '"' || w[0] == '\'') &&
			w[len(w)-1] == w[0] && strings.ContainsAny(w, " \t\n") {
			if in := inWordsDepth(w[1:len(w)-1], rule, m, depth+1); in != w[1:len(w)-1] {
				out[i] = w[:1] + in + w[:1]
			}
		}
		if out[i] != w {
			p.maskText(spans[i][0], spans[i][1], out[i])
		}
	}
	return p.result()
}

// maskText replaces [lo, hi) by text (a word with a masked part).
func (p *splice) maskText(lo, hi int, text string) {
	if !p.used {
		p.b.Grow(len(p.s))
		p.used = true
	}
	p.b.WriteString(p.s[p.last:lo])
	p.b.WriteString(text)
	p.last = hi
}

func argvView(out []string) argsView {
	return argsView{out: out, bare: func(i int) string { return out[i] }}
}
