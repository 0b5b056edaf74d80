package collector

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters/fluent"
	"github.com/obsadapter/obsadapter/exporters/otlp"
	promexp "github.com/obsadapter/obsadapter/exporters/prometheus"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/processors"
	"github.com/obsadapter/obsadapter/procinfo"
)

// DefaultYAML is the embedded default configuration: the sidecar's defaults
// (DESIGN.md §3), used when `run` is given no --config.
//
//go:embed default.yaml
var DefaultYAML []byte

// Config is the whole configuration file. Each package owns its own section's
// type, defaults and validation; Config composes them.
type Config struct {
	StateDir           string         `yaml:"state_dir"`
	CheckpointInterval time.Duration  `yaml:"checkpoint_interval"`
	Sources            []SourceConfig `yaml:"sources"`
	// Processors run on every source's records after the source's own
	// list (see SourceConfig.Processors).
	Processors []processors.Spec `yaml:"processors"`
	Pipeline   PipelineConfig    `yaml:"pipeline"`
	Exporters  ExportersConfig   `yaml:"exporters"`
	HTTP       HTTPConfig        `yaml:"http"`
	Procinfo   procinfo.Config   `yaml:"procinfo"`
	Kubernetes KubernetesConfig  `yaml:"kubernetes"`
	Shutdown   ShutdownConfig    `yaml:"shutdown"`
	Log        LogConfig         `yaml:"log"`

	// Origin, set by ParseConfig, lets Validate give each problem the line
	// of its key in the file. It is not a setting: never decoded, and any
	// two origins compare deeply equal.
	Origin *ConfigOrigin `yaml:"-" json:"-"`
}

// SourceConfig is one entry of `sources`. Keys that only some types use are
// rejected on the others by Validate, so a typo'd intent is an error.
type SourceConfig struct {
	Name    string   `yaml:"name"`
	Type    string   `yaml:"type"`
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	StartAt string   `yaml:"start_at"`

	parsers.Config `yaml:",inline"`

	MaxLineBytes int           `yaml:"max_line_bytes"`
	PollInterval time.Duration `yaml:"poll_interval"`
	RotateWait   time.Duration `yaml:"rotate_wait"`
	// MaxOpenFiles bounds the descriptors a file or pod source holds: idle
	// files beyond it are closed and reopened, identity checked, when they
	// change.
	MaxOpenFiles int `yaml:"max_open_files"`

	// stdin and exec: sources that cannot pause get a bounded line buffer.
	Buffer BufferConfig `yaml:"buffer"`

	// exec
	Command        []string      `yaml:"command"`
	Restart        string        `yaml:"restart"`
	RestartBackoff time.Duration `yaml:"restart_backoff"`

	// pod
	LogsDir    string   `yaml:"logs_dir"`
	Containers []string `yaml:"containers"`

	// Processors shape the source's records before the global list runs:
	// the source's own steps first, so they see its records as parsed.
	Processors []processors.Spec `yaml:"processors"`
}

// BufferConfig bounds the line buffer of a source that cannot pause.
type BufferConfig struct {
	MaxLines int    `yaml:"max_lines"`
	MaxBytes int    `yaml:"max_bytes"`
	OnFull   string `yaml:"on_full"`
}

// PipelineConfig sizes the batches and the queues between stages.
type PipelineConfig struct {
	BatchRecords int `yaml:"batch_records"`
	QueueBatches int `yaml:"queue_batches"`
}

// ExportersConfig holds one section per exporter.
type ExportersConfig struct {
	Stdout     StdoutConfig   `yaml:"stdout"`
	Prometheus promexp.Config `yaml:"prometheus"`
	Fluent     fluent.Config  `yaml:"fluent"`
	OTLP       otlp.Config    `yaml:"otlp"`
}

// StdoutConfig configures the NDJSON stdout exporter.
type StdoutConfig struct {
	Enabled bool `yaml:"enabled"`
}

// HTTPConfig configures the listener for /metrics, health and the API.
type HTTPConfig struct {
	Listen        string `yaml:"listen"`
	WebConfigFile string `yaml:"web_config_file"`
	EnableReload  bool   `yaml:"enable_reload"`
	ExposeSamples bool   `yaml:"expose_samples"`
	Tap           string `yaml:"tap"` // who may open GET /api/v1/tap: loopback, any, off
}

// KubernetesConfig is the pod metadata stamped on records; empty values come
// from the downward-API environment (POD_NAMESPACE, POD_NAME, POD_UID,
// NODE_NAME, OBSADAPTER_CONTAINER, POD_APP_NAME).
type KubernetesConfig struct {
	Namespace string `yaml:"namespace"`
	Pod       string `yaml:"pod"`
	UID       string `yaml:"uid"`
	Node      string `yaml:"node"`
	Container string `yaml:"container"` // the adapter's own container, never read by the pod source
	// AppName is the pod's app.kubernetes.io/name label: the OTLP
	// exporter's service.name unless its resource names one.
	AppName string `yaml:"app_name"`
}

// ShutdownConfig shapes a graceful stop.
type ShutdownConfig struct {
	GracePeriod  time.Duration `yaml:"grace_period"`
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// LogConfig configures the adapter's own logs (stderr, never its own pipeline).
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// DefaultConfig is the configuration every file is decoded over.
func DefaultConfig() Config {
	return Config{
		CheckpointInterval: 5 * time.Second,
		Pipeline:           PipelineConfig{BatchRecords: 1024, QueueBatches: 2},
		Exporters: ExportersConfig{
			Prometheus: promexp.DefaultConfig(),
			Fluent:     fluent.DefaultConfig(),
			OTLP:       otlp.DefaultConfig(),
		},
		HTTP:     HTTPConfig{Listen: ":9725", Tap: tapLoopback},
		Procinfo: procinfo.DefaultConfig(),
		Shutdown: ShutdownConfig{DrainTimeout: 20 * time.Second},
		Log:      LogConfig{Level: "info", Format: "json"},
	}
}

// defaultSource is what every entry of `sources` is decoded over.
func defaultSource() SourceConfig {
	return SourceConfig{
		StartAt:        "end",
		Config:         parsers.DefaultConfig(),
		MaxLineBytes:   1 << 20,
		PollInterval:   time.Second,
		RotateWait:     5 * time.Second,
		MaxOpenFiles:   1024,
		Buffer:         BufferConfig{MaxLines: 10000, MaxBytes: 16 << 20, OnFull: "block"},
		Restart:        "on_failure",
		RestartBackoff: time.Second,
		LogsDir:        "/var/log/pods",
	}
}

// ParseConfig decodes a YAML document strictly over the defaults; ${VAR},
// ${VAR:-default} and $$ are expanded in values. Unknown keys (with the
// known key a near miss was meant to be), values of the wrong type,
// durations, sizes and environment references are checked in one pass: the
// error is a *ConfigError listing every problem with its line and key path,
// and, when there is one, the rest of the file is validated too so that one
// run shows everything. A config that decodes is not validated here
// (flags may still change it); its Validate gives lines as well.
//
// The OTEL_EXPORTER_OTLP_* variables are applied to the defaults before the
// file is decoded: a key the file writes wins over the environment
// (otlpenv.go).
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	envErr := cfg.Exporters.OTLP.ApplyEnv(os.LookupEnv)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return cfg, syntaxError(err, data)
	}
	if len(doc.Content) == 0 {
		return cfg, errors.New("config: the file is empty")
	}
	root := doc.Content[0]
	ix := indexLines(root)
	cfg.Origin = newOrigin(ix)
	var c checker
	if root.Kind != yaml.MappingNode {
		c.add(root, "", "the file must be a section of keys (sources:, exporters:, ...), not %s", describe(root))
		return cfg, newConfigError(c.problems)
	}
	c.check(root, "", typeOfConfig)
	if err := root.Decode(&cfg); err != nil {
		c.problems = append(c.problems, decodeProblems(err, ix)...)
	}
	// Each source is decoded over its own defaults.
	if srcs := findKey(root, "sources"); srcs != nil && srcs.Kind == yaml.SequenceNode {
		cfg.Sources = make([]SourceConfig, len(srcs.Content))
		for i, n := range srcs.Content {
			cfg.Sources[i] = defaultSource()
			if err := n.Decode(&cfg.Sources[i]); err != nil {
				c.problems = append(c.problems, decodeProblems(err, ix)...)
			}
		}
	}
	c.problems = append(c.problems, settleOTLPEnv(&cfg, ix, envErr, os.LookupEnv)...)
	if len(c.problems) == 0 {
		return cfg, nil
	}
	// The keys with a problem were left out, so the rest decoded over the
	// defaults: validate it too, except what those problems make moot.
	problems := c.problems
	var ce *ConfigError
	if err := cfg.Validate(); errors.As(err, &ce) {
	next:
		for _, p := range ce.Problems {
			for _, q := range c.problems {
				if covers(q.Path, p.Path) {
					continue next
				}
			}
			problems = append(problems, p)
		}
	}
	return cfg, newConfigError(problems)
}

// syntaxError reports a file that is not YAML at all, with its line.
func syntaxError(err error, data []byte) error {
	msg := err.Error()
	var line int
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr != nil {
		return fmt.Errorf("config: the file is not valid YAML: %w", err)
	}
	msg = "not valid YAML: " + stripLine(msg)
	if lines := strings.Split(string(data), "\n"); line-1 < len(lines) && strings.Contains(lines[line-1], "\t") {
		msg += " (YAML indents with spaces; this line has a tab)"
	}
	return &ConfigError{Problems: []Problem{{Line: line, Message: msg}}}
}

// decodeProblems turns the decoder's own type errors, which name only a
// line, into problems with their key paths. The checker leaves the decoder
// nothing to reject, so this is a safety net.
func decodeProblems(err error, ix *lineIndex) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{{Message: stripLine(err.Error())}}
	}
	paths := map[int]string{}
	for p, l := range ix.lines {
		if q, ok := paths[l]; !ok || len(p) > len(q) {
			paths[l] = p
		}
	}
	out := make([]Problem, 0, len(te.Errors))
	for _, e := range te.Errors {
		var line int
		fmt.Sscanf(e, "line %d:", &line)
		out = append(out, Problem{Line: line, Path: paths[line], Message: stripLine(e)})
	}
	return out
}

// LoadConfig reads and parses a configuration file; it does not validate.
// A *ConfigError lists the file's problems without naming the file: the
// caller knows it, and each problem names its line.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	var ce *ConfigError
	if err != nil && !errors.As(err, &ce) {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, err
}

func findKey(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var sourceTypes = []string{"file", "stdin", "exec", "pod"}

// Validate checks the whole configuration and returns every problem found
// as a *ConfigError: one per line, each naming its key path and, for a
// config read from a file, the key's line (or the flag that set it).
func (c *Config) Validate() error {
	var ps []Problem
	own := map[string]bool{} // paths checked here; the packages' messages for them are left out
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
		own[path] = true
	}
	sub := func(prefix string, err error) {
		if err == nil {
			return
		}
		for _, p := range problemsOf(prefix, err) {
			if !own[p.Path] {
				ps = append(ps, p)
			}
		}
	}
	if c.CheckpointInterval <= 0 {
		add("checkpoint_interval", "must be positive, got %s", c.CheckpointInterval)
	}
	if len(c.Sources) == 0 {
		add("sources", "at least one source is required")
	}
	// Each source's chain is its own list then the global one, validated
	// as it will be built (names must differ across both), each problem
	// reported under the list it is in, once.
	env := processorEnv(c.Exporters, clock.Real)
	reported := map[Problem]bool{}
	procProblems := func(prefix string, own, global []processors.Spec) {
		for _, pr := range processors.Validate(slices.Concat(own, global), env) {
			path := "processors" + pr.Key
			if i, rest, ok := listIndex(pr.Key); ok && i < len(own) {
				path = prefix + fmt.Sprintf("[%d]", i) + rest
			} else if ok {
				path = fmt.Sprintf("processors[%d]", i-len(own)) + rest
			}
			if p := (Problem{Path: path, Message: pr.Msg}); !reported[p] {
				reported[p] = true
				add(path, "%s", pr.Msg)
			}
		}
	}
	names := map[string]int{}
	stdins := 0
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if prev, dup := names[s.Name]; dup && s.Name != "" {
			add(p+".name", "%q is already the name of sources[%d]", s.Name, prev)
		}
		names[s.Name] = i
		if s.Type == "stdin" {
			stdins++
			if stdins > 1 {
				add(p+".type", "only one stdin source is possible")
			}
		}
		sub(p, s.validate())
		procProblems(p+".processors", s.Processors, c.Processors)
	}
	if len(c.Sources) == 0 {
		procProblems("", nil, c.Processors)
	}
	sub("pipeline", c.Pipeline.validate())
	if msg := addressProblem(c.Exporters.Fluent.Address, false); msg != "" {
		add("exporters.fluent.address", "%s", msg)
	}
	for i, a := range c.Exporters.Fluent.Failover {
		if msg := addressProblem(a, false); msg != "" {
			add(fmt.Sprintf("exporters.fluent.failover[%d]", i), "%s", msg)
		}
	}
	sub("exporters.prometheus", c.Exporters.Prometheus.Validate())
	sub("exporters.fluent", c.Exporters.Fluent.Validate())
	if c.Exporters.Fluent.Enabled && c.Exporters.Fluent.Buffer.Type == "file" && c.StateDir == "" {
		add("exporters.fluent.buffer.type", "\"file\" needs state_dir to be set")
	}
	// The OTEL_EXPORTER_OTLP_* variables may be set for other programs too:
	// the section is checked only when the exporter is on.
	if c.Exporters.OTLP.Enabled {
		sub("exporters.otlp", c.Exporters.OTLP.Validate())
		if c.Exporters.OTLP.Buffer.Type == "file" && c.StateDir == "" {
			add("exporters.otlp.buffer.type", "\"file\" needs state_dir to be set")
		}
	}
	if !c.Exporters.Stdout.Enabled && !c.Exporters.Prometheus.Enabled && !c.Exporters.Fluent.Enabled && !c.Exporters.OTLP.Enabled {
		add("exporters", "every exporter is disabled, records would go nowhere")
	}
	if c.Procinfo.Listen != "" {
		if msg := addressProblem(c.Procinfo.Listen, true); msg != "" {
			add("procinfo.listen", "%s", msg)
		}
	}
	sub("procinfo", c.Procinfo.Validate())
	if msg := addressProblem(c.HTTP.Listen, true); msg != "" {
		add("http.listen", "%s", msg)
	}
	if c.HTTP.WebConfigFile != "" {
		if _, err := os.Stat(c.HTTP.WebConfigFile); err != nil {
			add("http.web_config_file", "%v", err)
		}
	}
	if t := c.HTTP.Tap; t != tapLoopback && t != tapAny && t != tapOff {
		add("http.tap", "%q is not loopback, any or off", t)
	}
	if c.Shutdown.GracePeriod < 0 {
		add("shutdown.grace_period", "must not be negative, got %s", c.Shutdown.GracePeriod)
	}
	if c.Shutdown.DrainTimeout <= 0 {
		add("shutdown.drain_timeout", "must be positive, got %s", c.Shutdown.DrainTimeout)
	}
	if _, err := parseLogLevel(c.Log.Level); err != nil {
		add("log.level", "%v", err)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "%q is not json or text", c.Log.Format)
	}
	ix := c.Origin.index()
	for i := range ps {
		ix.locate(&ps[i])
	}
	return newConfigError(ps)
}

func (s *SourceConfig) validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name: required"))
	} else if !sourceNameRE.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be letters, digits, '.', '_' or '-'", s.Name))
	}
	if !slices.Contains(sourceTypes, s.Type) {
		errs = append(errs, fmt.Errorf("type: %q is not one of %s", s.Type, strings.Join(sourceTypes, ", ")))
	}
	onlyFor := func(key string, set bool, types ...string) {
		if set && !slices.Contains(types, s.Type) {
			errs = append(errs, fmt.Errorf("%s: only applies to sources of type %s", key, strings.Join(types, " or ")))
		}
	}
	onlyFor("include", len(s.Include) > 0, "file")
	onlyFor("exclude", len(s.Exclude) > 0, "file")
	onlyFor("command", len(s.Command) > 0, "exec")
	onlyFor("containers", len(s.Containers) > 0, "pod")
	switch s.Type {
	case "file":
		if len(s.Include) == 0 {
			errs = append(errs, errors.New("include: at least one glob is required for a file source"))
		}
		for _, k := range []struct {
			key   string
			globs []string
		}{{"include", s.Include}, {"exclude", s.Exclude}} {
			for i, g := range k.globs {
				if _, err := filepath.Match(g, ""); err != nil {
					errs = append(errs, fmt.Errorf("%s[%d]: bad glob %q: %w", k.key, i, g, err))
				}
			}
		}
	case "exec":
		if len(s.Command) == 0 {
			errs = append(errs, errors.New("command: required for an exec source, e.g. [\"/app\", \"--flag\"]"))
		}
		if !slices.Contains([]string{"never", "on_failure", "always"}, s.Restart) {
			errs = append(errs, fmt.Errorf("restart: %q is not never, on_failure or always", s.Restart))
		}
		if s.RestartBackoff <= 0 {
			errs = append(errs, errors.New("restart_backoff: must be positive"))
		}
	}
	if s.StartAt != "end" && s.StartAt != "beginning" {
		errs = append(errs, fmt.Errorf("start_at: %q is not beginning or end", s.StartAt))
	}
	if s.MaxLineBytes < 64 {
		errs = append(errs, fmt.Errorf("max_line_bytes: %d is too small (minimum 64)", s.MaxLineBytes))
	}
	if s.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be positive, got %s", s.PollInterval))
	}
	if s.MaxOpenFiles < 1 {
		errs = append(errs, fmt.Errorf("max_open_files: must be at least 1, got %d", s.MaxOpenFiles))
	}
	if s.RotateWait < 0 {
		errs = append(errs, fmt.Errorf("rotate_wait: must not be negative, got %s", s.RotateWait))
	}
	if s.Buffer.MaxLines <= 0 {
		errs = append(errs, fmt.Errorf("buffer.max_lines: must be positive, got %d", s.Buffer.MaxLines))
	}
	if s.Buffer.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("buffer.max_bytes: must be positive, got %d", s.Buffer.MaxBytes))
	}
	if s.Buffer.OnFull != "block" && s.Buffer.OnFull != "drop_oldest" {
		errs = append(errs, fmt.Errorf("buffer.on_full: %q is not block or drop_oldest", s.Buffer.OnFull))
	}
	if err := s.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// listIndex splits a processors key "[2].filter.keep" into 2 and
// ".filter.keep".
func listIndex(key string) (int, string, bool) {
	rest, ok := strings.CutPrefix(key, "[")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, "", false
	}
	return i, rest, true
}

func (p PipelineConfig) validate() error {
	var errs []error
	if p.BatchRecords <= 0 {
		errs = append(errs, fmt.Errorf("batch_records: must be positive, got %d", p.BatchRecords))
	}
	if p.QueueBatches <= 0 {
		errs = append(errs, fmt.Errorf("queue_batches: must be positive, got %d", p.QueueBatches))
	}
	return errors.Join(errs...)
}
