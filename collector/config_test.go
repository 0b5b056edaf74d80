package collector

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfigFixtures checks every testdata/config file: *.good.yaml must be
// valid, *.bad.yaml must fail with an error that names the key.
func TestConfigFixtures(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "shop")
	wantErr := map[string]string{
		"unknown-key.bad.yaml":                      `line 5: sources[0].strat_at: unknown key; did you mean "start_at"?`,
		"unknown-top-key.bad.yaml":                  `line 3: exporter: unknown key; did you mean "exporters"?`,
		"bad-type.bad.yaml":                         `line 5: sources[0].max_line_bytes: must be a whole number of bytes`,
		"many-problems.bad.yaml":                    `line 6: sources[0].strat_at: unknown key; did you mean "start_at"?`,
		"bad-source-type.bad.yaml":                  `sources[0].type: "files" is not one of file, stdin, exec, pod`,
		"duplicate-name.bad.yaml":                   `sources[1].name: "app" is already the name of sources[0]`,
		"missing-include.bad.yaml":                  "sources[0].include: at least one glob is required",
		"unset-env.bad.yaml":                        "environment variable OBSADAPTER_TEST_UNSET_VAR is not set",
		"bad-start-at.bad.yaml":                     `sources[0].start_at: "middle" is not beginning or end`,
		"bad-listen.bad.yaml":                       `http.listen: "9725" is not host:port`,
		"exec-without-command.bad.yaml":             "sources[0].command: required",
		"include-on-stdin.bad.yaml":                 "sources[0].include: only applies to sources of type file",
		"bad-format.bad.yaml":                       "sources[0].format",
		"no-exporters.bad.yaml":                     "exporters: every exporter is disabled",
		"empty.bad.yaml":                            "config: the file is empty",
		"fluent-file-buffer-without-state.bad.yaml": `exporters.fluent.buffer.type: "file" needs state_dir`,
		"processors.bad.yaml":                       `line 8: sources[0].processors[0].filter.drop.message_regex: error parsing regexp`,
		"otlp-file-buffer-without-state.bad.yaml":   `line 4: exporters.otlp.buffer.type: "file" needs state_dir`,
	}
	files, _ := filepath.Glob("../testdata/config/*.yaml")
	if len(files) == 0 {
		t.Fatal("no config fixtures found")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err == nil {
				err = cfg.Validate()
			}
			switch {
			case strings.HasSuffix(name, ".good.yaml"):
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
			case strings.HasSuffix(name, ".bad.yaml"):
				want, ok := wantErr[name]
				if !ok {
					t.Fatalf("bad fixture %s has no expected error in this table", name)
				}
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error = %v\nwant it to contain %q", err, want)
				}
			default:
				t.Fatalf("fixture %s is neither .good.yaml nor .bad.yaml", name)
			}
		})
	}
}

func TestConfigDefaultsAndEnv(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "shop")
	cfg, err := LoadConfig("../testdata/config/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kubernetes.Namespace != "shop" {
		t.Errorf("${POD_NAMESPACE:-default} = %q, want shop", cfg.Kubernetes.Namespace)
	}
	job := cfg.Sources[2]
	if job.Buffer.OnFull != "drop_oldest" || job.MaxLineBytes != 1<<20 || job.StartAt != "end" {
		t.Errorf("exec source = %+v: per-source defaults not filled under explicit keys", job)
	}
	if cfg.Sources[0].MultilineTimeout != 2*time.Second || cfg.Sources[0].PollInterval != 500*time.Millisecond {
		t.Errorf("durations not decoded: %+v", cfg.Sources[0])
	}
	def, err := ParseConfig(DefaultYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := def.Validate(); err != nil {
		t.Fatalf("the embedded default is invalid: %v", err)
	}
}

func TestExpandEnv(t *testing.T) {
	t.Setenv("OBS_SET", "value")
	t.Setenv("OBS_EMPTY", "")
	os.Unsetenv("OBS_UNSET")
	tests := []struct {
		in, want string
		err      bool
	}{
		{"plain", "plain", false},
		{"${OBS_SET}", "value", false},
		{"a-${OBS_SET}-b", "a-value-b", false},
		{"${OBS_UNSET:-fallback}", "fallback", false},
		{"${OBS_EMPTY:-fallback}", "fallback", false},
		{"$${OBS_SET}", "${OBS_SET}", false},
		{"price $5 and end$", "price $5 and end$", false},
		{"${OBS_UNSET}", "", true},
		{"${OBS_SET", "", true},
		{"${1BAD}", "", true},
	}
	for _, tt := range tests {
		got, err := expandEnv(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestConfigProblems checks that one run reports every problem of a file,
// each as "line N: key.path: message", sorted by line, whether the decoder
// or Validate finds it.
func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // the whole list, in order
	}{
		{
			name: "processors: every problem of both lists, at its key's line",
			yaml: `sources:
  - name: app
    type: file
    include: ["/x/*.log"]
    processors:
      - filter:
          drop: {message_regex: "(oops"}
      - route: {rules: [{when: {min_level: debug}, exporters: [fluentd]}]}
      - {name: shared, fields: {add: {team: a}}}
processors:
  - throttle: {limit: 0, window: 1m}
  - filter: {keep: {min_level: info}}
    redact: {}
  - {name: shared, redact: {}}
exporters:
  stdout: {enabled: true}
`,
			want: []string{
				"line 7: sources[0].processors[0].filter.drop.message_regex: error parsing regexp: missing closing ): `(oops`",
				`line 8: sources[0].processors[1].route.rules[0].exporters[0]: "fluentd" is not an enabled exporter (enabled: [stdout prometheus])`,
				`line 11: processors[0].throttle.limit: at most limit records per window: limit must be at least 1, got 0`,
				`line 12: processors[1]: exactly one of filter, redact, sample, throttle, fields, parse, route must be set, found 2`,
				// the source's chain is both lists: a name may not repeat across them
				`line 14: processors[2].name: "shared" is also the name of processor [2]; names label metrics and must differ`,
			},
		},
		{
			name: "processors: the shape of the lists, checked like every other key",
			yaml: `sources:
  - name: app
    type: file
    include: ["/x/*.log"]
    processors: [redact, {redact: {rulez: [jwt]}}]
processors: {filter: {}}
`,
			want: []string{
				`line 5: sources[0].processors[0]: must be a section of keys (fields, filter, name, parse, ...), not the single value "redact"`,
				`line 5: sources[0].processors[1].redact.rulez: unknown key; did you mean "rules"?`,
				`line 6: processors: must be a list of processors, e.g. "- filter: {keep: {min_level: info}}" lines, one per step, not a section of keys`,
			},
		},
		{
			name: "the issue's example: two misspelt keys, both with lines and suggestions",
			yaml: `# two typos
sources:
  - name: app
    type: file
    include: ["/var/log/app/*.log"]
    strat_at: beginning
exporters:
  prometheus: {enabled: true}
  stdout:
    enabeld: true
`,
			want: []string{
				`line 6: sources[0].strat_at: unknown key; did you mean "start_at"?`,
				`line 10: exporters.stdout.enabeld: unknown key; did you mean "enabled"?`,
			},
		},
		{
			name: "everything at once",
			yaml: `sources:
  - name: app
    type: file
    include: /var/log/app/*.log
    strat_at: beginning
    format: regex
    regex: '^(?P<time>\S+) (?P<message>.*$'
    poll_interval: 5 mins
    max_line_bytes: 1MiB
exporters:
  stdout: {enabeld: true}
  fluent:
    enabled: true
    address: "fluentd:notaport"
shutdown: {drain_timeout: 20}
`,
			want: []string{
				`line 4: sources[0].include: must be a list of globs, e.g. ["/var/log/app/*.log"]; for just one, write ["/var/log/app/*.log"]`,
				`line 5: sources[0].strat_at: unknown key; did you mean "start_at"?`,
				"line 7: sources[0].regex: error parsing regexp: missing closing ): `^(?P<time>\\S+) (?P<message>.*$`",
				`line 8: sources[0].poll_interval: "5 mins" is not a duration; write a number and a unit (ms, s, m, h), e.g. "30s", "500ms" or "1m30s"; did you mean "5m"?`,
				`line 9: sources[0].max_line_bytes: sizes are whole numbers of bytes, not "1MiB"; write 1048576 for 1 MiB`,
				`line 11: exporters.stdout.enabeld: unknown key; did you mean "enabled"?`,
				`line 14: exporters.fluent.address: "fluentd:notaport": port must be a number from 1 to 65535, not "notaport"`,
				`line 15: shutdown.drain_timeout: "20" has no unit; write e.g. "20s" or "20ms"`,
			},
		},
		{
			name: "Validate's problems alone, each at the line of its key or value",
			yaml: `sources:
  - name: app
    type: file
    include: ["/x/*.log"]
    format: regex
    regex:
      '(oops'
  - {name: app, type: file, include: ["/y/*.log"], start_at: middle}
exporters:
  fluent: {address: "fluentd", failover: ["ok:24224", ":24224"]}
http: {listen: "9725"}
procinfo:
  redact: {patterns: ["(bad"]}
`,
			want: []string{
				"line 7: sources[0].regex: error parsing regexp: missing closing ): `(oops`",
				`line 8: sources[1].name: "app" is already the name of sources[0]`,
				`line 8: sources[1].start_at: "middle" is not beginning or end`,
				`line 10: exporters.fluent.address: "fluentd" is not host:port: the port is missing, e.g. "fluentd:24224"`,
				`line 10: exporters.fluent.failover[1]: ":24224" has no host, e.g. "fluentd:24224"`,
				`line 11: http.listen: "9725" is not host:port: the port needs a colon; write ":9725" to listen on every interface`,
				"line 13: procinfo.redact.patterns[0]: \"(bad\": error parsing regexp: missing closing ): `(bad`",
			},
		},
		{
			name: "wrong shapes, plainly; a missing key at its section's line",
			yaml: `sources:
  - name: app
    type: file
    command: /bin/app
    buffer: 5
    multiline: sometimes
  - name: b
    type: file
    include: ["/b/*.log"]
    name: c
exporters: {prometheus: {enabled: maybe, metrics: {name: x}}}
http: [":9725"]
`,
			want: []string{
				`line 2: sources[0].include: at least one glob is required for a file source`,
				`line 4: sources[0].command: must be a list of the program and its arguments, e.g. ["/app", "--flag"]; for just one, write ["/bin/app"]`,
				`line 5: sources[0].buffer: must be a section of keys (max_bytes, max_lines, on_full), not the single value "5"`,
				`line 6: sources[0].multiline: multiline must be auto, off or {start: REGEX}, not "sometimes"`,
				`line 10: sources[1].name: appears twice in the same section (first on line 7); keep one`,
				`line 11: exporters.prometheus.enabled: must be true or false, not "maybe"`,
				`line 11: exporters.prometheus.metrics: must be a list of metric rules, e.g. "- name: app_errors_total" lines, one per rule, not a section of keys`,
				`line 12: http: must be a section of keys (enable_reload, expose_samples, listen, tap, ...), not a list`,
			},
		},
		{
			name: "an unknown key far from any known one lists the keys",
			yaml: `sources: [{name: a, type: stdin}]
log: {colour: true}
`,
			want: []string{`line 2: log.colour: unknown key; the keys here are format, level`},
		},
		{
			name: "who may tap is one of three words",
			yaml: `sources: [{name: a, type: stdin}]
http: {tap: everyone}
`,
			want: []string{`line 2: http.tap: "everyone" is not loopback, any or off`},
		},
		{
			name: "not YAML",
			yaml: "sources:\n  - name: a\n    type: file: x\n",
			want: []string{`line 3: not valid YAML: mapping values are not allowed in this context`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				err = cfg.Validate()
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v (%T), want a *ConfigError", err, err)
			}
			got := strings.Split(ce.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestConfigFlagsNamed checks that a problem with a value a flag set names
// the flag, not the line the file had for that key.
func TestConfigFlagsNamed(t *testing.T) {
	cfg, err := ParseConfig([]byte("sources:\n  - {name: app, type: file, include: [\"/x\"]}\nhttp: {listen: \":9725\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ApplyFlags(&cfg, Flags{Listen: "localhost", Fluent: "fluentd:http"})
	err = cfg.Validate()
	want := `exporters.fluent.address (set by --fluent): "fluentd:http": port must be a number from 1 to 65535, not "http"` + "\n" +
		`http.listen (set by --listen): "localhost" is not host:port: the port is missing, e.g. ":9725"`
	if err == nil || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestAddressProblem(t *testing.T) {
	for _, tt := range []struct {
		addr   string
		listen bool
		ok     bool
	}{
		{"fluentd:24224", false, true},
		{"[::1]:24224", false, true},
		{"10.0.0.1:1", false, true},
		{"fluentd:notaport", false, false},
		{"fluentd:0", false, false},
		{"fluentd:65536", false, false},
		{":24224", false, false},
		{"::1:24224", false, false},
		{"", false, false},
		{":9725", true, true},
		{"127.0.0.1:0", true, true},
		{"9725", true, false},
		{":http", true, false},
		{"", true, false},
	} {
		if got := addressProblem(tt.addr, tt.listen); (got == "") != tt.ok {
			t.Errorf("addressProblem(%q, listen=%v) = %q, want ok=%v", tt.addr, tt.listen, got, tt.ok)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"enabled", "include", "max_line_bytes", "start_at", "type"}
	for key, want := range map[string]string{
		"strat_at": "start_at", "enabeld": "enabled", "StartAt": "start_at", "start-at": "start_at",
		"includes": "include", "typ": "type", "max_lines_bytes": "max_line_bytes",
		"colour": "", "ab": "", "format": "",
	} {
		if got := suggest(key, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
