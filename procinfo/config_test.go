package procinfo

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // prefixes of the error lines; none = valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"cmdline grouping", func(c *Config) { c.GroupBy, c.GroupRegex = GroupByCmdline, `-jar (\S+)` }, nil},
		{"own listener", func(c *Config) { c.Listen = "127.0.0.1:9726" }, nil},
		{"interval too short", func(c *Config) { c.Interval = time.Millisecond }, []string{"interval: "}},
		{"empty roots", func(c *Config) { c.ProcRoot, c.SysRoot = "", "" }, []string{"proc_root: ", "sys_root: "}},
		{"bad redact pattern", func(c *Config) { c.Redact.Patterns = []string{"ok", "("} }, []string{"redact.patterns[1]: "}},
		{"unknown group_by", func(c *Config) { c.GroupBy = "user" }, []string{"group_by: "}},
		{"cmdline without regex", func(c *Config) { c.GroupBy = GroupByCmdline }, []string{"group_regex: "}},
		{"bad group regex", func(c *Config) { c.GroupBy, c.GroupRegex = GroupByCmdline, "(" }, []string{"group_regex: "}},
		{"regex without cmdline", func(c *Config) { c.GroupRegex = "x" }, []string{"group_regex: "}},
		{"no groups", func(c *Config) { c.MaxGroups = 0 }, []string{"max_groups: "}},
		{"negative durations", func(c *Config) { c.RestartWindow, c.MinLifetime = -1, -1 }, []string{"restart_window: ", "min_lifetime: "}},
		{"bad listen", func(c *Config) { c.Listen = "localhost" }, []string{"listen: "}},
		{"every events scope", func(c *Config) { c.EventsScope = ScopeChildren }, nil},
		{"unknown events scope", func(c *Config) { c.EventsScope = "host" }, []string{"events_scope: "}},
		{"empty events scope", func(c *Config) { c.EventsScope = "" }, []string{"events_scope: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.modify(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("errors %q, want %d", lines, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %q does not start with %q", lines[i], w)
				}
			}
		})
	}
}

// TestConfigYAML decodes a documented example strictly over the defaults, as
// the composition root does.
func TestConfigYAML(t *testing.T) {
	src := `
enabled: true
interval: 2s
proc_root: /host/proc
sys_root: /host/sys
redact:
  enabled: true
  patterns: ['sk_live_\w+']
hide_cmdline: false
group_by: cmdline
group_regex: '-jar (\S+)\.jar'
max_groups: 20
restart_window: 1m
min_lifetime: 10s
events: false
events_scope: pod
listen: 127.0.0.1:9726
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Interval != 2*time.Second || c.RestartWindow != time.Minute || c.MaxGroups != 20 || c.Events || c.EventsScope != ScopePod || c.Listen != "127.0.0.1:9726" {
		t.Errorf("decoded %+v", c)
	}
}
