package collector

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/processors"
	"github.com/obsadapter/obsadapter/record"
	"github.com/obsadapter/obsadapter/secrets"
)

// TestLineCheckRedactsAlike: the redact processor's shortcut for records
// whose line secrets.LineClean passed changes nothing it returns. Every
// line of the parsers' test files (real software's default output), fed
// in order so multiline records form, and each again with every case of
// the secrets' leak table put at its start, middle and end, is parsed
// twice, with and without the line check, and redacted: the records must
// come out the same. A LineOnly record must hold nothing but its line's
// parts and strings written in the parsers' code, and no value that
// starts with a '-', which is what the shortcut takes on trust; each line
// is also fed with a '-' put at the start of its tokens and values, so
// that every parser cuts such values.
func TestLineCheckRedactsAlike(t *testing.T) {
	files, _ := filepath.Glob("../parsers/testdata/*/*.log")
	if len(files) < 40 {
		t.Fatalf("found %d parser test files", len(files))
	}
	lits := parserLiterals(t)
	leaks := leakLines(t)
	chain, err := processors.Build([]processors.Spec{{Redact: &processors.RedactConfig{}}}, processors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if !chain.ChecksLines() {
		t.Fatal("the default redact does not use the line check")
	}
	checked, lineOnly := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		variants := [][]string{lines, hostileLines}
		for _, r := range dashers {
			variants = append(variants, dashed(lines, r))
		}
		for i, l := range leaks {
			host := lines[i%len(lines)]
			for _, at := range []int{0, len(host) / 2, len(host)} {
				variants = append(variants, []string{host[:at] + l + host[at:]})
			}
		}
		for _, v := range variants {
			with, without := parseAll(t, f, v, true), parseAll(t, f, v, false)
			if len(with) != len(without) {
				t.Fatalf("%s: %d records with the line check, %d without", f, len(with), len(without))
			}
			// Redact checks each line; what it left, it passed.
			a, _ := chain.Process(with, nil)
			b, _ := chain.Process(without, nil)
			for i := range a {
				line, _, only := a[i].CleanLine()
				if line != "" {
					checked++
				}
				if only {
					lineOnly++
					checkLineOnly(t, f, &a[i], lits)
				}
				if x, y := string(a[i].AppendJSON(nil)), string(b[i].AppendJSON(nil)); x != y {
					t.Errorf("%s: redacted with the line check\n %s\nwithout\n %s", f, x, y)
				}
			}
		}
	}
	t.Logf("%d records had a clean line, %d were LineOnly", checked, lineOnly)
	if haveLineCheck() && lineOnly == 0 {
		t.Error("no record was LineOnly: the shortcut is not tested")
	}
}

// dashers put a '-' at the start of a line's tokens, logfmt values and
// JSON string values.
var dashers = []*strings.Replacer{
	strings.NewReplacer(" ", " -"),
	strings.NewReplacer("=", "=-", `="`, `="-`),
	strings.NewReplacer(`":"`, `":"-`, `": "`, `": "-`, `["`, `["-`, `,"`, `,"-`),
}

func dashed(lines []string, r *strings.Replacer) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.Replace(l)
	}
	return out
}

func haveLineCheck() bool {
	p, _ := secrets.LineClean(strings.Repeat("plain words ", 4))
	return p
}

// parseAll feeds lines to a fresh stream of the default config, with the
// line check or not, and returns its records, the held ones included.
func parseAll(t *testing.T, path string, lines []string, check bool) []record.Record {
	st, err := parsers.NewStream(parsers.DefaultConfig(), parsers.Meta{Source: "test", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	st.CheckLines(check)
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var out []record.Record
	for i, l := range lines {
		out = st.FeedAppend(out, []byte(l), record.Position{Offset: int64(i + 1)}, false, now)
	}
	return append(out, st.FlushAll(now)...)
}

// checkLineOnly: every text and key of r is a part of its line or one of
// the parsers' string literals, and no such key is a secret name.
func checkLineOnly(t *testing.T, file string, r *record.Record, lits literals) {
	t.Helper()
	line, _, _ := r.CleanLine()
	ok := func(s string) bool { return s == "" || secrets.InLine(line, s) || lits.all[s] }
	if !ok(r.Message) {
		t.Errorf("%s: LineOnly record's message %q is neither in its line nor a parser's literal", file, r.Message)
	}
	var walk func(fields []record.Field)
	var value func(v record.Value)
	value = func(v record.Value) {
		switch v.Kind() {
		case record.KindString:
			if !ok(v.Str()) {
				t.Errorf("%s: LineOnly record's value %q is neither in its line %q nor a parser's literal", file, v.Str(), line)
			}
			if strings.HasPrefix(v.Str(), "-") {
				t.Errorf("%s: LineOnly record's value %q starts with a '-' (line %q)", file, v.Str(), line)
			}
		case record.KindObject:
			walk(v.Object())
		case record.KindArray:
			for _, it := range v.Array() {
				value(it)
			}
		}
	}
	walk = func(fields []record.Field) {
		for _, f := range fields {
			if f.Key != "" && !secrets.InLine(line, f.Key) && (!lits.all[f.Key] || secrets.IsSecretName(f.Key)) {
				t.Errorf("%s: LineOnly record's key %q is neither in its line nor a parser's literal that names no secret", file, f.Key)
			}
			value(f.Value)
		}
	}
	walk(r.Fields)
}

// literals are the string literals of the parsers' code (all), and those
// that look like a field's name (keys): a word of lower-case letters,
// digits, '_' and '.'.
type literals struct{ all, keys map[string]bool }

func parserLiterals(t testing.TB) literals {
	t.Helper()
	files, _ := filepath.Glob("../parsers/*.go")
	out := literals{all: map[string]bool{}, keys: map[string]bool{}}
	fset := token.NewFileSet()
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		return s, true
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok {
				if s, ok := str(lit); ok {
					out.all[s] = true
					if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_.") == "" {
						out.keys[s] = true
					}
				}
			}
			return true
		})
	}
	if len(out.all) < 100 || len(out.keys) < 30 {
		t.Fatalf("found %d string literals in the parsers, %d field names", len(out.all), len(out.keys))
	}
	return out
}

// TestParserLiteralsHoldNoSecret: a LineOnly record's constants pass the
// redact unlooked at, so no literal of the parsers that may name a field
// may be a secret name (a field named so has its value masked), and no
// literal may hold what a rule masks.
func TestParserLiteralsHoldNoSecret(t *testing.T) {
	lits := parserLiterals(t)
	for s := range lits.keys {
		if secrets.IsSecretName(s) && !literalValues[s] {
			t.Errorf("the parsers' literal %q, which may name a field, is a secret name", s)
		}
	}
	for s := range lits.all {
		if got := secrets.RedactText(s); got != s {
			t.Errorf("the parsers' literal %q is redacted to %q", s, got)
		}
	}
}

// hostileLines hide secrets where only a parser's unescaping, joining or
// cutting shows them: a line's bytes hold none, its records' texts do.
var hostileLines = []string{
	`{"ts":"2026-12-05T07:31:29Z","level":"info","msg":"login","note":"pass\u0077ord=hunter2 ok"}`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"run --pa\"ss\"word hunter2 now"}`,
	`ts=2026-12-05T07:31:29Z level=info msg="token\x3dabc123def456 set" a=-x`,
	`ts=2026-12-05T07:31:29Z level=info msg="pass\"word=hunter2x and more" b=1`,
	// A message made by unescaping lies after the line: the line answers
	// for the other texts only, with a secret among them or in the message.
	`{"ts":"2026-12-05T07:31:29Z","level":"info","msg":"a \"quoted\" word","token":"abc123def456","user":"bob"}`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"pass\u0077ord=hunter2 \"q\"","user":"bob","path":"/x"}`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"a \"quoted\" word","auth":{"password":"hunter2x"},"tags":["-x","y"]}`,
	`ts=2026-12-05T07:31:29Z level=info msg="a \"quoted\" word" password=hunter2x user=bob`,
	`ts=2026-12-05T07:31:29Z level=info msg="x \"y\" key=\"s3cr3tvalue\"" user=bob`,
	`ts=2026-12-05T07:31:29Z level=info msg="a \"quoted\" word" user=-bob url=https://u:hunter2x@db.example.com/`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"\u0070assword=hunter2 now","user":"bob"}`,
	// An unescaped key names a secret its line does not: its value, a
	// part of the line, is masked by the key's name alone.
	`{"ts":"2026-12-05T07:31:29Z","msg":"a \"quoted\" word","pass\u0077ord":"hunter2x","user":"bob"}`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"plain words here","api\u005fkey":"abc123def456","user":"bob"}`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"plain words here","\u0070assword":"hunter2x","user":"bob"}`,
	`ts=2026-12-05T07:31:29Z level=info msg="a \"quoted\" word and a long tail of words" user=bob`,
	`{"ts":"2026-12-05T07:31:29Z","level":"info","msg":"a \"quoted\" word","user":"bob","n":1}`,
	`ts=2026-12-05T07:31:29Z level=info msg="a \"quoted\" word" user=bob`,
	`2026-12-05 07:31:29,123 ERROR [main] app.Service - failed to connect`,
	`	at app.Db.connect(Db.java:42) password=hunter2 given`,
	`	at app.Main.main(Main.java:7)`,
	`2026-12-05 07:31:29.123 ERROR 1 --- [main] c.e.App : request failed`,
	`	at c.e.Db.connect(Db.java:42) token=abc123def456 given`,
	`Traceback (most recent call last):`,
	`  File "app.py", line 3, in <module> password=hunter2`,
	`ValueError: bad`,
	`I1205 07:31:29.123456    1 main.go:42] "msg" key="to\ken=abc123def" x=1`,
	`2026-12-05T07:31:29.123Z stdout P {"msg":"half of a pass`,
	`2026-12-05T07:31:29.124Z stdout F word=hunter2 line"}`,
	`app[1]: cmd=-p"ass"word hunter2 x=-u`,
	// Secret names in JSON keys that hold a blank, beside hints in prose:
	// a key part ends at its quote, not at the blank after its hint.
	`{"ts":"2026-12-05T07:31:29Z","msg":"Failed password for bob","password hint":"abcdef","api key id":7}`,
	`{"ts":"2026-12-05T07:31:29Z","msg":"cache miss for key sess:1","token value":"abcdef"}`,
}

// literalValues are parsers' literals that are values, never a field's
// name: syslog's facility "auth".
var literalValues = map[string]bool{"auth": true}

// leakLines are the log lines of the secrets' leak table, secrets and
// near-misses alike.
func leakLines(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../secrets/testdata/leaks.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			out = append(out, strings.Split(l, "\t")[1])
		}
	}
	return out
}

// FuzzLineCheckRedactsAlike: whatever lines a source gets, the parsers
// and the redact processor make the same records of them with the line
// check as without it.
func FuzzLineCheckRedactsAlike(f *testing.F) {
	for _, l := range hostileLines {
		f.Add(l)
	}
	f.Add(strings.Join(hostileLines, "\n"))
	f.Add(`{"a":"x-pa\"ss\"word y","b":"-p","c":[{"token":"k"}]}` + "\n" + `ts=1 k=-x v="a b" pwd=1`)
	chain, err := processors.Build([]processors.Spec{{Redact: &processors.RedactConfig{}}}, processors.Env{})
	if err != nil {
		f.Fatal(err)
	}
	lits := parserLiterals(f)
	f.Fuzz(func(t *testing.T, text string) {
		lines := strings.Split(text, "\n")
		with, without := parseAll(t, "fuzz.log", lines, true), parseAll(t, "fuzz.log", lines, false)
		if len(with) != len(without) {
			t.Fatalf("%d records with the line check, %d without", len(with), len(without))
		}
		a, _ := chain.Process(with, nil)
		b, _ := chain.Process(without, nil)
		for i := range a {
			if _, _, only := a[i].CleanLine(); only {
				checkLineOnly(t, "fuzz.log", &a[i], lits)
			}
			if x, y := string(a[i].AppendJSON(nil)), string(b[i].AppendJSON(nil)); x != y {
				t.Fatalf("redacted with the line check\n %s\nwithout\n %s", x, y)
			}
		}
	})
}
