package otlp

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obsadapter/obsadapter/exporters"
)

// The protocols, as OTEL_EXPORTER_OTLP_PROTOCOL spells them.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// Config is the `exporters.otlp` section. The endpoint, protocol, headers,
// compression, timeout and insecure keys mean what the OpenTelemetry
// exporter specification's options of the same names mean, and the
// OTEL_EXPORTER_OTLP_* environment variables set them (ApplyEnv).
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Endpoint is the receiver. http/protobuf: a base URL, "/v1/logs" is
	// appended to its path. grpc: "http://host:4317" (plain text),
	// "https://host:4317" (TLS) or "host:4317" (TLS unless insecure).
	// Empty: the specification's default for the protocol,
	// http://localhost:4318 or http://localhost:4317.
	Endpoint string `yaml:"endpoint"`
	// LogsEndpoint, when set, is used as it is instead (no path appended),
	// as OTEL_EXPORTER_OTLP_LOGS_ENDPOINT and the collector's otlphttp
	// exporter's logs_endpoint are.
	LogsEndpoint string `yaml:"logs_endpoint"`
	Protocol     string `yaml:"protocol"`
	// Headers are sent with every request (an API key, a tenant id).
	Headers map[string]string `yaml:"headers"`
	// HeaderFiles maps a header name to a file holding its value (a mounted
	// secret), read at start and trimmed of surrounding white space.
	HeaderFiles     map[string]string `yaml:"header_files"`
	Compression     string            `yaml:"compression"`
	Timeout         time.Duration     `yaml:"timeout"`
	ShutdownTimeout time.Duration     `yaml:"shutdown_timeout"`
	// Insecure makes a grpc endpoint without a scheme plain text.
	Insecure bool         `yaml:"insecure"`
	TLS      TLSConfig    `yaml:"tls"`
	Batch    BatchConfig  `yaml:"batch"`
	Buffer   BufferConfig `yaml:"buffer"`
	Retry    RetryConfig  `yaml:"retry"`
	// Resource adds resource attributes to every record, over those the
	// adapter finds itself (k8s.*, host.name, service.name).
	Resource map[string]string `yaml:"resource"`
}

// The batch, buffer and retry sections are those every delivering
// exporter has: a batch is one export request, its max_bytes its encoded
// (uncompressed) size; a Retry-After or RetryInfo from the receiver
// replaces the backoff, bounded by retry.max.
type (
	BatchConfig  = exporters.BatchConfig
	BufferConfig = exporters.BufferConfig
	RetryConfig  = exporters.RetryConfig
)

// TLSConfig is the client side of TLS; TLS itself is on when the endpoint
// says https (or, for grpc, has no scheme and insecure is false).
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// DefaultConfig is the exporter's default: disabled, a local collector over
// http/protobuf, which the specification names the default transport.
func DefaultConfig() Config {
	return Config{
		Protocol:        ProtocolHTTP,
		Headers:         map[string]string{},
		HeaderFiles:     map[string]string{},
		Compression:     "none",
		Timeout:         10 * time.Second,
		ShutdownTimeout: 10 * time.Second,
		Batch:           BatchConfig{MaxRecords: 4096, MaxBytes: 4 << 20},
		Buffer:          BufferConfig{Type: "memory", MaxRecords: 100_000, MaxBytes: 64 << 20, OnFull: "block"},
		Retry:           RetryConfig{Initial: 500 * time.Millisecond, Max: 30 * time.Second},
		Resource:        map[string]string{},
	}
}

// Validate checks the section; messages start with the key path.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Protocol != ProtocolGRPC && c.Protocol != ProtocolHTTP {
		add("protocol: %q is not grpc or http/protobuf", c.Protocol)
	} else {
		if c.Endpoint != "" {
			if err := checkEndpoint(c.Protocol, c.Endpoint); err != nil {
				add("endpoint: %v", err)
			}
		}
		if c.LogsEndpoint != "" {
			if err := checkEndpoint(c.Protocol, c.LogsEndpoint); err != nil {
				add("logs_endpoint: %v", err)
			}
		}
	}
	for k, v := range c.Headers {
		if err := checkHeader(c.Protocol, k, v); err != nil {
			add("headers.%s: %v", k, err)
		}
	}
	canonical := map[string]bool{}
	for k := range c.Headers {
		canonical[http.CanonicalHeaderKey(k)] = true
	}
	for k, path := range c.HeaderFiles {
		if err := checkHeader(c.Protocol, k, ""); err != nil {
			add("header_files.%s: %v", k, err)
		}
		if path == "" {
			add("header_files.%s: the file name is empty", k)
		}
		if canonical[http.CanonicalHeaderKey(k)] {
			add("header_files.%s: also set in headers", k)
		}
	}
	if c.Compression != "none" && c.Compression != "gzip" {
		add("compression: %q is not none or gzip", c.Compression)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", c.Timeout}, {"shutdown_timeout", c.ShutdownTimeout}} {
		if d.v <= 0 {
			add("%s: must be positive, got %s", d.key, d.v)
		}
	}
	errs = append(errs, exporters.ValidateBuffering(c.Batch, c.Buffer, c.Retry)...)
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls: cert_file and key_file go together")
	}
	if !c.usesTLS() && (c.TLS != TLSConfig{}) {
		add("tls: TLS options are set but the endpoint is plain text (http://, or insecure: true)")
	}
	for k := range c.Resource {
		if k == "" {
			add("resource: an attribute name is empty")
		}
	}
	return errors.Join(errs...)
}

// target is the endpoint requests go to: logs_endpoint as it is, else
// endpoint with /v1/logs appended to its path (http/protobuf only; gRPC
// names its method itself).
func (c Config) target() string {
	if c.LogsEndpoint != "" {
		return c.LogsEndpoint
	}
	e := c.Endpoint
	if e == "" {
		e = "http://localhost:4318"
		if c.Protocol == ProtocolGRPC {
			e = "http://localhost:4317"
		}
	}
	if c.Protocol == ProtocolGRPC {
		return e
	}
	return strings.TrimSuffix(e, "/") + "/v1/logs"
}

// usesTLS reports whether the target is reached over TLS: https, or for
// grpc an endpoint without a scheme unless insecure is set.
func (c Config) usesTLS() bool {
	t := c.target()
	switch {
	case strings.HasPrefix(t, "https://"):
		return true
	case strings.HasPrefix(t, "http://"):
		return false
	}
	return c.Protocol == ProtocolGRPC && !c.Insecure
}

// checkEndpoint accepts http(s) URLs with a host, and for grpc host:port
// too.
func checkEndpoint(protocol, e string) error {
	if e == "" {
		return errors.New("must not be empty")
	}
	if !strings.Contains(e, "://") {
		if protocol == ProtocolGRPC {
			if host, port, err := net.SplitHostPort(e); err == nil && host != "" && port != "" {
				return nil
			}
			return fmt.Errorf("%q is neither an http(s) URL nor host:port", e)
		}
		return fmt.Errorf("%q is not an http or https URL", e)
	}
	u, err := url.Parse(e)
	if err != nil {
		return fmt.Errorf("%q: %w", e, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: the scheme must be http or https", e)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", e)
	}
	if u.User != nil {
		return fmt.Errorf("%q: put credentials in headers, not the URL", e)
	}
	return nil
}

// checkHeader accepts an HTTP header name (a token) and a value without
// control characters, which would let a value split the request; for gRPC
// what grpc-go accepts as metadata, which otherwise fails every call.
func checkHeader(protocol, name, value string) error {
	if name == "" {
		return errors.New("the header name is empty")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return fmt.Errorf("%q is not a valid header name", name)
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return errors.New("the value contains a control character")
		}
	}
	if protocol == ProtocolGRPC {
		return checkGRPCHeader(strings.ToLower(name), value)
	}
	return nil
}

// checkGRPCHeader is grpc-go's metadata check (internal/metadata): names
// of [0-9a-z-_.], values of printable ASCII unless the name ends in -bin.
func checkGRPCHeader(name, value string) error {
	for i := 0; i < len(name); i++ {
		if c := name[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q is not a valid gRPC header name (letters, digits, - _ .)", name)
		}
	}
	if strings.HasSuffix(name, "-bin") {
		return nil
	}
	for i := 0; i < len(value); i++ {
		if value[i] < 0x20 || value[i] > 0x7e {
			return errors.New("a gRPC header value must be printable ASCII")
		}
	}
	return nil
}

// ApplyEnv sets the keys the OTEL_EXPORTER_OTLP_* variables name, the
// logs-specific variable over the general one, as the specification says.
// The collector applies it to the defaults before it decodes the config
// file, so a key written in the file wins over the environment: the
// environment is the default, the file the explicit choice.
//
// OTEL_EXPORTER_OTLP_ENDPOINT sets endpoint (/v1/logs still appended for
// http/protobuf); OTEL_EXPORTER_OTLP_LOGS_ENDPOINT sets logs_endpoint (used
// as it is). Either enables the exporter, as FLUENT_ADDRESS enables fluent.
// _HEADERS ("k=v,k2=v2", URL-encoded) adds headers; _PROTOCOL,
// _COMPRESSION, _TIMEOUT (milliseconds), _INSECURE, _CERTIFICATE,
// _CLIENT_CERTIFICATE and _CLIENT_KEY set the keys of those names, each
// with its _LOGS_ variant. OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
// add resource attributes. A value that does not parse is kept as it is
// where a key can hold it, so Validate reports it with the key path; the
// others (a bad timeout, headers) are reported by the returned error.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	var errs []error
	get := func(name string) (string, string, bool) {
		for _, n := range []string{"OTEL_EXPORTER_OTLP_LOGS_" + name, "OTEL_EXPORTER_OTLP_" + name} {
			if v, ok := lookup(n); ok && strings.TrimSpace(v) != "" {
				return n, strings.TrimSpace(v), true
			}
		}
		return "", "", false
	}
	if v, ok := lookup("OTEL_EXPORTER_OTLP_ENDPOINT"); ok && strings.TrimSpace(v) != "" {
		c.Endpoint, c.Enabled = strings.TrimSpace(v), true
	}
	if v, ok := lookup("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"); ok && strings.TrimSpace(v) != "" {
		c.LogsEndpoint, c.Enabled = strings.TrimSpace(v), true
	}
	if _, v, ok := get("PROTOCOL"); ok {
		c.Protocol = v
	}
	if _, v, ok := get("COMPRESSION"); ok {
		c.Compression = v
	}
	if n, v, ok := get("TIMEOUT"); ok {
		if ms, err := strconv.ParseUint(v, 10, 32); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a number of milliseconds", n, v))
		} else {
			c.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if n, v, ok := get("INSECURE"); ok {
		if b, err := strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", n, v))
		} else {
			c.Insecure = b
		}
	}
	if _, v, ok := get("CERTIFICATE"); ok {
		c.TLS.CAFile = v
	}
	if _, v, ok := get("CLIENT_CERTIFICATE"); ok {
		c.TLS.CertFile = v
	}
	if _, v, ok := get("CLIENT_KEY"); ok {
		c.TLS.KeyFile = v
	}
	// The general headers first, the logs-specific ones over them.
	for _, n := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_LOGS_HEADERS"} {
		v, ok := lookup(n)
		if !ok {
			continue
		}
		kv, err := parseList(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
		if c.Headers == nil {
			c.Headers = map[string]string{}
		}
		for k, v := range kv {
			c.Headers[k] = v
		}
	}
	if v, ok := lookup("OTEL_RESOURCE_ATTRIBUTES"); ok {
		kv, err := parseList(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err))
		}
		if c.Resource == nil {
			c.Resource = map[string]string{}
		}
		for k, v := range kv {
			c.Resource[k] = v
		}
	}
	if v, ok := lookup("OTEL_SERVICE_NAME"); ok && strings.TrimSpace(v) != "" {
		if c.Resource == nil {
			c.Resource = map[string]string{}
		}
		c.Resource["service.name"] = strings.TrimSpace(v)
	}
	return errors.Join(errs...)
}

// parseList parses the specification's "key1=value1,key2=value2" lists
// (W3C Baggage without properties): white space around keys and values is
// dropped and values are URL-decoded. Every well-formed pair is returned
// even when another is not.
func parseList(s string) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("%q is not key=value", strings.TrimSpace(item)))
			continue
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: the value is not URL-encoded: %w", k, err))
			continue
		}
		out[k] = dv
	}
	return out, errors.Join(errs...)
}
