package collector

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/obsadapter/obsadapter/exporters/fluent"
	promexp "github.com/obsadapter/obsadapter/exporters/prometheus"
	"github.com/obsadapter/obsadapter/parsers"
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
	StateDir           string           `yaml:"state_dir"`
	CheckpointInterval time.Duration    `yaml:"checkpoint_interval"`
	Sources            []SourceConfig   `yaml:"sources"`
	Pipeline           PipelineConfig   `yaml:"pipeline"`
	Exporters          ExportersConfig  `yaml:"exporters"`
	HTTP               HTTPConfig       `yaml:"http"`
	Procinfo           procinfo.Config  `yaml:"procinfo"`
	Kubernetes         KubernetesConfig `yaml:"kubernetes"`
	Shutdown           ShutdownConfig   `yaml:"shutdown"`
	Log                LogConfig        `yaml:"log"`
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

	// stdin and exec: sources that cannot pause get a bounded line buffer.
	Buffer BufferConfig `yaml:"buffer"`

	// exec
	Command        []string      `yaml:"command"`
	Restart        string        `yaml:"restart"`
	RestartBackoff time.Duration `yaml:"restart_backoff"`

	// pod
	LogsDir    string   `yaml:"logs_dir"`
	Containers []string `yaml:"containers"`
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
}

// KubernetesConfig is the pod metadata stamped on records; empty values come
// from the downward-API environment (POD_NAMESPACE, POD_NAME, POD_UID,
// NODE_NAME, OBSADAPTER_CONTAINER).
type KubernetesConfig struct {
	Namespace string `yaml:"namespace"`
	Pod       string `yaml:"pod"`
	UID       string `yaml:"uid"`
	Node      string `yaml:"node"`
	Container string `yaml:"container"` // the adapter's own container, never read by the pod source
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
		Pipeline:           PipelineConfig{BatchRecords: 1024, QueueBatches: 8},
		Exporters: ExportersConfig{
			Prometheus: promexp.DefaultConfig(),
			Fluent:     fluent.DefaultConfig(),
		},
		HTTP:     HTTPConfig{Listen: ":9725"},
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
		Buffer:         BufferConfig{MaxLines: 10000, MaxBytes: 16 << 20, OnFull: "block"},
		Restart:        "on_failure",
		RestartBackoff: time.Second,
		LogsDir:        "/var/log/pods",
	}
}

// ParseConfig decodes a YAML document strictly over the defaults: unknown
// keys and wrong types are errors naming the key path and line; ${VAR},
// ${VAR:-default} and $$ are expanded in values.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if len(doc.Content) == 0 {
		return cfg, errors.New("config: the file is empty")
	}
	root := doc.Content[0]
	if err := checkNode(root, "", typeOfConfig); err != nil {
		return cfg, err
	}
	if err := root.Decode(&cfg); err != nil {
		return cfg, withKeyPaths(err, root)
	}
	// Each source is decoded over its own defaults.
	if srcs := findKey(root, "sources"); srcs != nil && srcs.Kind == yaml.SequenceNode {
		cfg.Sources = make([]SourceConfig, len(srcs.Content))
		for i, n := range srcs.Content {
			cfg.Sources[i] = defaultSource()
			if err := n.Decode(&cfg.Sources[i]); err != nil {
				return cfg, withKeyPaths(err, root)
			}
		}
	}
	return cfg, nil
}

// withKeyPaths rewrites yaml.v3's type errors, which name only a line, to
// name the key path too: "sources[0].max_line_bytes (line 5): cannot …".
func withKeyPaths(err error, root *yaml.Node) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config: %w", err)
	}
	paths := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				paths[n.Content[i].Line] = p
				paths[n.Content[i+1].Line] = p
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := paths[c.Line]; !ok {
					paths[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		var line int
		if _, scanErr := fmt.Sscanf(e, "line %d:", &line); scanErr == nil && paths[line] != "" {
			_, rest, _ := strings.Cut(e, ":")
			e = fmt.Sprintf("%s (line %d):%s", paths[line], line, rest)
		}
		msgs = append(msgs, e)
	}
	return fmt.Errorf("config: %s", strings.Join(msgs, "\n"))
}

// LoadConfig reads and parses a configuration file; it does not validate.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
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

// Validate checks the whole configuration and returns every problem found,
// one per line, each naming its key path.
func (c *Config) Validate() error {
	var errs []error
	add := func(prefix string, err error) {
		if err != nil {
			errs = append(errs, prefixErr(prefix, err))
		}
	}
	if c.CheckpointInterval <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint_interval: must be positive, got %s", c.CheckpointInterval))
	}
	if len(c.Sources) == 0 {
		errs = append(errs, errors.New("sources: at least one source is required"))
	}
	names := map[string]int{}
	stdins := 0
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if prev, dup := names[s.Name]; dup && s.Name != "" {
			errs = append(errs, fmt.Errorf("%s.name: %q is already the name of sources[%d]", p, s.Name, prev))
		}
		names[s.Name] = i
		if s.Type == "stdin" {
			stdins++
			if stdins > 1 {
				errs = append(errs, fmt.Errorf("%s.type: only one stdin source is possible", p))
			}
		}
		add(p, s.validate())
	}
	add("pipeline", c.Pipeline.validate())
	add("exporters.prometheus", c.Exporters.Prometheus.Validate())
	add("exporters.fluent", c.Exporters.Fluent.Validate())
	if c.Exporters.Fluent.Enabled && c.Exporters.Fluent.Buffer.Type == "file" && c.StateDir == "" {
		errs = append(errs, errors.New("exporters.fluent.buffer.type: \"file\" needs state_dir to be set"))
	}
	if !c.Exporters.Stdout.Enabled && !c.Exporters.Prometheus.Enabled && !c.Exporters.Fluent.Enabled {
		errs = append(errs, errors.New("exporters: every exporter is disabled, records would go nowhere"))
	}
	add("procinfo", c.Procinfo.Validate())
	if err := validateListen(c.HTTP.Listen); err != nil {
		errs = append(errs, fmt.Errorf("http.listen: %w", err))
	}
	if c.HTTP.WebConfigFile != "" {
		if _, err := os.Stat(c.HTTP.WebConfigFile); err != nil {
			errs = append(errs, fmt.Errorf("http.web_config_file: %w", err))
		}
	}
	if c.Shutdown.GracePeriod < 0 || c.Shutdown.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown: grace_period must be ≥ 0 and drain_timeout > 0, got %s and %s", c.Shutdown.GracePeriod, c.Shutdown.DrainTimeout))
	}
	if _, err := parseLogLevel(c.Log.Level); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %w", err))
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		errs = append(errs, fmt.Errorf("log.format: %q is not json or text", c.Log.Format))
	}
	return errors.Join(errs...)
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
		for i, g := range append(slices.Clone(s.Include), s.Exclude...) {
			if _, err := filepath.Match(g, ""); err != nil {
				errs = append(errs, fmt.Errorf("include/exclude[%d]: bad glob %q: %w", i, g, err))
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
	if s.PollInterval <= 0 || s.RotateWait < 0 {
		errs = append(errs, fmt.Errorf("poll_interval must be positive and rotate_wait ≥ 0, got %s and %s", s.PollInterval, s.RotateWait))
	}
	if s.Buffer.MaxLines <= 0 || s.Buffer.MaxBytes <= 0 {
		errs = append(errs, errors.New("buffer: max_lines and max_bytes must be positive"))
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

func (p PipelineConfig) validate() error {
	if p.BatchRecords <= 0 || p.QueueBatches <= 0 {
		return fmt.Errorf("batch_records and queue_batches must be positive, got %d and %d", p.BatchRecords, p.QueueBatches)
	}
	return nil
}

func validateListen(addr string) error {
	if addr == "" {
		return errors.New("required, e.g. \":9725\"")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	return nil
}

// prefixErr puts "prefix." before every line of a (possibly joined) error.
func prefixErr(prefix string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	var b bytes.Buffer
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix)
		if !strings.HasPrefix(l, "[") {
			b.WriteByte('.')
		}
		b.WriteString(l)
	}
	return errors.New(b.String())
}
