package collector

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/obsadapter/obsadapter/parsers"
)

// Flags are the `run` command's overrides of the config.
type Flags struct {
	Include []string // replaces the first file source's include (one is added when there is none)
	StartAt string   // for every file and pod source
	Fluent  string   // enables the Fluentd exporter at this address
	OTLP    string   // enables the OTLP exporter with this endpoint
	Listen  string   // http.listen
}

// ApplyFlags lays the command-line flags over a config. The keys they set
// are marked as set by the flag, so a problem with one names the flag, not
// a line of the file.
func ApplyFlags(cfg *Config, f Flags) {
	set := map[string]string{}
	if len(f.Include) > 0 {
		i := -1
		for j, s := range cfg.Sources {
			if s.Type == "file" {
				i = j
				break
			}
		}
		if i < 0 {
			s := defaultSource()
			s.Name, s.Type = "app", "file"
			cfg.Sources = append(cfg.Sources, s)
			i = len(cfg.Sources) - 1
			set[fmt.Sprintf("sources[%d]", i)] = "--include"
		}
		cfg.Sources[i].Include = f.Include
		set[fmt.Sprintf("sources[%d].include", i)] = "--include"
	}
	if f.StartAt != "" {
		for i := range cfg.Sources {
			if t := cfg.Sources[i].Type; t == "file" || t == "pod" {
				cfg.Sources[i].StartAt = f.StartAt
				set[fmt.Sprintf("sources[%d].start_at", i)] = "--start-at"
			}
		}
	}
	if f.Fluent != "" {
		cfg.Exporters.Fluent.Enabled = true
		cfg.Exporters.Fluent.Address = f.Fluent
		set["exporters.fluent.address"] = "--fluent"
		set["exporters.fluent.enabled"] = "--fluent"
	}
	if f.OTLP != "" {
		o := &cfg.Exporters.OTLP
		o.Enabled, o.Endpoint, o.LogsEndpoint = true, f.OTLP, ""
		set["exporters.otlp.endpoint"] = "--otlp"
		set["exporters.otlp.enabled"] = "--otlp"
		set["exporters.otlp.logs_endpoint"] = "--otlp"
	}
	if f.Listen != "" {
		cfg.HTTP.Listen = f.Listen
		set["http.listen"] = "--listen"
	}
	if len(set) > 0 {
		cfg.Origin = cfg.Origin.withFlags(set)
	}
}

// AddStdinSource adds a stdin source named "stdin" unless the config has one.
func AddStdinSource(cfg *Config) {
	for _, s := range cfg.Sources {
		if s.Type == "stdin" {
			return
		}
	}
	s := defaultSource()
	s.Name, s.Type = "stdin", "stdin"
	cfg.Sources = append(cfg.Sources, s)
}

// NewLogger builds the adapter's own logger (stderr). Its lines never enter
// the pipeline: sources read files, pipes and other containers, not this.
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	level, _ := parseLogLevel(cfg.Level)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not debug, info, warn or error", s)
}

// ParseOptions builds the parsing options of `obsadapter parse`.
func ParseOptions(format, multiline, timezone string) (parsers.Config, error) {
	cfg := parsers.DefaultConfig()
	cfg.Format = format
	cfg.Timezone = timezone
	switch multiline {
	case "auto":
	case "off":
		cfg.Multiline = parsers.Multiline{Mode: parsers.MultilineOff}
	default:
		return cfg, fmt.Errorf("--multiline: %q is not auto or off", multiline)
	}
	return cfg, cfg.Validate()
}
