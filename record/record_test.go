package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendJSON(t *testing.T) {
	ts := time.Date(2026, 11, 23, 20, 31, 2, 123000000, time.UTC)
	obs := time.Date(2026, 11, 23, 20, 31, 2, 201000000, time.FixedZone("X", 3600))
	tests := []struct {
		name string
		rec  Record
		want string
	}{
		{
			name: "contract example",
			rec: Record{
				Time: ts, ObservedTime: obs, Severity: SeverityError, Message: "db down", Format: "json",
				Source: "app", Path: "/var/log/app/app.log", Stream: "stdout",
				Fields: []Field{
					{Key: "user", Value: StringValue("bob")},
					{Key: "http", Value: ObjectValue([]Field{{Key: "status", Value: IntValue(500)}})},
				},
			},
			want: `{"time":"2026-11-23T20:31:02.123Z","observed_time":"2026-11-23T19:31:02.201Z","level":"error","severity":17,"message":"db down","format":"json","source":"app","path":"/var/log/app/app.log","stream":"stdout","fields":{"user":"bob","http":{"status":500}}}`,
		},
		{
			name: "minimal record omits optional keys",
			rec:  Record{ObservedTime: ts, Message: ""},
			want: `{"observed_time":"2026-11-23T20:31:02.123Z","message":""}`,
		},
		{
			name: "escapes, invalid utf8, truncation and kubernetes",
			rec: Record{ObservedTime: ts, Message: "a\"b\\c\n\x01\xff€", Truncated: true, Severity: 10,
				Kubernetes: &Kubernetes{Namespace: "ns", Pod: "p", Container: "c"}},
			want: `{"observed_time":"2026-11-23T20:31:02.123Z","level":"info","severity":10,"message":"a\"b\\c\n\u0001�€","kubernetes":{"namespace":"ns","pod":"p","container":"c"},"truncated":true}`,
		},
		{
			name: "value kinds",
			rec: Record{ObservedTime: ts, Fields: []Field{
				{Key: "f", Value: FloatValue(1.5)}, {Key: "big", Value: FloatValue(1e21)}, {Key: "b", Value: BoolValue(true)},
				{Key: "n", Value: NullValue()}, {Key: "a", Value: ArrayValue([]Value{IntValue(-1), StringValue("x")})},
			}},
			want: `{"observed_time":"2026-11-23T20:31:02.123Z","message":"","fields":{"f":1.5,"big":1e+21,"b":true,"n":null,"a":[-1,"x"]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.rec.AppendJSON(nil))
			if got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("invalid JSON: %s", got)
			}
			var back Record
			if err := json.Unmarshal([]byte(got), &back); err != nil {
				t.Fatal(err)
			}
			if again := string(back.AppendJSON(nil)); again != got {
				t.Fatalf("round trip changed the record:\n%s\n%s", again, got)
			}
		})
	}
}

func TestSeverityLevels(t *testing.T) {
	tests := []struct {
		sev  Severity
		want string
	}{{0, ""}, {1, "trace"}, {4, "trace"}, {5, "debug"}, {9, "info"}, {12, "info"}, {13, "warn"}, {17, "error"}, {21, "fatal"}, {24, "fatal"}, {30, "fatal"}}
	for _, tt := range tests {
		if got := tt.sev.Level().String(); got != tt.want {
			t.Errorf("Severity(%d).Level() = %q, want %q", tt.sev, got, tt.want)
		}
	}
	for _, l := range Levels {
		if l.Severity().Level() != l {
			t.Errorf("level %s does not round-trip through its severity", l)
		}
		if back, ok := LevelFromString(l.String()); !ok || back != l {
			t.Errorf("LevelFromString(%q) = %v, %v", l, back, ok)
		}
	}
}

func TestLookup(t *testing.T) {
	r := Record{Fields: []Field{
		{Key: "http", Value: ObjectValue([]Field{{Key: "status", Value: IntValue(503)}})},
		{Key: "req.id", Value: StringValue("abc")},
	}}
	for path, want := range map[string]string{"http.status": "503", "req.id": "abc", "http": `{"status":503}`} {
		v, ok := r.Lookup(path)
		if !ok || v.String() != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", path, v.String(), ok, want)
		}
	}
	if _, ok := r.Lookup("http.missing"); ok {
		t.Error("Lookup of a missing nested key succeeded")
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := Record{Time: time.Now(), ObservedTime: time.Now(), Severity: SeverityInfo, Message: "request served in 12ms",
		Format: "logfmt", Source: "app", Path: "/var/log/app/app.log",
		Fields: []Field{{Key: "method", Value: StringValue("GET")}, {Key: "status", Value: StringValue("200")}}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendJSON(buf[:0])
	}
}

// TestCleanLine: the clean line is found again from the message, only
// when the message is a part of it, and is dropped on request.
func TestCleanLine(t *testing.T) {
	line := "ts=1 msg=started user=bob"
	r := Record{Message: line[9:16]}
	if !r.SetCleanLine(line, true, false) {
		t.Fatal("SetCleanLine refused a line holding the message")
	}
	if got, names, only := r.CleanLine(); got != line || !names || only {
		t.Errorf("CleanLine = %q, %v, %v", got, names, only)
	}
	r.DropCleanLine()
	if got, _, _ := r.CleanLine(); got != "" {
		t.Errorf("after DropCleanLine: %q", got)
	}
	for _, tc := range []struct{ name, msg, line string }{
		{"no message", "", line},
		{"a copy of the message", strings.Clone(line[9:16]), line},
		{"a message running past the line", line[9:16], line[:12]},
	} {
		r := Record{Message: line[9:16]}
		r.SetCleanLine(line, true, true)
		r.Message = tc.msg
		if r.SetCleanLine(tc.line, true, true) {
			t.Errorf("%s: SetCleanLine took it", tc.name)
		}
		if got, _, _ := r.CleanLine(); got != "" {
			t.Errorf("%s: the line set before is kept: %q", tc.name, got)
		}
	}
}

// TestUncheckedLine: a line kept unchecked is no clean line until
// CheckedLine passes it, with the check's names, or is dropped when the
// check does not; the check runs once, on that line.
func TestUncheckedLine(t *testing.T) {
	line := "ts=1 msg=started user=bob"
	for _, tc := range []struct {
		name         string
		parts, names bool
		want         string
	}{
		{"passed, naming no secret", true, true, line},
		{"passed, naming one", true, false, line},
		{"not passed", false, true, ""},
	} {
		r := Record{Message: line[9:16]}
		r.SetUncheckedLine(line, line, true)
		if got, _, _ := r.CleanLine(); got != "" {
			t.Errorf("%s: an unchecked line is clean: %q", tc.name, got)
		}
		calls := 0
		check := func(l string) (bool, bool) {
			calls++
			if l != line {
				t.Errorf("%s: checked %q", tc.name, l)
			}
			return tc.parts, tc.names
		}
		r.CheckedLine(check)
		got, names, only := r.CheckedLine(check)
		if g, n, o := r.CleanLine(); g != got || n != names || o != only {
			t.Errorf("%s: CleanLine = %q, %v, %v; CheckedLine said %q, %v, %v", tc.name, g, n, o, got, names, only)
		}
		if got != tc.want || got != "" && (names != tc.names || !only) || calls != 1 {
			t.Errorf("%s: CleanLine = %q, %v, %v after %d checks", tc.name, got, names, only, calls)
		}
	}
	// A line set clean over an unchecked one needs no check.
	r := Record{Message: line[9:16]}
	r.SetUncheckedLine(line, line, true)
	r.SetCleanLine(line, true, false)
	r.CheckedLine(func(string) (bool, bool) { t.Error("a clean line checked"); return false, false })
	if got, _, _ := r.CleanLine(); got != line {
		t.Errorf("CleanLine = %q", got)
	}
}

// TestUncheckedLineRoom: a message the parser made after the line, in the
// line's room, finds the line again, and the clean line is the line and
// the room after it; one elsewhere, or past the room, does not.
func TestUncheckedLineRoom(t *testing.T) {
	room := `msg="a \"b\"" user=bob` + `a "b"`
	line, made := room[:22], room[22:]
	for _, tc := range []struct {
		name, msg, line, room string
		want                  string
	}{
		{"made in the room", made, line, room, room},
		{"in the line", line[5:12], line, room, room},
		{"from a place in the line", made, line[4:], room, room[4:]},
		{"running past the room", made, line, room[:len(room)-1], ""},
		{"a copy", strings.Clone(made), line, room, ""},
		{"before the line", room[:3], line[4:], room, ""},
		{"empty, though its address lies in the room", made[:0], line, room, ""},
	} {
		r := Record{Message: tc.msg}
		r.SetUncheckedLine(tc.line, tc.room, true)
		got, _, _ := r.CheckedLine(func(string) (bool, bool) { return true, true })
		if got != tc.want {
			t.Errorf("%s: CleanLine = %q, want %q", tc.name, got, tc.want)
		}
	}
}
