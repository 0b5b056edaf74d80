package otlp

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Config)
		want   []string // substrings of the error, each a key path
	}{
		{"defaults", func(c *Config) {}, nil},
		{"grpc host:port", func(c *Config) { c.Protocol, c.Endpoint = ProtocolGRPC, "collector:4317" }, nil},
		{"grpc https with TLS options", func(c *Config) {
			c.Protocol, c.Endpoint, c.TLS = ProtocolGRPC, "https://collector:4317", TLSConfig{CAFile: "/ca.pem", ServerName: "c"}
		}, nil},
		{"bad protocol", func(c *Config) { c.Protocol = "http/json" }, []string{`protocol: "http/json" is not grpc or http/protobuf`}},
		{"http needs a URL", func(c *Config) { c.Endpoint = "collector:4318" }, []string{"endpoint: \"collector:4318\" is not an http or https URL"}},
		{"bad scheme", func(c *Config) { c.Endpoint = "ftp://x" }, []string{"endpoint: \"ftp://x\": the scheme must be http or https"}},
		{"credentials in the URL", func(c *Config) { c.LogsEndpoint = "https://u:p@x/v1/logs" }, []string{"logs_endpoint:", "put credentials in headers"}},
		{"no host", func(c *Config) { c.Endpoint = "http://" }, []string{"endpoint: \"http://\" has no host"}},
		{"bad header name", func(c *Config) { c.Headers = map[string]string{"a b": "v"} }, []string{"headers.a b:"}},
		{"header value with a newline", func(c *Config) { c.Headers = map[string]string{"k": "v\r\nx: y"} }, []string{"headers.k: the value contains a control character"}},
		{"grpc header name grpc-go refuses", func(c *Config) {
			c.Protocol, c.Endpoint, c.Headers = ProtocolGRPC, "collector:4317", map[string]string{"X!Key": "v"}
		}, []string{`headers.X!Key: "x!key" is not a valid gRPC header name`}},
		{"grpc header value not ASCII", func(c *Config) {
			c.Protocol, c.Endpoint, c.Headers = ProtocolGRPC, "collector:4317", map[string]string{"X-Key": "é"}
		}, []string{"headers.X-Key: a gRPC header value must be printable ASCII"}},
		{"grpc binary header", func(c *Config) {
			c.Protocol, c.Endpoint, c.Headers = ProtocolGRPC, "collector:4317", map[string]string{"x-token-bin": "é"}
		}, nil},
		{"header in both", func(c *Config) {
			c.Headers = map[string]string{"k": "v"}
			c.HeaderFiles = map[string]string{"k": "/f"}
		}, []string{"header_files.k: also set in headers"}},
		{"compression", func(c *Config) { c.Compression = "zstd" }, []string{`compression: "zstd" is not none or gzip`}},
		{"durations", func(c *Config) { c.Timeout, c.Retry.Initial = 0, time.Hour }, []string{"timeout: must be positive", "retry.initial: 1h0m0s is more than retry.max"}},
		{"batch and buffer", func(c *Config) {
			c.Batch.MaxBytes, c.Buffer.MaxRecords, c.Buffer.Type, c.Buffer.OnFull = 10, 1, "disk", "drop"
		}, []string{"batch.max_bytes: must be at least 1024", "buffer.max_records: 1 is less than batch.max_records", `buffer.type: "disk"`, `buffer.on_full: "drop"`}},
		{"TLS options on plain http", func(c *Config) { c.TLS.CAFile = "/ca.pem" }, []string{"tls: TLS options are set but the endpoint is plain text"}},
		{"TLS options on insecure grpc", func(c *Config) {
			c.Protocol, c.Endpoint, c.Insecure, c.TLS.ServerName = ProtocolGRPC, "collector:4317", true, "c"
		}, []string{"tls: TLS options are set"}},
		{"cert without key", func(c *Config) { c.Endpoint, c.TLS.CertFile = "https://c", "/cert.pem" }, []string{"tls: cert_file and key_file go together"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			c.change(&cfg)
			err := cfg.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestTarget(t *testing.T) {
	cases := []struct {
		name                   string
		protocol, endpoint, le string
		want                   string
	}{
		{"http: /v1/logs appended", ProtocolHTTP, "http://c:4318", "", "http://c:4318/v1/logs"},
		{"http: appended to a path", ProtocolHTTP, "https://gw.example/otlp/", "", "https://gw.example/otlp/v1/logs"},
		{"http: logs_endpoint as it is", ProtocolHTTP, "http://c:4318", "https://gw.example/custom", "https://gw.example/custom"},
		{"grpc: no path appended", ProtocolGRPC, "http://c:4317", "", "http://c:4317"},
		{"http: the spec's default", ProtocolHTTP, "", "", "http://localhost:4318/v1/logs"},
		{"grpc: the spec's default", ProtocolGRPC, "", "", "http://localhost:4317"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Endpoint, cfg.LogsEndpoint = c.protocol, c.endpoint, c.le
			if got := cfg.target(); got != c.want {
				t.Errorf("target %q, want %q", got, c.want)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		check   func(c Config) string // "" when right
		wantErr string
	}{
		{"nothing set changes nothing", map[string]string{}, func(c Config) string {
			if c.Enabled || c.Endpoint != "" || c.target() != "http://localhost:4318/v1/logs" {
				return "changed"
			}
			return ""
		}, ""},
		{"endpoint enables, /v1/logs appended for http", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, func(c Config) string {
			if !c.Enabled || c.target() != "http://collector:4318/v1/logs" {
				return "target " + c.target()
			}
			return ""
		}, ""},
		{"logs endpoint used as it is, over the general one", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
			"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://b:4318/custom/logs"}, func(c Config) string {
			if !c.Enabled || c.target() != "http://b:4318/custom/logs" {
				return "target " + c.target()
			}
			return ""
		}, ""},
		{"headers URL-decoded, logs headers over general ones", map[string]string{
			"OTEL_EXPORTER_OTLP_HEADERS":      "api-key=a%20b%2Cc , tenant=one,x=1",
			"OTEL_EXPORTER_OTLP_LOGS_HEADERS": "tenant=two"}, func(c Config) string {
			if c.Headers["api-key"] != "a b,c" || c.Headers["tenant"] != "two" || c.Headers["x"] != "1" {
				return "headers " + strings.Join(mapPairs(c.Headers), " ")
			}
			return ""
		}, ""},
		{"protocol, compression, timeout, insecure, certificates", map[string]string{
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_EXPORTER_OTLP_INSECURE": "true",
			"OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem", "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/k.pem"},
			func(c Config) string {
				if c.Protocol != ProtocolGRPC || c.Compression != "gzip" || c.Timeout != 2500*time.Millisecond || !c.Insecure ||
					c.TLS.CAFile != "/ca.pem" || c.TLS.CertFile != "/c.pem" || c.TLS.KeyFile != "/k.pem" {
					return "got " + c.Protocol + " " + c.Compression + " " + c.Timeout.String()
				}
				return ""
			}, ""},
		{"resource attributes and service name", map[string]string{
			"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,deployment.environment.name=prod", "OTEL_SERVICE_NAME": "web"}, func(c Config) string {
			if c.Resource["service.name"] != "web" || c.Resource["deployment.environment.name"] != "prod" {
				return "resource " + strings.Join(mapPairs(c.Resource), " ")
			}
			return ""
		}, ""},
		{"bad timeout", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, nil, `OTEL_EXPORTER_OTLP_TIMEOUT: "10s" is not a number of milliseconds`},
		{"bad header pair keeps the good ones", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "good=1,bad"}, func(c Config) string {
			if c.Headers["good"] != "1" {
				return "good header lost"
			}
			return ""
		}, `OTEL_EXPORTER_OTLP_HEADERS: "bad" is not key=value`},
		{"a bad protocol is left for Validate", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, func(c Config) string {
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "protocol:") {
				return "Validate did not catch it"
			}
			return ""
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			err := cfg.ApplyEnv(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("ApplyEnv: %v, want %q", err, c.wantErr)
			}
			if c.check != nil {
				if msg := c.check(cfg); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

func mapPairs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
