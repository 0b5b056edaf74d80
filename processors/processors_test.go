package processors

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// testEnv is an Env with three exporters, a fixed clock and environment.
func testEnv() Env {
	return Env{
		Exporters: []string{"stdout", "fluent", "prometheus"},
		Getenv: func(k string) (string, bool) {
			v, ok := map[string]string{"TEAM": "payments", "HASH_KEY": "0123456789abcdef0123"}[k]
			return v, ok
		},
		ReadFile: func(name string) ([]byte, error) {
			if name == "/keys/redact" {
				return []byte("file-key-0123456789abcdef\n"), nil
			}
			return nil, errors.New("open " + name + ": no such file or directory")
		},
		Now: func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) },
		Parsers: func(name string) (ParseFunc, bool) {
			if name == "kv" {
				return kvParser, true
			}
			return nil, false
		},
	}
}

// kvParser stands in for a named parser: "k=v k2=v2" (all words k=v), with
// "msg" as the message and "level" as the level.
func kvParser(text string) (record.Record, bool) {
	var r record.Record
	for _, w := range strings.Fields(text) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return record.Record{}, false
		}
		switch k {
		case "msg":
			r.Message = v
		case "level":
			l, _ := record.LevelFromString(v)
			r.Severity = l.Severity()
		default:
			r.Fields = append(r.Fields, record.Field{Key: k, Value: record.StringValue(v)})
		}
	}
	return r, true
}

func ptr[T any](v T) *T { return &v }

func rec(sev record.Severity, msg string, fields ...record.Field) record.Record {
	return record.Record{Severity: sev, Message: msg, Source: "app", Format: "json", Fields: fields}
}

func str(k, v string) record.Field { return record.Field{Key: k, Value: record.StringValue(v)} }
func num(k string, n int64) record.Field {
	return record.Field{Key: k, Value: record.IntValue(n)}
}

func mustBuild(t *testing.T, specs ...Spec) *Chain {
	t.Helper()
	c, err := Build(specs, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run processes one record and returns it, or false when it was dropped.
func run(t *testing.T, c *Chain, r record.Record) (record.Record, bool) {
	t.Helper()
	out, _ := c.Process([]record.Record{r}, nil)
	switch len(out) {
	case 0:
		return record.Record{}, false
	case 1:
		return out[0], true
	}
	t.Fatalf("one record in, %d out", len(out))
	return record.Record{}, false
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		specs []Spec
		want  []string // "key: message substring", in order
	}{
		{"good", []Spec{
			{Filter: &FilterConfig{Keep: &Condition{MinLevel: "info"}}},
			{Redact: &RedactConfig{Rules: []string{"default", "email"}, Patterns: []PatternConfig{{Name: "order-token", Regex: `ord_[a-z0-9]{8}`}}}},
			{Sample: &SampleConfig{Rate: 10, Key: "request_id"}},
			{Throttle: &ThrottleConfig{Limit: 100, Window: time.Second, Key: "{source}/{user.id}"}},
			{Fields: &FieldsConfig{Add: map[string]string{"team": "x"}, AddFromEnv: map[string]string{"owner": "TEAM"}}},
			{Parse: &ParseConfig{Field: "payload", Parser: "kv"}},
			{Route: &RouteConfig{Rules: []RouteRule{{When: Condition{Source: []string{"audit"}}, Exporters: []string{"fluent"}}}}},
			{Redact: &RedactConfig{HashKeyEnv: "HASH_KEY"}},
			{Redact: &RedactConfig{HashKeyFile: "/keys/redact"}},
		}, nil},
		{"no kind", []Spec{{Name: "x"}}, []string{"[0]: exactly one of"}},
		{"two kinds", []Spec{{Filter: &FilterConfig{}, Sample: &SampleConfig{Rate: 2}}}, []string{"[0]: exactly one of"}},
		{"duplicate names", []Spec{
			{Name: "a", Sample: &SampleConfig{Rate: 2}},
			{Name: "a", Sample: &SampleConfig{Rate: 3}},
		}, []string{"[1].name: \"a\" is also the name of processor [0]"}},
		{"every problem, in order", []Spec{
			{Filter: &FilterConfig{}},
			{Filter: &FilterConfig{Keep: &Condition{MinLevel: "loud", MessageRegex: "a(b"}}},
			{Filter: &FilterConfig{Drop: &Condition{Any: []Condition{{}, {Field: "x", Regex: "[z"}}}}},
			{Filter: &FilterConfig{Drop: &Condition{Equals: ptr("1")}}},
		}, []string{
			"[0].filter: set keep",
			"[1].filter.keep.min_level: \"loud\" is not a level",
			"[1].filter.keep.message_regex: error parsing regexp",
			"[2].filter.drop.any[0]: the condition is empty",
			"[2].filter.drop.any[1].regex: error parsing regexp",
			"[3].filter.drop.field: equals, exists",
		}},
		{"redact", []Spec{
			{Redact: &RedactConfig{Rules: []string{"nope"}}},
			{Redact: &RedactConfig{Patterns: []PatternConfig{{Regex: "x+"}, {Name: "jwt", Regex: "y"}, {Name: "e", Regex: "z*"}}}},
			{Redact: &RedactConfig{HashKeyEnv: "UNSET"}},
			{Redact: &RedactConfig{HashKeyFile: "/missing"}},
			{Redact: &RedactConfig{HashKeyEnv: "TEAM"}},
			{Redact: &RedactConfig{HashKeyEnv: "HASH_KEY", Mask: "[x]"}},
		}, []string{
			"[0].redact.rules[0]: \"nope\" is not a rule",
			"[1].redact.patterns[0].name: a pattern needs a name",
			"[1].redact.patterns[1].name: \"jwt\" is the name of a built-in rule",
			"[1].redact.patterns[2].regex: the pattern matches the empty string",
			"[2].redact.hash_key_env: the environment variable UNSET is not set",
			"[3].redact.hash_key_file: open /missing",
			"[4].redact.hash_key_env: the hash key is 8 bytes long",
			"[5].redact.mask: a hash key masks with a hash",
		}},
		{"sample, throttle", []Spec{
			{Sample: &SampleConfig{Rate: 0, KeepLevel: "loud"}},
			{Throttle: &ThrottleConfig{Limit: 0, Window: time.Microsecond, MaxKeys: -1, Excess: "queue", Key: "{source"}},
		}, []string{
			"[0].sample.rate: keep 1 record in rate",
			"[0].sample.keep_level: \"loud\" is not a level",
			"[1].throttle.limit: at most limit records",
			"[1].throttle.window: the window is 1µs",
			"[1].throttle.max_keys: max_keys must be between",
			"[1].throttle.excess: \"queue\"",
			"[1].throttle.key: a '{' is not closed",
		}},
		{"fields, parse, route", []Spec{
			{Fields: &FieldsConfig{}},
			{Fields: &FieldsConfig{AddFromEnv: map[string]string{"owner": "UNSET"}}},
			{Parse: &ParseConfig{Parser: "xml"}},
			{Parse: &ParseConfig{Regex: `(\d+)`}},
			{Parse: &ParseConfig{}},
			{Route: &RouteConfig{Rules: []RouteRule{{When: Condition{MinLevel: "warn"}, Exporters: []string{"otlp"}}, {When: Condition{MinLevel: "info"}}}}},
		}, []string{
			"[0].fields: nothing to do",
			"[1].fields.add_from_env.owner: the environment variable UNSET is not set",
			"[2].parse.parser: \"xml\" is not a format name",
			"[3].parse.regex: the regex has no named group",
			"[4].parse: set parser",
			"[5].route.rules[0].exporters[0]: \"otlp\" is not an enabled exporter",
			"[5].route.rules[1].exporters: name at least one exporter",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Validate(tc.specs, testEnv())
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				key, msg, _ := strings.Cut(w, ": ")
				if got[i].Key != key || !strings.Contains(got[i].Msg, msg) {
					t.Errorf("problem %d = %s, want %s", i, got[i], w)
				}
			}
			_, err := Build(tc.specs, testEnv())
			if (err != nil) != (len(tc.want) > 0) {
				t.Errorf("Build error %v with %d problems", err, len(tc.want))
			}
			if err != nil && !strings.Contains(err.Error(), tc.want[0]) {
				t.Errorf("Build error %q does not list %q", err, tc.want[0])
			}
		})
	}
}

func TestNilAndEmptyChain(t *testing.T) {
	var c *Chain
	in := []record.Record{rec(record.SeverityInfo, "a")}
	out, routes := c.Process(in, nil)
	if len(out) != 1 || routes != nil || c.Flush() != nil || c.Stats() != nil {
		t.Errorf("nil chain: out %v routes %v", out, routes)
	}
	c, err := Build(nil, testEnv())
	if c != nil || err != nil {
		t.Errorf("Build(nil) = %v, %v; want a nil chain", c, err)
	}
}

func TestFilter(t *testing.T) {
	status := func(v int64) record.Field {
		return record.Field{Key: "http", Value: record.ObjectValue([]record.Field{num("status", v)})}
	}
	tests := []struct {
		name string
		cfg  FilterConfig
		r    record.Record
		kept bool
	}{
		{"min_level keeps warn", FilterConfig{Keep: &Condition{MinLevel: "warn"}}, rec(record.SeverityWarn, "x"), true},
		{"min_level keeps fatal4", FilterConfig{Keep: &Condition{MinLevel: "warn"}}, rec(24, "x"), true},
		{"min_level drops info", FilterConfig{Keep: &Condition{MinLevel: "warn"}}, rec(record.SeverityInfo, "x"), false},
		{"min_level drops no level", FilterConfig{Keep: &Condition{MinLevel: "trace"}}, rec(0, "x"), false},
		{"drop debug", FilterConfig{Drop: &Condition{Not: &Condition{MinLevel: "info"}}}, rec(record.SeverityDebug, "x"), false},
		{"drop by substring", FilterConfig{Drop: &Condition{MessageContains: "GET /healthz"}}, rec(0, "GET /healthz 200"), false},
		{"substring misses", FilterConfig{Drop: &Condition{MessageContains: "GET /healthz"}}, rec(0, "GET /orders 200"), true},
		{"regex", FilterConfig{Keep: &Condition{MessageRegex: `^(GET|POST) /api/`}}, rec(0, "POST /api/v1"), true},
		{"source", FilterConfig{Keep: &Condition{Source: []string{"db", "app"}}}, rec(0, "x"), true},
		{"format", FilterConfig{Keep: &Condition{Format: []string{"logfmt"}}}, rec(0, "x"), false},
		{"field exists", FilterConfig{Keep: &Condition{Field: "user"}}, rec(0, "x", str("user", "bob")), true},
		{"field absent", FilterConfig{Keep: &Condition{Field: "user", Exists: ptr(false)}}, rec(0, "x", str("user", "bob")), false},
		{"nested equals number", FilterConfig{Keep: &Condition{Field: "http.status", Equals: ptr("500")}}, rec(0, "x", status(500)), true},
		{"equals string", FilterConfig{Keep: &Condition{Field: "user", Equals: ptr("bob")}}, rec(0, "x", str("user", "bob")), true},
		{"equals missing field", FilterConfig{Keep: &Condition{Field: "user", Equals: ptr("")}}, rec(0, "x"), false},
		{"gte", FilterConfig{Keep: &Condition{Field: "http.status", GTE: ptr(500.0)}}, rec(0, "x", status(503)), true},
		{"lt fails", FilterConfig{Keep: &Condition{Field: "http.status", LT: ptr(400.0)}}, rec(0, "x", status(404)), false},
		{"range", FilterConfig{Keep: &Condition{Field: "http.status", GTE: ptr(400.0), LT: ptr(500.0)}}, rec(0, "x", status(404)), true},
		{"numeric string", FilterConfig{Keep: &Condition{Field: "ms", GT: ptr(100.0)}}, rec(0, "x", str("ms", "250.5")), true},
		{"not a number", FilterConfig{Keep: &Condition{Field: "ms", GT: ptr(100.0)}}, rec(0, "x", str("ms", "slow")), false},
		{"field regex on bool", FilterConfig{Keep: &Condition{Field: "ok", Regex: "^true$"}}, rec(0, "x", record.Field{Key: "ok", Value: record.BoolValue(true)}), true},
		{"all", FilterConfig{Keep: &Condition{All: []Condition{{MinLevel: "error"}, {Source: []string{"app"}}}}}, rec(record.SeverityError, "x"), true},
		{"all fails", FilterConfig{Keep: &Condition{All: []Condition{{MinLevel: "error"}, {Source: []string{"db"}}}}}, rec(record.SeverityError, "x"), false},
		{"any", FilterConfig{Keep: &Condition{Any: []Condition{{MinLevel: "error"}, {MessageContains: "slow"}}}}, rec(record.SeverityInfo, "slow query"), true},
		{"any fails", FilterConfig{Keep: &Condition{Any: []Condition{{MinLevel: "error"}, {MessageContains: "slow"}}}}, rec(record.SeverityInfo, "fast"), false},
		{"any of three, the last", FilterConfig{Keep: &Condition{Any: []Condition{{MinLevel: "error"}, {Source: []string{"db"}}, {MessageContains: "slow"}}}}, rec(record.SeverityInfo, "slow"), true},
		{"any of three fails", FilterConfig{Keep: &Condition{Any: []Condition{{MinLevel: "error"}, {Source: []string{"db"}}, {MessageContains: "slow"}}}}, rec(record.SeverityInfo, "fast"), false},
		{"all of three", FilterConfig{Keep: &Condition{All: []Condition{{MinLevel: "info"}, {Source: []string{"app"}}, {MessageContains: "a"}}}}, rec(record.SeverityInfo, "a"), true},
		{"all of three, the last fails", FilterConfig{Keep: &Condition{All: []Condition{{MinLevel: "info"}, {Source: []string{"app"}}, {MessageContains: "a"}}}}, rec(record.SeverityInfo, "b"), false},
		{"keys combine as all", FilterConfig{Keep: &Condition{MinLevel: "info", MessageContains: "a"}}, rec(record.SeverityInfo, "b"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustBuild(t, Spec{Filter: &tc.cfg})
			// The filter's own apply says what the chain, which may look
			// it up instead, does.
			r, mask := tc.r, c.all
			if res := c.procs[0].apply(&r, &mask); (res == resKept) != tc.kept {
				t.Errorf("apply = %v, want kept %v", res, tc.kept)
			}
			if _, kept := run(t, c, tc.r); kept != tc.kept {
				t.Errorf("kept = %v, want %v", kept, tc.kept)
			}
			st := c.Stats()[0]
			if st.Kept+st.Dropped != 1 || st.Changed != 0 || (st.Kept == 1) != tc.kept {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestLeadingLevelFilters: the chain looks leading filters of levels only
// up as one table, and still counts each record as the filters one by one
// would: a drop by the first that drops it, a keep by every one it passed.
func TestLeadingLevelFilters(t *testing.T) {
	c := mustBuild(t,
		Spec{Filter: &FilterConfig{Keep: &Condition{MinLevel: "info"}}},
		Spec{Filter: &FilterConfig{Drop: &Condition{MinLevel: "fatal"}}},
		Spec{Filter: &FilterConfig{Keep: &Condition{MinLevel: "warn"}}},
		Spec{Redact: &RedactConfig{}},
		Spec{Filter: &FilterConfig{Keep: &Condition{MinLevel: "error"}}},
	)
	if c.lead != 3 {
		t.Fatalf("lead = %d, want the 3 leading filters", c.lead)
	}
	in := []record.Record{rec(record.SeverityDebug, "d"), rec(record.SeverityInfo, "i"), rec(record.SeverityWarn, "w"),
		rec(record.SeverityError, "e"), rec(record.SeverityFatal, "f"), rec(record.SeverityDebug, "d2")}
	out, _ := c.Process(in, nil)
	if len(out) != 1 || out[0].Message != "e" {
		t.Fatalf("out = %v, want the error record only", out)
	}
	want := []struct{ kept, dropped uint64 }{{4, 2}, {3, 1}, {2, 1}, {2, 0}, {1, 1}}
	for j, st := range c.Stats() {
		if st.Kept != want[j].kept || st.Dropped != want[j].dropped || st.Changed != 0 {
			t.Errorf("step %d (%s): kept %d dropped %d changed %d, want kept %d dropped %d",
				j, st.Name, st.Kept, st.Dropped, st.Changed, want[j].kept, want[j].dropped)
		}
	}
}

// TestLevelConditions: a condition of nothing but levels compiles to a
// table by severity, which must say for every severity what the condition
// says (evalLevels, written from the keys' documented meaning).
func TestLevelConditions(t *testing.T) {
	keepAll := Condition{Any: []Condition{{MinLevel: "trace"}, {Not: &Condition{MinLevel: "trace"}}}}
	tests := []struct {
		name string
		c    Condition
	}{
		{"min_level", Condition{MinLevel: "warn"}},
		{"not", Condition{Not: &Condition{MinLevel: "info"}}},
		{"any of a level and its negation: every record", keepAll},
		{"not of that: none", Condition{Not: &keepAll}},
		{"all: a band", Condition{All: []Condition{{MinLevel: "debug"}, {Not: &Condition{MinLevel: "error"}}}}},
		{"keys and all combine", Condition{MinLevel: "info", All: []Condition{{Not: &Condition{MinLevel: "fatal"}}}}},
		{"any of three", Condition{Any: []Condition{{MinLevel: "fatal"}, {Not: &Condition{MinLevel: "debug"}}, {All: []Condition{{MinLevel: "warn"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var list []Problem
			got := compileCondition(&tc.c, problems{list: &list})
			if len(list) > 0 || got.levels == nil {
				t.Fatalf("compiled to %+v, problems %v; want a table", got, list)
			}
			m := got.match()
			for s := range 256 {
				r := record.Record{Severity: record.Severity(s)}
				if want := evalLevels(&tc.c, record.Severity(s)); got.levels[s] != want || m(&r) != want {
					t.Errorf("severity %d: table %v, match %v, want %v", s, got.levels[s], m(&r), want)
				}
			}
		})
	}
	mixed := Condition{Any: []Condition{{MinLevel: "error"}, {MessageContains: "slow"}}}
	var list []Problem
	if got := compileCondition(&mixed, problems{list: &list}); got.levels != nil || got.m == nil {
		t.Errorf("a condition on the message compiled to %+v; want a match", got)
	}
}

func evalLevels(c *Condition, s record.Severity) bool {
	ok := true
	if c.MinLevel != "" {
		l, _ := record.LevelFromString(c.MinLevel)
		ok = s >= l.Severity()
	}
	for i := range c.All {
		ok = ok && evalLevels(&c.All[i], s)
	}
	if len(c.Any) > 0 {
		anyOK := false
		for i := range c.Any {
			anyOK = anyOK || evalLevels(&c.Any[i], s)
		}
		ok = ok && anyOK
	}
	if c.Not != nil {
		ok = ok && !evalLevels(c.Not, s)
	}
	return ok
}

func TestRoute(t *testing.T) {
	c := mustBuild(t,
		Spec{Filter: &FilterConfig{Drop: &Condition{MessageContains: "noise"}}},
		Spec{Route: &RouteConfig{Rules: []RouteRule{
			{When: Condition{Not: &Condition{MinLevel: "info"}}, Exporters: []string{"prometheus"}},
			{When: Condition{Source: []string{"audit"}}, Exporters: []string{"fluent"}},
		}}},
		Spec{Name: "no-metrics-for-audit", Route: &RouteConfig{
			Rules:   []RouteRule{{When: Condition{Source: []string{"audit"}}, Exporters: []string{"prometheus"}}},
			Default: []string{"stdout", "fluent", "prometheus"},
		}},
	)
	audit := rec(record.SeverityInfo, "login")
	audit.Source = "audit"
	in := []record.Record{
		rec(record.SeverityDebug, "cache miss"), // metrics only
		rec(record.SeverityInfo, "noise"),       // filtered
		audit,                                   // fluent, then narrowed to nothing
		rec(record.SeverityError, "db down"),    // everything
	}
	routesBuf := make([]uint64, 0, 8)
	out, routes := c.Process(in, routesBuf)
	if len(out) != 2 || len(routes) != 2 {
		t.Fatalf("out %d records, %d routes", len(out), len(routes))
	}
	if out[0].Message != "cache miss" || routes[0] != 0b100 {
		t.Errorf("debug: %q to %b", out[0].Message, routes[0])
	}
	if out[1].Message != "db down" || routes[1] != 0b111 {
		t.Errorf("error: %q to %b", out[1].Message, routes[1])
	}
	if &routes[0] != &routesBuf[:1][0] {
		t.Error("routesBuf not reused")
	}
	if &out[0] != &in[0] {
		t.Error("recs' array not reused")
	}
	want := []Stat{
		{Name: "filter", Kind: "filter", Kept: 3, Dropped: 1},
		{Name: "route_1", Kind: "route", Kept: 1, Changed: 2},
		{Name: "no-metrics-for-audit", Kind: "route", Kept: 2, Dropped: 1},
	}
	// route_1 is route's name only because the kind repeats.
	got := c.Stats()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stats[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Without a route the routes are nil: every exporter.
	if _, routes := mustBuild(t, Spec{Sample: &SampleConfig{Rate: 1}}).Process(in[:1], routesBuf); routes != nil {
		t.Errorf("routes %v without a route processor", routes)
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		name    string
		cfg     FieldsConfig
		in      record.Record
		want    string // the record's JSON
		changed bool
	}{
		{"add sorted, env", FieldsConfig{Add: map[string]string{"zone": "a", "team": "x"}, AddFromEnv: map[string]string{"owner": "TEAM"}},
			rec(0, "m", str("user", "bob")), `"fields":{"user":"bob","owner":"payments","team":"x","zone":"a"}`, true},
		{"add overwrites", FieldsConfig{Add: map[string]string{"team": "x"}},
			rec(0, "m", str("team", "old")), `"fields":{"team":"x"}`, true},
		{"add same value is no change", FieldsConfig{Add: map[string]string{"team": "x"}},
			rec(0, "m", str("team", "x")), `"fields":{"team":"x"}`, false},
		{"rename replaces target", FieldsConfig{Rename: map[string]string{"usr": "user"}},
			rec(0, "m", str("user", "a"), str("usr", "b"), num("n", 1)), `"fields":{"user":"b","n":1}`, true},
		{"renames at once", FieldsConfig{Rename: map[string]string{"a": "b", "b": "c"}},
			rec(0, "m", str("a", "1"), str("b", "2")), `"fields":{"b":"1","c":"2"}`, true},
		{"rename missing", FieldsConfig{Rename: map[string]string{"usr": "user"}},
			rec(0, "m", num("n", 1)), `"fields":{"n":1}`, false},
		{"message and level from fields, then remove", FieldsConfig{MessageFrom: "event.text", LevelFrom: "sev", Remove: []string{"sev", "nope"}},
			rec(0, "orig", record.Field{Key: "event", Value: record.ObjectValue([]record.Field{str("text", "hello")})}, str("sev", "WARNING")),
			`"level":"warn","severity":13,"message":"hello","format":"json","source":"app","fields":{"event":{"text":"hello"}}`, true},
		{"numeric level", FieldsConfig{LevelFrom: "sev"}, rec(0, "m", num("sev", 17)), `"level":"error"`, true},
		{"unknown level", FieldsConfig{LevelFrom: "sev"}, rec(record.SeverityInfo, "m", str("sev", "loud")), `"level":"info"`, false},
		{"message from a number", FieldsConfig{MessageFrom: "n"}, rec(0, "m", num("n", 42)), `"message":"42"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := append([]record.Field(nil), tc.in.Fields...)
			shared := tc.in.Fields
			c := mustBuild(t, Spec{Fields: &tc.cfg})
			out, _ := run(t, c, tc.in)
			js := string(out.AppendJSON(nil))
			if !strings.Contains(js, tc.want) {
				t.Errorf("got %s\nwant it to hold %s", js, tc.want)
			}
			if st := c.Stats()[0]; (st.Changed == 1) != tc.changed {
				t.Errorf("stats %+v, changed want %v", st, tc.changed)
			}
			for i := range orig {
				if shared[i] != orig[i] {
					t.Errorf("the input's fields were written to: %v", shared)
				}
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		cfg  ParseConfig
		in   record.Record
		want string
	}{
		{"named parser on the message", ParseConfig{Parser: "kv"}, rec(0, "msg=done level=warn took=3ms", str("a", "1")),
			`"level":"warn","severity":13,"message":"done","format":"json","source":"app","fields":{"a":"1","took":"3ms"}`},
		{"does not fit: unchanged", ParseConfig{Parser: "kv"}, rec(0, "plain words"), `"message":"plain words","format"`},
		{"field into target", ParseConfig{Field: "payload", Parser: "kv", Target: "p"}, rec(record.SeverityInfo, "m", str("payload", "user=bob id=7")),
			`"level":"info","severity":9,"message":"m","format":"json","source":"app","fields":{"payload":"user=bob id=7","p":{"user":"bob","id":"7"}}`},
		{"regex replaces a field", ParseConfig{Regex: `user (?P<user>\w+) from (?P<ip>[\d.]+)(?: port (?P<port>\d+))?`},
			rec(0, "user alice from 10.0.0.1", str("user", "?")), `"fields":{"user":"alice","ip":"10.0.0.1"}`},
		{"non-string field is left", ParseConfig{Field: "n", Parser: "kv"}, rec(0, "m", num("n", 1)), `"fields":{"n":1}`},
		{"nothing found: kept", ParseConfig{Regex: `(?:id=(?P<id>\d+))?`}, rec(0, "hello"), `"message":"hello","format":"json","source":"app"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := run(t, mustBuild(t, Spec{Parse: &tc.cfg}), tc.in)
			if js := string(out.AppendJSON(nil)); !strings.Contains(js, tc.want) {
				t.Errorf("got %s\nwant it to hold %s", js, tc.want)
			}
		})
	}
}

func TestSample(t *testing.T) {
	t.Run("1 in 4 by count, errors kept", func(t *testing.T) {
		c := mustBuild(t, Spec{Sample: &SampleConfig{Rate: 4}})
		var in []record.Record
		for i := 0; i < 100; i++ {
			in = append(in, rec(record.SeverityInfo, "x"), rec(record.SeverityError, "e"))
		}
		out, _ := c.Process(in, nil)
		infos, errs := 0, 0
		for _, r := range out {
			if r.Severity == record.SeverityError {
				errs++
			} else {
				infos++
			}
		}
		if infos != 25 || errs != 100 {
			t.Errorf("kept %d infos (want 25), %d errors (want 100)", infos, errs)
		}
	})
	t.Run("keep_level off samples errors", func(t *testing.T) {
		c := mustBuild(t, Spec{Sample: &SampleConfig{Rate: 2, KeepLevel: "off"}})
		in := []record.Record{rec(record.SeverityFatal, "a"), rec(record.SeverityFatal, "b")}
		if out, _ := c.Process(in, nil); len(out) != 1 {
			t.Errorf("kept %d of 2", len(out))
		}
	})
	t.Run("by key: a request is kept or dropped whole", func(t *testing.T) {
		a := mustBuild(t, Spec{Sample: &SampleConfig{Rate: 10, Key: "req"}})
		b := mustBuild(t, Spec{Sample: &SampleConfig{Rate: 10, Key: "req"}}) // another pod
		keptReqs := 0
		for req := int64(0); req < 2000; req++ {
			in := []record.Record{rec(record.SeverityInfo, "start", num("req", req)), rec(record.SeverityInfo, "end", num("req", req))}
			inB := append([]record.Record(nil), in...)
			out, _ := a.Process(in, nil)
			outB, _ := b.Process(inB, nil)
			if len(out) == 1 || len(out) != len(outB) {
				t.Fatalf("request %d: kept %d of 2 here, %d in the other chain", req, len(out), len(outB))
			}
			if len(out) == 2 {
				keptReqs++
			}
		}
		if keptReqs < 150 || keptReqs > 250 {
			t.Errorf("kept %d of 2000 requests, want about 200", keptReqs)
		}
	})
}

// fakeClock is a settable Env.Now.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time        { return f.t }
func (f *fakeClock) add(d time.Duration)   { f.t = f.t.Add(d) }
func throttleEnv(clk *fakeClock) (env Env) { env = testEnv(); env.Now = clk.now; return env }

func TestThrottle(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	c, err := Build([]Spec{{Name: "cap", Throttle: &ThrottleConfig{Limit: 2, Window: 10 * time.Second, Key: "{source}:{user}", MaxKeys: 2}}}, throttleEnv(clk))
	if err != nil {
		t.Fatal(err)
	}
	user := func(u string) record.Record { return rec(record.SeverityInfo, "hit", str("user", u)) }
	batch := func(users ...string) []record.Record {
		var b []record.Record
		for _, u := range users {
			b = append(b, user(u))
		}
		return b
	}
	out, _ := c.Process(batch("a", "a", "a", "a", "b", "c", "d", "d"), nil)
	// a: 2 kept, 2 dropped; b: kept; c, d: beyond max_keys, share one key:
	// c, d kept, the second d dropped.
	if len(out) != 5 {
		t.Fatalf("kept %d, want 5", len(out))
	}
	if st := c.Stats()[0]; st.Kept != 5 || st.Dropped != 3 {
		t.Errorf("stats %+v", st)
	}
	// The window has not ended: a flush reports what was dropped so far.
	clk.add(time.Second)
	sums := c.Flush()
	want := map[string]int64{"app:a": 2, overflowThrottleKey: 1}
	if len(sums) != len(want) {
		t.Fatalf("flush: %d summaries, want %d: %v", len(sums), len(want), sums)
	}
	for _, s := range sums {
		k, _ := s.Lookup("throttle_key")
		n, _ := s.Lookup("dropped")
		if want[k.Str()] != n.Int64() || s.Severity != record.SeverityWarn || s.Source != "app" {
			t.Errorf("summary %s", s.AppendJSON(nil))
		}
		if k.Str() == "app:a" && s.Message != "2 records dropped by throttle for key app:a" {
			t.Errorf("message %q", s.Message)
		}
	}
	if again := c.Flush(); len(again) != 0 {
		t.Errorf("reported twice: %v", again)
	}
	// Still in the window: a is over its limit.
	if out, _ := c.Process(batch("a"), nil); len(out) != 0 {
		t.Error("a let through inside its window")
	}
	// A new window: a is let through again, and the drop of the old
	// window is summarised with the batch that starts the new one.
	clk.add(10 * time.Second)
	out, _ = c.Process(batch("a"), nil)
	if len(out) != 2 || out[0].Message != "hit" || out[1].Message != "1 records dropped by throttle for key app:a" {
		t.Errorf("new window: %v", out)
	}
	// A flush after the window forgets idle keys; b's slot is free again.
	clk.add(20 * time.Second)
	c.Flush()
	th := c.procs[0].(*throttle)
	if len(th.keys) != 0 {
		t.Errorf("%d keys kept after their windows", len(th.keys))
	}
}

func TestThrottleDropOnly(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	c, err := Build([]Spec{{Throttle: &ThrottleConfig{Limit: 1, Excess: "drop"}}}, throttleEnv(clk))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := c.Process([]record.Record{rec(0, "a"), rec(0, "b"), rec(0, "c")}, nil)
	clk.add(time.Hour)
	if len(out) != 1 || len(c.Flush()) != 0 {
		t.Errorf("kept %d, summaries made with excess: drop", len(out))
	}
}

func TestSummaryRoutes(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	c, err := Build([]Spec{
		{Throttle: &ThrottleConfig{Limit: 1, Window: time.Second}},
		{Route: &RouteConfig{Rules: []RouteRule{{When: Condition{MinLevel: "trace"}, Exporters: []string{"stdout"}}}}},
	}, throttleEnv(clk))
	if err != nil {
		t.Fatal(err)
	}
	c.Process([]record.Record{rec(record.SeverityInfo, "a"), rec(record.SeverityInfo, "b")}, nil)
	clk.add(time.Second)
	out, routes := c.Process([]record.Record{rec(record.SeverityInfo, "c")}, nil)
	if len(out) != 2 || len(routes) != 2 || routes[0] != 0b001 || routes[1] != 0b111 {
		t.Errorf("out %d, routes %b", len(out), routes)
	}
}

func TestParseCounts(t *testing.T) {
	c := mustBuild(t, Spec{Parse: &ParseConfig{Regex: `id=(?P<id>\d+)`}})
	c.Process([]record.Record{rec(0, "id=7"), rec(0, "no id"), rec(0, "id=x")}, nil)
	if st := c.Stats()[0]; st.Changed != 1 || st.Kept != 2 || st.Dropped != 0 {
		t.Errorf("stats %+v, want 1 changed, 2 kept", st)
	}
}

// TestJSONInsideMessage runs the docs' recipe for JSON inside a message.
func TestJSONInsideMessage(t *testing.T) {
	env := testEnv()
	env.Parsers = func(name string) (ParseFunc, bool) {
		return func(text string) (record.Record, bool) {
			var m map[string]any
			if json.Unmarshal([]byte(text), &m) != nil {
				return record.Record{}, false
			}
			var r record.Record
			for _, k := range slices.Sorted(maps.Keys(m)) {
				r.Fields = append(r.Fields, str(k, fmt.Sprint(m[k])))
			}
			return r, true
		}, name == "json"
	}
	c, err := Build([]Spec{
		{Parse: &ParseConfig{Regex: `^(?P<text>[^{]*?) ?(?P<json>\{.*\})$`}},
		{Fields: &FieldsConfig{MessageFrom: "text"}},
		{Parse: &ParseConfig{Field: "json", Parser: "json"}},
		{Fields: &FieldsConfig{Remove: []string{"text", "json"}}},
	}, env)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := run(t, c, rec(record.SeverityInfo, `request done {"user":"bob","ms":12}`))
	want := `"message":"request done","format":"json","source":"app","fields":{"ms":"12","user":"bob"}}`
	if js := string(out.AppendJSON(nil)); !strings.HasSuffix(js, want) {
		t.Errorf("got %s\nwant it to end %s", js, want)
	}
}
