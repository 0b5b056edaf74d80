package processors

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
	"github.com/obsadapter/obsadapter/secrets"
)

// leak is one case of the shared table ../secrets/testdata/leaks.tsv.
type leak struct{ rule, line, secret string }

func readLeaks(t testing.TB) []leak {
	t.Helper()
	f, err := os.Open("../secrets/testdata/leaks.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []leak
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			p := strings.Split(l, "\t")
			c := leak{rule: p[0], line: p[1]}
			if len(p) > 2 && p[0] != "-" {
				c.secret = p[2]
			}
			out = append(out, c)
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d cases in leaks.tsv", len(out))
	}
	return out
}

func reported(r record.Record) []string {
	v, ok := r.Lookup("redacted")
	if !ok {
		return nil
	}
	var names []string
	for _, n := range v.Array() {
		names = append(names, n.Str())
	}
	return names
}

// TestRedactLeaks: every secret of the shared table is masked wherever it
// stands (message, field, nested object, array), the rule is reported, and
// every near-miss is left alone.
func TestRedactLeaks(t *testing.T) {
	for _, l := range readLeaks(t) {
		t.Run(l.rule+"/"+l.line, func(t *testing.T) {
			c := mustBuild(t, Spec{Redact: &RedactConfig{}})
			in := rec(record.SeverityInfo, l.line,
				str("detail", l.line),
				record.Field{Key: "req", Value: record.ObjectValue([]record.Field{str("body", l.line)})},
				record.Field{Key: "lines", Value: record.ArrayValue([]record.Value{record.StringValue(l.line), record.IntValue(1)})},
				num("n", 4111111111111111),
			)
			orig := string(in.AppendJSON(nil))
			out, _ := run(t, c, in)
			js := string(out.AppendJSON(nil))
			if string(in.AppendJSON(nil)) != orig {
				t.Errorf("the input record's values were written to")
			}
			st := c.Stats()[0]
			if l.rule == "-" {
				if js != orig || st.Kept != 1 {
					t.Errorf("near-miss changed (%+v):\n%s", st, js)
				}
				return
			}
			if strings.Contains(js, l.secret) {
				t.Errorf("secret %q survived:\n%s", l.secret, js)
			}
			if !slices.Contains(reported(out), l.rule) || st.Changed != 1 {
				t.Errorf("reported %v, stats %+v, want %s", reported(out), st, l.rule)
			}
			if strings.Count(js, "***") < 4 {
				t.Errorf("not masked in every place:\n%s", js)
			}
		})
	}
}

func TestRedactFields(t *testing.T) {
	tests := []struct {
		name   string
		cfg    RedactConfig
		in     record.Record
		want   string // a part of the JSON
		report []string
	}{
		{"secret names mask any scalar", RedactConfig{},
			rec(0, "login", str("password", "hunter2"), num("pin_token", 1234), record.Field{Key: "apiKey", Value: record.FloatValue(1.5)}, str("user", "bob")),
			`"fields":{"password":"***","pin_token":"***","apiKey":"***","user":"bob","redacted":["secret-field"]}`, []string{"secret-field"}},
		{"secret names inside objects", RedactConfig{},
			rec(0, "m", record.Field{Key: "db", Value: record.ObjectValue([]record.Field{str("host", "h"), str("password", "pw")})}),
			`"db":{"host":"h","password":"***"}`, []string{"secret-field"}},
		{"an object named secret keeps its shape", RedactConfig{},
			rec(0, "m", record.Field{Key: "secret", Value: record.ObjectValue([]record.Field{str("name", "n")})}, record.Field{Key: "token", Value: record.NullValue()}),
			`"fields":{"secret":{"name":"n"},"token":null}`, nil},
		{"fields off", RedactConfig{Fields: ptr(false)},
			rec(0, "token=abc123", str("password", "pw")), `"message":"token=***","format":"json","source":"app","fields":{"password":"pw","redacted":["assignment"]}`, []string{"assignment"}},
		{"no report", RedactConfig{ReportField: "-"}, rec(0, "token=abc123"), `"message":"token=***","format":"json","source":"app"}`, nil},
		{"custom mask and report field", RedactConfig{Mask: "[hidden]", ReportField: "masked_by"},
			rec(0, "Bearer abcdefgh12345678"), `"message":"Bearer [hidden]","format":"json","source":"app","fields":{"masked_by":["bearer-token"]}`, nil},
		{"optional rules on request", RedactConfig{Rules: []string{"email", "ipv4"}},
			rec(0, "bob@example.com from 10.0.0.1 password=x"), `"message":"*** from *** password=x"`, []string{"email", "ipv4"}},
		{"user pattern", RedactConfig{Patterns: []PatternConfig{{Name: "order-token", Regex: `ord_([a-z0-9]{8})`}}},
			rec(0, "paid ord_a1b2c3d4 ok"), `"message":"paid ord_*** ok"`, []string{"order-token"}},
		{"two redacts merge reports", RedactConfig{}, rec(0, "token=abc", record.Field{Key: "redacted", Value: record.ArrayValue([]record.Value{record.StringValue("ssn")})}),
			`"redacted":["ssn","assignment"]`, []string{"ssn", "assignment"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := run(t, mustBuild(t, Spec{Redact: &tc.cfg}), tc.in)
			js := string(out.AppendJSON(nil))
			if !strings.Contains(js, tc.want) {
				t.Errorf("got %s\nwant it to hold %s", js, tc.want)
			}
			if tc.report != nil && !slices.Equal(reported(out), tc.report) {
				t.Errorf("reported %v, want %v", reported(out), tc.report)
			}
		})
	}
}

func TestRedactHash(t *testing.T) {
	c := mustBuild(t, Spec{Redact: &RedactConfig{HashKeyEnv: "HASH_KEY"}})
	msg := func(m string) string {
		out, _ := run(t, c, rec(0, m))
		return out.Message
	}
	a1, a2, b := msg("password=alpha-1"), msg("retry password=alpha-1"), msg("password=beta-22")
	h1, h2, hb := strings.TrimPrefix(a1, "password="), strings.TrimPrefix(a2, "retry password="), strings.TrimPrefix(b, "password=")
	if !strings.HasPrefix(h1, "hmac:") || len(h1) != len("hmac:")+16 {
		t.Fatalf("mask %q", a1)
	}
	if h1 != h2 || h1 == hb {
		t.Errorf("equal secrets %q %q, different %q", h1, h2, hb)
	}
	// Another key: other hashes, so a hash says nothing without the key.
	other := mustBuild(t, Spec{Redact: &RedactConfig{HashKeyFile: "/keys/redact"}})
	if out, _ := run(t, other, rec(0, "password=alpha-1")); out.Message == a1 {
		t.Error("two keys gave one hash")
	}
	// A hash is not mistaken for a secret by the other rules.
	for _, m := range []string{a1, b} {
		if again := msg(m); again != m {
			t.Errorf("a hash was masked again: %q → %q", m, again)
		}
	}
}

// TestHostile: inputs meant to break or slow a processor.
func TestHostile(t *testing.T) {
	big := strings.Repeat("a", 1<<20)
	bigSecret := strings.Repeat("x ", 1<<19) + "password=hunter2"
	invalid := "\xff\xfe token=\xc3\x28abc \xed\xa0\x80 eyJ\xff"
	everyKind := []record.Field{
		str("s", "token=abc"), num("i", -1), {Key: "f", Value: record.FloatValue(3.5)}, {Key: "b", Value: record.BoolValue(false)},
		{Key: "null", Value: record.NullValue()}, {Key: "o", Value: record.ObjectValue(nil)}, {Key: "a", Value: record.ArrayValue(nil)},
		{Key: "deep", Value: nest(200)}, {Key: "", Value: record.StringValue("")},
	}
	chain := mustBuild(t,
		Spec{Filter: &FilterConfig{Drop: &Condition{MessageRegex: `(a+)+$`, Field: "nope", Regex: `(x*)*y`}}},
		Spec{Redact: &RedactConfig{Rules: []string{"default", "email", "ipv4", "ipv6"}}},
		Spec{Sample: &SampleConfig{Rate: 1, Key: "deep"}},
		Spec{Fields: &FieldsConfig{MessageFrom: "deep", LevelFrom: "a", Remove: []string{"b"}}},
		Spec{Parse: &ParseConfig{Regex: `(?P<w>(a|aa)+)b`}},
	)
	for _, tc := range []struct {
		name string
		r    record.Record
	}{
		{"1 MiB clean", rec(0, big)},
		{"1 MiB with a secret at the end", rec(0, bigSecret, str("copy", bigSecret))},
		{"invalid UTF-8", rec(0, invalid, str(invalid, invalid))},
		{"fields of every kind", rec(0, "m", everyKind...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, ok := run(t, chain, tc.r)
			if !ok {
				t.Fatal("dropped")
			}
			if strings.Contains(string(out.AppendJSON(nil)), "hunter2") {
				t.Error("secret survived")
			}
			// Not a timed assertion: a report of what a regex engine
			// that backtracks would not finish.
			t.Logf("%v", time.Since(start))
		})
	}
}

// nest is an object n levels deep holding a secret at the bottom.
func nest(n int) record.Value {
	v := record.ObjectValue([]record.Field{str("password", "pw")})
	for i := 0; i < n; i++ {
		v = record.ObjectValue([]record.Field{{Key: "k", Value: v}})
	}
	return v
}

// TestRedactCleanLine: what a record's clean line vouches for is skipped,
// and nothing else: texts made elsewhere, texts starting with a '-', and
// whatever an earlier processor changed are looked at.
func TestRedactCleanLine(t *testing.T) {
	line := "ts=1 msg=started user=bob path=/api/v1/orders args=--password hunter2"
	part := func(s string) string { i := strings.Index(line, s); return line[i : i+len(s)] }
	fresh := func() record.Record {
		r := record.Record{
			Message: part("started"),
			Fields:  []record.Field{{Key: part("user"), Value: record.StringValue(part("bob"))}},
		}
		r.SetCleanLine(line, true, true)
		return r
	}
	redact := Spec{Redact: &RedactConfig{}}
	for _, tc := range []struct {
		name  string
		specs []Spec
		edit  func(r *record.Record)
		want  string // in the redacted record's JSON
	}{
		{"a part of the line", []Spec{redact}, func(*record.Record) {}, `"user":"bob"`},
		{"a text made elsewhere, the record not only its line's", []Spec{redact}, func(r *record.Record) {
			r.SetCleanLine(line, true, false)
			r.Fields = append(r.Fields, record.Field{Key: "note", Value: record.StringValue("password=hunter2")})
		}, `"note":"password=***"`},
		{"a key of the line that names a secret, names not clean", []Spec{redact}, func(r *record.Record) {
			r.SetCleanLine(line, false, true)
			r.Fields = append(r.Fields, record.Field{Key: part("password"), Value: record.StringValue(part("bob"))})
		}, `"password":"***"`},
		{"a key that names a secret, the record not only its line's", []Spec{redact}, func(r *record.Record) {
			r.SetCleanLine(line, true, false)
			r.Fields = append(r.Fields, record.Field{Key: "password", Value: record.StringValue(part("bob"))})
		}, `"password":"***"`},
		{"a part starting with a '-', which its parser does not call only its line's", []Spec{redact}, func(r *record.Record) {
			r.SetCleanLine(line, true, false)
			r.Fields = append(r.Fields, record.Field{Key: part("args"), Value: record.StringValue(part("--password hunter2"))})
		}, `"args":"--password ***"`},
		{"a message starting with a '-'", []Spec{redact}, func(r *record.Record) {
			r.Message = part("--password hunter2")
			r.SetCleanLine(line, true, true)
		}, `"message":"--password ***"`},
		{"a field an earlier processor added", []Spec{{Fields: &FieldsConfig{Add: map[string]string{"note": "token=abc123def456"}}}, redact},
			func(*record.Record) {}, `"note":"token=***"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Build(tc.specs, testEnv())
			if err != nil {
				t.Fatal(err)
			}
			r := fresh()
			tc.edit(&r)
			out, _ := c.Process([]record.Record{r}, nil)
			if got := string(out[0].AppendJSON(nil)); !strings.Contains(got, tc.want) {
				t.Errorf("got %s, want %s in it", got, tc.want)
			}
		})
	}
}

// TestRedactWithoutLineBuildsNothing: a record with no clean line goes
// straight to Redact, which must keep a record it changes nothing of as
// it is, counted kept, without an allocation: nested values, a number and
// a secret name's value masked already included.
func TestRedactWithoutLineBuildsNothing(t *testing.T) {
	c := mustBuild(t, Spec{Redact: &RedactConfig{}})
	r := rec(record.SeverityInfo, "GET /api/v1/orders 200 in 12 ms from 10.1.2.3",
		str("user", "bob"), str("password", secrets.Masked), record.Field{Key: "n", Value: record.IntValue(7)},
		record.Field{Key: "req", Value: record.ObjectValue([]record.Field{str("path", "/healthz"), str("agent", "curl/8.0")})},
		record.Field{Key: "tags", Value: record.ArrayValue([]record.Value{record.StringValue("blue"), record.IntValue(1)})})
	before := r
	var mask uint64
	if res := c.procs[0].apply(&r, &mask); res != resKept {
		t.Fatalf("apply = %v, want kept", res)
	}
	if r.Message != before.Message || &r.Fields[0] != &before.Fields[0] {
		t.Fatalf("the record changed: %+v", r)
	}
	if n := testing.AllocsPerRun(100, func() { c.procs[0].apply(&r, &mask) }); n != 0 {
		t.Errorf("%v allocations a record that needs no change", n)
	}
}
