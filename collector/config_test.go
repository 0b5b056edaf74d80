package collector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigFixtures checks every testdata/config file: *.good.yaml must be
// valid, *.bad.yaml must fail with an error that names the key.
func TestConfigFixtures(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "shop")
	wantErr := map[string]string{
		"unknown-key.bad.yaml":                      "sources[0].strat_at (line 5): unknown key",
		"unknown-top-key.bad.yaml":                  "exporter (line 3): unknown key",
		"bad-type.bad.yaml":                         "sources[0]",
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
