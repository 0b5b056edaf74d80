package fluent

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/exporters"
)

// Config is the `exporters.fluent` section.
type Config struct {
	Enabled         bool          `yaml:"enabled"`
	Address         string        `yaml:"address"`
	Failover        []string      `yaml:"failover"`
	Tag             string        `yaml:"tag"`
	Compress        string        `yaml:"compress"`
	SendTimeout     time.Duration `yaml:"send_timeout"`
	AckTimeout      time.Duration `yaml:"ack_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Batch           BatchConfig   `yaml:"batch"`
	Buffer          BufferConfig  `yaml:"buffer"`
	Retry           RetryConfig   `yaml:"retry"`
	TLS             TLSConfig     `yaml:"tls"`
	SharedKey       string        `yaml:"shared_key"`
	SelfHostname    string        `yaml:"self_hostname"`
	Username        string        `yaml:"username"`
	Password        string        `yaml:"password"`
}

// The batch, buffer and retry sections are those every delivering
// exporter has: a chunk is one PackedForward message (one ack); retries
// are per address, after a failed connection, handshake, send or ack.
type (
	BatchConfig  = exporters.BatchConfig
	BufferConfig = exporters.BufferConfig
	RetryConfig  = exporters.RetryConfig
)

// TLSConfig is the client side of TLS to the aggregator.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// DefaultConfig is the exporter's default: disabled, local Fluentd.
func DefaultConfig() Config {
	return Config{
		Address:         "127.0.0.1:24224",
		Failover:        []string{},
		Tag:             "obsadapter.{source}",
		Compress:        "none",
		SendTimeout:     10 * time.Second,
		AckTimeout:      30 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		Batch:           BatchConfig{MaxRecords: 4096, MaxBytes: 4 << 20},
		Buffer:          BufferConfig{Type: "memory", MaxRecords: 100_000, MaxBytes: 64 << 20, OnFull: "block"},
		Retry:           RetryConfig{Initial: 500 * time.Millisecond, Max: 30 * time.Second},
	}
}

// Validate checks the section; messages start with the key path.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := checkHostPort(c.Address); err != nil {
		add("address: %w", err)
	}
	for i, a := range c.Failover {
		if err := checkHostPort(a); err != nil {
			add("failover[%d]: %w", i, err)
		}
	}
	if _, err := parseTag(c.Tag); err != nil {
		add("tag: %w", err)
	}
	if c.Compress != "none" && c.Compress != "gzip" {
		add("compress: %q is not none or gzip", c.Compress)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"send_timeout", c.SendTimeout}, {"ack_timeout", c.AckTimeout}, {"shutdown_timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			add("%s: must be positive, got %s", d.key, d.v)
		}
	}
	errs = append(errs, exporters.ValidateBuffering(c.Batch, c.Buffer, c.Retry)...)
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls: cert_file and key_file go together")
	}
	if !c.TLS.Enabled && (c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.ServerName != "" || c.TLS.InsecureSkipVerify) {
		add("tls.enabled: TLS options are set but TLS is not enabled")
	}
	if c.SharedKey == "" && (c.Username != "" || c.Password != "" || c.SelfHostname != "") {
		add("shared_key: self_hostname, username and password need shared_key")
	}
	if c.Password != "" && c.Username == "" {
		add("username: password is set without username")
	}
	return errors.Join(errs...)
}

func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("%q is not host:port", a)
	}
	return nil
}

// tagPart is a literal or a reference in the tag template.
type tagPart struct {
	lit   string
	ref   string // source, format, level, stream, or "" for a literal
	field string // dotted field path for {field.NAME}
}

// parseTag compiles a tag template: literal text with {source}, {format},
// {level}, {stream} and {field.NAME} (a dotted path into the fields).
func parseTag(s string) ([]tagPart, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("must not be empty")
	}
	var parts []tagPart
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			parts = append(parts, tagPart{lit: s})
			break
		}
		if s[i] == '}' {
			return nil, fmt.Errorf("unmatched \"}\" in %q", s)
		}
		if i > 0 {
			parts = append(parts, tagPart{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed \"{\" in %q", s)
		}
		ref := s[i+1 : i+j]
		switch {
		case ref == "source" || ref == "format" || ref == "level" || ref == "stream":
			parts = append(parts, tagPart{ref: ref})
		case strings.HasPrefix(ref, "field.") && len(ref) > len("field.") && !strings.ContainsAny(ref, "{ "):
			parts = append(parts, tagPart{ref: "field", field: ref[len("field."):]})
		default:
			return nil, fmt.Errorf("unknown reference {%s} (want {source}, {format}, {level}, {stream} or {field.NAME})", ref)
		}
		s = s[i+j+1:]
	}
	for _, p := range parts {
		if p.ref == "" && strings.ContainsAny(p.lit, " \t\n") {
			return nil, fmt.Errorf("literal %q contains white space", p.lit)
		}
	}
	return parts, nil
}
