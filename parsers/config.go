// Package parsers turns raw log lines into unified records: container
// envelopes (CRI, docker json-file) are unwrapped and rejoined, every inner
// line's format is detected (or forced), multiline records such as stack
// traces are assembled, and level, time and message are normalized.
//
// Each format lives in its own file as a pure function from a line to a
// record. Stream is the only stateful part: one per source stream, driven by
// its source with an explicit clock, holding partial envelope lines,
// multiline records and the sticky format. It does no I/O and starts no
// goroutines.
package parsers

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config holds the per-source parsing options, embedded inline in each
// source's YAML.
type Config struct {
	// Format is "auto", a format name from Formats, or "regex".
	Format string `yaml:"format"`
	// Regex is the RE2 pattern of format "regex": named groups time, level and
	// message fill the record, every other named group becomes a field.
	Regex string `yaml:"regex"`
	// TimeLayout is the Go layout of the regex's time group; empty tries the
	// layouts the built-in formats understand.
	TimeLayout string `yaml:"time_layout"`
	// Multiline is "auto", "off" or {start: REGEX}.
	Multiline Multiline `yaml:"multiline"`
	// MultilineTimeout is how long a record waits for more lines (or a
	// partial envelope line for its rest) before it is emitted.
	MultilineTimeout time.Duration `yaml:"multiline_timeout"`
	// MaxRecordBytes bounds a joined record; the excess is cut and the record
	// marked truncated.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// Timezone is the IANA zone of times that state none; empty means the
	// process's local zone (TZ is honoured).
	Timezone string `yaml:"timezone"`
	// AccessLogLevels derives a level for access-log records (clf, envoy)
	// from their status: 5xx error, 4xx warn, else info. Off, they have none:
	// a status is not a severity.
	AccessLogLevels bool `yaml:"access_log_levels"`
}

// MultilineMode says how lines are joined into records.
type MultilineMode uint8

const (
	MultilineAuto  MultilineMode = iota // stack traces and indented continuations
	MultilineOff                        // one line, one record
	MultilineStart                      // a line matching Start begins a record
)

// Multiline is the multiline setting: YAML "auto", "off" or {start: REGEX}.
type Multiline struct {
	Mode  MultilineMode
	Start string // the start-line pattern of MultilineStart
}

// UnmarshalYAML accepts the scalar forms "auto" and "off" and the mapping
// form {start: REGEX}.
func (m *Multiline) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Value {
		case "auto", "":
			*m = Multiline{Mode: MultilineAuto}
		case "off":
			*m = Multiline{Mode: MultilineOff}
		default:
			return fmt.Errorf("line %d: multiline must be auto, off or {start: REGEX}, not %q", n.Line, n.Value)
		}
		return nil
	case yaml.MappingNode:
		var v struct {
			Start string `yaml:"start"`
		}
		if err := n.Decode(&v); err != nil {
			return err
		}
		if len(n.Content) != 2 || n.Content[0].Value != "start" {
			return fmt.Errorf("line %d: multiline mapping takes exactly one key, start", n.Line)
		}
		*m = Multiline{Mode: MultilineStart, Start: v.Start}
		return nil
	}
	return fmt.Errorf("line %d: multiline must be auto, off or {start: REGEX}", n.Line)
}

// MarshalYAML writes the form UnmarshalYAML reads, so effective configs
// print back as they were written.
func (m Multiline) MarshalYAML() (any, error) {
	switch m.Mode {
	case MultilineOff:
		return "off", nil
	case MultilineStart:
		return map[string]string{"start": m.Start}, nil
	}
	return "auto", nil
}

// DefaultConfig is auto-detection, automatic multiline with a one second
// timeout, records of at most 1 MiB and the process's time zone.
func DefaultConfig() Config {
	return Config{
		Format:           "auto",
		Multiline:        Multiline{Mode: MultilineAuto},
		MultilineTimeout: time.Second,
		MaxRecordBytes:   1 << 20,
	}
}

// Validate reports every invalid key, each message starting with its key.
func (c Config) Validate() error {
	_, err := Compile(c)
	return err
}

// Compiled is a validated Config with what its streams share: the time zone
// and the compiled patterns, all safe for concurrent use. A source tailing
// thousands of files compiles its config once, so a file's stream costs no
// zone database read and no regex compile.
type Compiled struct {
	cfg      Config
	loc      *time.Location
	forced   int // index into formats, or -1 for detection
	envelope string
	regex    *regexParser
	start    *regexp.Regexp
}

// Compile validates cfg, reporting every invalid key as Validate does, and
// prepares what its streams share.
func Compile(cfg Config) (*Compiled, error) {
	c := &Compiled{cfg: cfg, loc: time.Local, forced: -1}
	var errs []error
	switch cfg.Format {
	case "auto", "", "regex":
	case envelopeCRI, envelopeDocker:
		c.envelope = cfg.Format
	default:
		if c.forced = formatIndex(cfg.Format); c.forced < 0 {
			errs = append(errs, fmt.Errorf("format: unknown format %q (known: auto, regex, %s)", cfg.Format, strings.Join(Formats(), ", ")))
		}
	}
	if cfg.Format == "regex" {
		if cfg.Regex == "" {
			errs = append(errs, errors.New("regex: required when format is regex"))
		} else if rp, err := newRegexParser(cfg.Regex, cfg.TimeLayout); err != nil {
			errs = append(errs, err)
		} else if !hasGroup(rp.re, "message") && !hasGroup(rp.re, "time") && !hasGroup(rp.re, "level") {
			errs = append(errs, errors.New("regex: missing named group: the pattern needs at least one of (?P<time>…), (?P<level>…), (?P<message>…)"))
		} else {
			c.regex = rp
		}
	} else if cfg.Regex != "" {
		errs = append(errs, fmt.Errorf("regex: only used with format regex, not %q", cfg.Format))
	}
	if cfg.TimeLayout != "" && cfg.Format != "regex" {
		errs = append(errs, fmt.Errorf("time_layout: only used with format regex, not %q", cfg.Format))
	}
	if cfg.Multiline.Mode == MultilineStart {
		if cfg.Multiline.Start == "" {
			errs = append(errs, errors.New("multiline.start: empty pattern"))
		} else if re, err := regexp.Compile(cfg.Multiline.Start); err != nil {
			errs = append(errs, fmt.Errorf("multiline.start: %w", err))
		} else {
			c.start = re
		}
	}
	if cfg.MultilineTimeout <= 0 {
		errs = append(errs, fmt.Errorf("multiline_timeout: must be positive, not %s", cfg.MultilineTimeout))
	}
	if cfg.MaxRecordBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_record_bytes: must be at least 1024, not %d", cfg.MaxRecordBytes))
	}
	if cfg.Timezone != "" {
		if loc, err := time.LoadLocation(cfg.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("timezone: %w", err))
		} else {
			c.loc = loc
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func hasGroup(re *regexp.Regexp, name string) bool { return re.SubexpIndex(name) >= 0 }

// Formats lists every format name a config may force, in detection order.
func Formats() []string {
	names := make([]string, 0, len(formats)+2)
	names = append(names, envelopeCRI, envelopeDocker)
	for _, f := range formats {
		names = append(names, f.name)
	}
	return names
}
