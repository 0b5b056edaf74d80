package secrets

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Leak is one case of testdata/leaks.tsv: a log line, the rule that must
// fire and the secret that must not survive; Rule "-" is a near-miss that
// must stay unchanged.
type leak struct{ rule, line, secret string }

func readLeaks(t *testing.T) []leak {
	t.Helper()
	f, err := os.Open("testdata/leaks.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []leak
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 && !(len(parts) == 2 && parts[0] == "-") {
			t.Fatalf("bad line %q", line)
		}
		l := leak{rule: parts[0], line: parts[1]}
		if len(parts) == 3 {
			l.secret = parts[2]
		}
		out = append(out, l)
	}
	return out
}

// defaultRules are the rules a redact processor takes by default (the
// optional ones anchor on bytes of their own, which the wide scan has no
// class for: a set with them takes the pair scan).
func defaultRules() []Rule {
	var rules []Rule
	for _, r := range Rules {
		if !r.Optional {
			rules = append(rules, r)
		}
	}
	return rules
}

func defaultSet(t testing.TB) *Set {
	s, err := NewSet(defaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func firedNames(s *Set, fired uint64) []string {
	var names []string
	for i, r := range s.Rules() {
		if fired&(1<<i) != 0 {
			names = append(names, r.Name)
		}
	}
	return names
}

func TestLeaks(t *testing.T) {
	set := defaultSet(t)
	for _, l := range readLeaks(t) {
		t.Run(l.rule+"/"+l.line, func(t *testing.T) {
			got, fired := set.Redact(l.line, nil)
			if l.rule == "-" {
				if got != l.line || fired != 0 {
					t.Errorf("near-miss changed by %v: %q", firedNames(set, fired), got)
				}
				return
			}
			if strings.Contains(got, l.secret) {
				t.Errorf("secret survived: %q", got)
			}
			if names := firedNames(set, fired); !contains(names, l.rule) {
				t.Errorf("rules fired %v, want %s among them (%q)", names, l.rule, got)
			}
			if got != RedactText(l.line) {
				t.Errorf("Set.Redact %q != RedactText %q", got, RedactText(l.line))
			}
		})
	}
}

func TestOptionalRules(t *testing.T) {
	tests := []struct{ name, rule, in, want string }{
		{"email", "email", "invite sent to alice@example.org.", "invite sent to ***."},
		{"email with plus", "email", "<bob+tag@mail.example.com>", "<***>"},
		{"email near-miss: user@host", "email", "ssh deploy@bastion failed", "ssh deploy@bastion failed"},
		{"email near-miss: decorator", "email", "@Override public void run()", "@Override public void run()"},
		{"ipv4", "ipv4", "client 192.168.0.17 connected", "client *** connected"},
		{"ipv4 with port", "ipv4", "peer=10.0.0.1:5432", "peer=***:5432"},
		{"ipv4 near-miss: version", "ipv4", "running 1.22.3.4.5 and 300.1.1.1", "running 1.22.3.4.5 and 300.1.1.1"},
		{"ipv4 near-miss: float", "ipv4", "took 1.25 s", "took 1.25 s"},
		{"ipv6", "ipv6", "from fe80::1ff:fe23:4567:890a now", "from *** now"},
		{"ipv6 loopback", "ipv6", "listen [::1]:9725", "listen [***]:9725"},
		{"ipv6 mapped v4", "ipv6", "remote ::ffff:192.0.2.128 ok", "remote *** ok"},
		{"ipv6 near-miss: time", "ipv6", "at 12:30:45.123 done", "at 12:30:45.123 done"},
		{"ipv6 near-miss: MAC", "ipv6", "mac 00:1a:2b:3c:4d:5e up", "mac 00:1a:2b:3c:4d:5e up"},
		{"ipv6 near-miss: C++ scope", "ipv6", "std::vector::at failed", "std::vector::at failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := Lookup(tc.rule)
			if !ok || !r.Optional {
				t.Fatalf("no optional rule %q", tc.rule)
			}
			if got := r.Text(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSetMask(t *testing.T) {
	set := defaultSet(t)
	seen := map[string]int{}
	mask := func(s string) string { seen[s]++; return "<" + strings.ToUpper(s[:1]) + ">" }
	got, _ := set.Redact("password=hunter2 and postgres://u:pw@h/db and Bearer abcdefgh1234 and mysql -pzz9 db", mask)
	want := "password=<H> and postgres://u:<P>@h/db and Bearer <A> and mysql -p<Z> db"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, s := range []string{"hunter2", "pw", "abcdefgh1234", "zz9"} {
		if seen[s] != 1 {
			t.Errorf("mask saw %q %d times, want once (saw %v)", s, seen[s], seen)
		}
	}
}

func TestNewSetLimit(t *testing.T) {
	rules := make([]Rule, MaxSetRules+1)
	for i := range rules {
		rules[i] = Rules[0]
	}
	if _, err := NewSet(rules); err == nil {
		t.Error("65 rules accepted")
	}
	if _, err := NewSet(rules[:MaxSetRules]); err != nil {
		t.Error(err)
	}
}

// FuzzSetPrefilter: the prefilters (the set's hints, a rule's cheap test)
// never skip a rule that would change the text: Set.Redact equals every
// rule applied in turn without them.
func FuzzSetPrefilter(f *testing.F) {
	for _, r := range Rules {
		f.Add(r.Example)
	}
	f.Add("PassWord=x TOKEN: y")
	f.Add("run '--pass'word x; a|--token y \"-Secret\" z")
	f.Add("4111-1111-1111-1111 x 3782 822463 10005")
	f.Add(`mysql -\phunter2 db; curl -"u" bob:pw x`)
	f.Add("x AKIAIOSFODNN7EXAMPLE eyJa.eyJb.c -----begin rsa private key-----")
	f.Add("k=-----BEGIN EC PRIVATE KEY----- x ap-south-1 -1 a -'-'token y")
	for _, short := range []string{"::1", "::", "a@b", "a@b.c", "pwd=x", "key:y", "-pwd x", "bcp -Px", "a://:c@", "1.2.3.4"} {
		f.Add(short) // at the rules' shortest lengths (Set.minLen)
	}
	all, err := NewSet(Rules)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s
		for _, r := range Rules {
			want = r.apply(want, nil) // without the rule's own cheap test
		}
		if got, _ := all.Redact(s, nil); got != want {
			t.Fatalf("prefiltered %q\n      all rules %q\n          input %q", got, want, s)
		}
	})
}

// TestSetAnchorParity: the scan flags a built-in anchor by the pair on
// either side of it, each kind with its own bit and check: a '-' at a
// word's start before a letter, a quote or a '-', a bearer's 'b' after no
// letter or digit, the "://" of a URL, an AWS key's AK or KI, a JWT's
// 'J'. At both parities, after every kind of byte, each such secret is
// found as the rules find it.
func TestSetAnchorParity(t *testing.T) {
	all, err := NewSet(Rules)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
		"--password hunter2", "-token hunter2", "--2fa-token hunter2", `-\-password hunter2`, `-"p"assword hunter2`, "-phunter2", "-'p'hunter2",
		"Bearer abcdefgh12345678", "bearer abcdefgh12345678", "BEARER abcdefgh12345678",
		"postgres://app:hunter2@db:5432/x", "s3://u:p@h", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"}
	changed := 0
	for _, sec := range secrets {
		for _, before := range []string{"", " ", "\t", "\n", ";", "&", "|", "'", "\"", "\\", "=", ":", "x", "7", "("} {
			for _, pad := range []string{"mysql ", "mysql  ", "x mysql ", "x mysql  "} {
				s := pad + before + sec
				want := s
				for _, r := range Rules {
					want = r.apply(want, nil)
				}
				if got, _ := all.Redact(s, nil); got != want {
					t.Errorf("Redact(%q) = %q, want %q", s, got, want)
				}
				if want != s {
					changed++
				}
			}
		}
	}
	if changed < 650 {
		t.Errorf("only %d texts hold a secret the rules find", changed)
	}
}

// TestSetSeesThroughQuoting: a secret flag or client password flag split
// by the shell's quotes or escapes is still redacted through a Set (the
// literal hints it had before missed "-\p").
func TestSetSeesThroughQuoting(t *testing.T) {
	all, err := NewSet(Rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`mysql -\phunter2 db`, `mysql -"p"hunter2 db`, `mysql '-p'hunter2`, `sh -c "mysql -p'hunter2'"`,
		`curl -\u bob:pw http://x`, `app -\-password hunter2`, `app '--pass'word hunter2`,
	} {
		want := s
		for _, r := range Rules {
			want = r.apply(want, nil)
		}
		if want == s {
			t.Errorf("no rule changes %q", s)
		}
		if got, _ := all.Redact(s, nil); got != want {
			t.Errorf("Redact(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestPatternAnchor: a pattern with a literal prefix is anchored on the
// literal's rarest byte and still found at the start, middle and end.
func TestPatternAnchor(t *testing.T) {
	r := PatternRule("ticket", regexp.MustCompile(`tkt-([0-9]{4,})`))
	set, err := NewSet([]Rule{r})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"tkt-12345", "tkt-***"},
		{"see tkt-12345 now", "see tkt-*** now"},
		{"TKT-12345", "TKT-12345"},
		{"tkt-12", "tkt-12"},
		{"kt-12345 t-12345 -12345", "kt-12345 t-12345 -12345"},
	} {
		if got, _ := set.Redact(tc.in, nil); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPairTablesBounded: sets with ever new patterns (a config reloaded
// again and again) share at most maxPairTables tables; the rest get their own.
func TestPairTablesBounded(t *testing.T) {
	for i := range 3 * maxPairTables {
		lit := string(rune('!'+i)) + "x"
		set, err := NewSet([]Rule{PatternRule("p", regexp.MustCompile(regexp.QuoteMeta(lit)+`\d+`))})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := set.Redact("a "+lit+"123 b", nil); got != "a *** b" {
			t.Fatalf("pattern %d: %q", i, got)
		}
	}
	n := 0
	pairTables.Range(func(any, any) bool { n++; return true })
	if n > maxPairTables {
		t.Errorf("%d pair tables kept, at most %d", n, maxPairTables)
	}
}

func BenchmarkSetRedact(b *testing.B) {
	set := defaultSet(b)
	for _, bc := range []struct{ name, line string }{
		{"clean", `2026-12-03T14:30:00.123Z INFO [http-nio-8080-exec-7] c.e.shop.OrderController - order 88412 placed by customer 1932 in 12 ms, 3 items, total 41.90 EUR`},
		{"secret", `2026-12-03T14:30:00.123Z INFO [http-nio-8080-exec-7] c.e.shop.AuthFilter - login user=bob password=hunter2 from 10.0.0.7`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.line)))
			b.ReportAllocs()
			for b.Loop() {
				set.Redact(bc.line, nil)
			}
		})
	}
}

// TestHintIndex: find agrees with a plain search for every literal length
// and offset, in any case.
func TestHintIndex(t *testing.T) {
	lits := []string{"@", "-p", "key", "pass", "-----begin", "://"}
	var x hintIndex
	for i, l := range lits {
		x.add(l, 1<<i)
	}
	fills := []string{"", "a", "ab", "abc", "x y z 12:3", "Monkey"}
	for _, pre := range fills {
		for _, post := range fills {
			for i, l := range lits {
				for _, spelled := range []string{l, strings.ToUpper(l), strings.ToUpper(l[:1]) + l[1:]} {
					text := pre + spelled + post
					want := uint64(0)
					for j, m := range lits {
						if strings.Contains(strings.ToLower(text), m) {
							want |= 1 << j
						}
					}
					if got := x.find(text, 0); got != want {
						t.Errorf("find(%q) = %b, want %b (literal %d)", text, got, want, i)
					}
				}
			}
		}
	}
}

func TestDigitRun(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"paid 4111 1111 1111 1111 ok", true},
		{"4111-1111-1111-1111", true},
		{"1234567890123", true},
		{"x123456789012x", false},
		{"1 2 3 4 5 6 7 8 9 0 1 2 3", true},
		{"123456  7890123", false},
		{"-- 1234567890123", true},
		{"at 2026-11-23T20:31:02.000058Z took 12 ms", false},
		{"ids 123456 789012 3", true},
		{"", false},
		{"the order 1234567890123", true},
		{"a b c d e f g h i j k l m n o p 4111 1111 1111 1111", true},
		{"a - b - c - d - e - f - g - h - i - j - 1234567890123 k", true},
		{"12 34 56 78 90 12 3 ", true},
		{"12 34 56 78 90 12  3", false},
	}
	for _, tc := range tests {
		if got := digitRun(tc.in, minCardDigits); got != tc.want {
			t.Errorf("digitRun(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestDigitRunGate: the scan's gate (runByte pairs in a row) lets every
// digit run digitRun finds through, at every offset in chunks and tails.
func TestDigitRunGate(t *testing.T) {
	all, err := NewSet(Rules)
	if err != nil {
		t.Fatal(err)
	}
	if runPairs := (all.digits - 1) / 2; runPairs <= 4 {
		t.Fatalf("a run of %d digits holds %d run pairs at even offsets: it need not cross a chunk's end", all.digits, runPairs)
	}
	var cards uint64
	for i, r := range all.Rules() {
		if r.digits > 0 {
			cards |= 1 << i
		}
	}
	runs := []string{"1234567890123", "4111 1111 1111 1111", "4111-1111-1111-1111", "1 2 3 4 5 6 7 8 9 0 1 2 3",
		"12-34-56-78-90-12-3", "1234567890123456789"}
	for _, run := range runs {
		for pre := range 17 {
			for post := range 17 {
				s := strings.Repeat("x", pre) + run + strings.Repeat("y", post)
				if !digitRun(s, all.digits) {
					t.Fatalf("digitRun(%q) = false", s)
				}
				if all.candidates(s)&cards == 0 {
					t.Errorf("candidates(%q) has not the card rule", s)
				}
			}
		}
	}
}

// FuzzDigitRun: the skipping scan agrees with counting every run.
func FuzzDigitRun(f *testing.F) {
	f.Add("4111 1111 1111 1111", 13)
	f.Add("a 1-2-3-4-5-6-7-8-9-0-1-2-3 b", 13)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > 32 {
			return
		}
		want, run := false, 0
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case isDigit(c):
				run++
			case (c == ' ' || c == '-') && i > 0 && i+1 < len(s) && isDigit(s[i-1]) && isDigit(s[i+1]):
			default:
				run = 0
			}
			if run >= n {
				want = true
			}
		}
		if got := digitRun(s, n); got != want {
			t.Fatalf("digitRun(%q, %d) = %v, want %v", s, n, got, want)
		}
	})
}

// TestMayHaveSecretFlag: the flag-value rule's cheap test lets through
// every text the rule changes.
func TestMayHaveSecretFlag(t *testing.T) {
	for _, s := range []string{
		"app --password hunter2", `run "app --token t0k"`, `x '--secret' y`, `x \--api-key k`, "a;--password p", "--password p",
		`x --pass"word" y`,
	} {
		r, _ := Lookup("flag-value")
		if r.apply(s, nil) == s {
			t.Errorf("flag-value does not change %q", s)
		}
		if !mayHaveSecretFlag(s) {
			t.Errorf("mayHaveSecretFlag(%q) = false", s)
		}
	}
	for _, s := range []string{"2026-12-03 x-api-key", "no flags here", "a - b --verbose"} {
		if mayHaveSecretFlag(s) {
			t.Errorf("mayHaveSecretFlag(%q) = true", s)
		}
	}
}

// hintTrigramIn is hasNameHint spelled out: a hint's trigram, in any
// case, somewhere in s.
func hintTrigramIn(s string) bool {
	for _, h := range hintTrigrams {
		if strings.Contains(strings.ToLower(s), h) {
			return true
		}
	}
	return false
}

func TestNameHint(t *testing.T) {
	if len(hintTrigrams) != len(nameHints) {
		t.Fatalf("%d hint trigrams for %d name hints", len(hintTrigrams), len(nameHints))
	}
	for i, h := range nameHints {
		if tri := hintTrigrams[i]; len(tri) != 3 || strings.Trim(tri, "abcdefghijklmnopqrstuvwxyz") != "" || !strings.Contains(h, tri) {
			t.Fatalf("hint trigram %q: three lower-case letters of name hint %q", tri, h)
		}
	}
	fills := []string{"", "a", "x_", "9", "db.", "Monkey", "-"}
	for _, pre := range fills {
		for _, post := range fills {
			for _, h := range nameHints {
				for _, spelled := range []string{h, strings.ToUpper(h), strings.ToUpper(h[:1]) + h[1:]} {
					if name := pre + spelled + post; !hasNameHint(name) {
						t.Errorf("hasNameHint(%q) = false", name)
					}
				}
			}
		}
	}
	for _, name := range []string{"", "status", "path", "component", "session", "user_agent", "pa_ss", "to-ken", "ke1y", "PWd\x00", "ａｕｔｈ"} {
		if got, want := hasNameHint(name), hintTrigramIn(name); got != want {
			t.Errorf("hasNameHint(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzNameHint: hasNameHint finds exactly the hints' trigrams, and so
// never skips a name classify would call secret.
func FuzzNameHint(f *testing.F) {
	for _, s := range []string{"password", "X-Api-Key", "keyStorePassword", "status", "AUTHorization", "pa\xffss"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := hasNameHint(s), hintTrigramIn(s); got != want {
			t.Fatalf("hasNameHint(%q) = %v, want %v", s, got, want)
		}
		for _, suffixes := range []bool{false, true} {
			if classify(s, suffixes) != notSecret && !hasNameHint(s) {
				t.Fatalf("classify(%q, %v) finds a secret name hasNameHint skips", s, suffixes)
			}
		}
	})
}
