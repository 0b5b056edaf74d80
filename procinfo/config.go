// Package procinfo gives every process in the pod one interface: a JSON API
// (/api/v1/processes, /api/v1/processes/{pid}, /api/v1/host), Prometheus
// metrics built at scrape time, and lifecycle records (start, exit, restart)
// handed to the pipeline. It reads /proc directly (one cached snapshot shared
// by all readers) and uses gopsutil for host-wide figures.
package procinfo

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"
)

// Config is the `procinfo` section of the configuration.
type Config struct {
	// Enabled is consulted by the composition root, which builds nothing when false.
	Enabled bool `yaml:"enabled"`
	// Interval is how long one snapshot is shared, and how often Run samples.
	Interval time.Duration `yaml:"interval"`
	// ProcRoot is where procfs is mounted; tests point it at a fixture tree.
	ProcRoot string `yaml:"proc_root"`
	// SysRoot is where sysfs is mounted; cgroup limits are read below it.
	SysRoot       string        `yaml:"sys_root"`
	Redact        RedactConfig  `yaml:"redact"`
	HideCmdline   bool          `yaml:"hide_cmdline"`
	GroupBy       string        `yaml:"group_by"`
	GroupRegex    string        `yaml:"group_regex"`
	MaxGroups     int           `yaml:"max_groups"`
	RestartWindow time.Duration `yaml:"restart_window"`
	MinLifetime   time.Duration `yaml:"min_lifetime"`
	Events        bool          `yaml:"events"`
	// EventsScope chooses the processes lifecycle records are made for (one
	// of the Scope constants); the API and metrics always cover every process.
	EventsScope string `yaml:"events_scope"`
	// Listen, when set, asks the composition root to serve Handler on its own
	// address (with the same web config as /metrics) instead of the main listener.
	Listen string `yaml:"listen"`
}

// RedactConfig controls the masking of secret-looking command-line values.
type RedactConfig struct {
	Enabled bool `yaml:"enabled"`
	// Patterns are extra regular expressions, applied after the built-in rules.
	// A pattern with a capture group masks only the first group's text.
	Patterns []string `yaml:"patterns"`
}

// Group-by modes.
const (
	GroupByName    = "name"
	GroupByCmdline = "cmdline"
)

// Event scopes: which processes lifecycle records are made for.
const (
	// ScopeAuto is ScopePod when PID 1 is a pod's pause process (a shared
	// process namespace), else ScopeChildren.
	ScopeAuto = "auto"
	// ScopePod is every process in the PID namespace but kernel threads: with
	// shareProcessNamespace, the pod's containers.
	ScopePod = "pod"
	// ScopeChildren is the adapter's own descendants (children, grandchildren).
	ScopeChildren = "children"
	// ScopeAll is every process the proc root shows, kernel threads included.
	ScopeAll = "all"
)

// DefaultConfig is the sidecar's default: on, 5 s snapshots, secrets redacted.
func DefaultConfig() Config {
	return Config{
		Enabled:       true,
		Interval:      5 * time.Second,
		ProcRoot:      "/proc",
		SysRoot:       "/sys",
		Redact:        RedactConfig{Enabled: true},
		GroupBy:       GroupByName,
		MaxGroups:     50,
		RestartWindow: 30 * time.Second,
		MinLifetime:   5 * time.Second,
		Events:        true,
		EventsScope:   ScopeAuto,
	}
}

// Validate reports every invalid key, each message starting with its path.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("interval: %s is below the minimum of 100ms", c.Interval))
	}
	if c.ProcRoot == "" {
		errs = append(errs, errors.New("proc_root: must not be empty"))
	}
	if c.SysRoot == "" {
		errs = append(errs, errors.New("sys_root: must not be empty"))
	}
	for i, p := range c.Redact.Patterns {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, fmt.Errorf("redact.patterns[%d]: %q: %w", i, p, err))
		}
	}
	switch c.GroupBy {
	case GroupByName:
		if c.GroupRegex != "" {
			errs = append(errs, errors.New("group_regex: only used with group_by: cmdline"))
		}
	case GroupByCmdline:
		if c.GroupRegex == "" {
			errs = append(errs, errors.New("group_regex: required with group_by: cmdline"))
		} else if _, err := regexp.Compile(c.GroupRegex); err != nil {
			errs = append(errs, fmt.Errorf("group_regex: %q: %w", c.GroupRegex, err))
		}
	default:
		errs = append(errs, fmt.Errorf("group_by: %q is not one of name, cmdline", c.GroupBy))
	}
	if c.MaxGroups < 1 {
		errs = append(errs, fmt.Errorf("max_groups: %d must be at least 1", c.MaxGroups))
	}
	if c.RestartWindow < 0 {
		errs = append(errs, fmt.Errorf("restart_window: %s must not be negative", c.RestartWindow))
	}
	if c.MinLifetime < 0 {
		errs = append(errs, fmt.Errorf("min_lifetime: %s must not be negative", c.MinLifetime))
	}
	switch c.EventsScope {
	case ScopeAuto, ScopePod, ScopeChildren, ScopeAll:
	default:
		errs = append(errs, fmt.Errorf("events_scope: %q is not one of auto, pod, children, all", c.EventsScope))
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			errs = append(errs, fmt.Errorf("listen: %q is not host:port", c.Listen))
		}
	}
	return errors.Join(errs...)
}
