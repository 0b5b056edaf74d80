package collector

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/otlp"
)

// TestOTLPEnvPrecedence checks the order in which exporters.otlp is
// settled: defaults, then the OTEL_EXPORTER_OTLP_* variables, then the
// file, then the --otlp flag; and that a problem with a value a variable
// set names the variable.
func TestOTLPEnvPrecedence(t *testing.T) {
	const sources = "sources:\n  - {name: app, type: file, include: [\"/x/*.log\"]}\n"
	tests := []struct {
		name    string
		env     map[string]string
		yaml    string // after sources
		flag    string // --otlp
		want    func(t *testing.T, c Config)
		wantErr string // the whole error of ParseConfig, else of Validate
	}{
		{
			name: "the endpoint variable enables the exporter",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "2500"},
			want: func(t *testing.T, c Config) {
				o := c.Exporters.OTLP
				if !o.Enabled || o.Endpoint != "http://collector:4318" || o.Timeout != 2500*time.Millisecond {
					t.Errorf("enabled %v, endpoint %q, timeout %s", o.Enabled, o.Endpoint, o.Timeout)
				}
			},
		},
		{
			name: "the logs variables win over the general ones",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://all:4318", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs:4318/custom",
				"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf"},
			want: func(t *testing.T, c Config) {
				if o := c.Exporters.OTLP; o.LogsEndpoint != "http://logs:4318/custom" || o.Protocol != "http/protobuf" {
					t.Errorf("logs_endpoint %q, protocol %q", o.LogsEndpoint, o.Protocol)
				}
			},
		},
		{
			name: "a key in the file wins over its variable",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			yaml: "exporters:\n  otlp: {endpoint: \"http://file:4318\", protocol: http/protobuf}\n",
			want: func(t *testing.T, c Config) {
				if o := c.Exporters.OTLP; !o.Enabled || o.Endpoint != "http://file:4318" || o.Protocol != "http/protobuf" {
					t.Errorf("enabled %v, endpoint %q, protocol %q", o.Enabled, o.Endpoint, o.Protocol)
				}
			},
		},
		{
			name: "an endpoint in the file wins over the logs endpoint variable",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://env:4318/v1/logs"},
			yaml: "exporters:\n  otlp: {endpoint: \"http://file:4318\"}\n",
			want: func(t *testing.T, c Config) {
				if o := c.Exporters.OTLP; o.Endpoint != "http://file:4318" || o.LogsEndpoint != "" {
					t.Errorf("endpoint %q, logs_endpoint %q", o.Endpoint, o.LogsEndpoint)
				}
			},
		},
		{
			name: "the file turns off what the environment turned on",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318"},
			yaml: "exporters:\n  otlp: {enabled: false}\n",
			want: func(t *testing.T, c Config) {
				if c.Exporters.OTLP.Enabled {
					t.Error("enabled")
				}
			},
		},
		{
			name: "headers and resource attributes merge, the file's value per name",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_HEADERS": "x-a=1,x-b=2",
				"OTEL_SERVICE_NAME": "checkout", "OTEL_RESOURCE_ATTRIBUTES": "team=shop,deployment.environment.name=prod"},
			yaml: "exporters:\n  otlp:\n    headers: {x-b: from-file}\n    resource: {team: payments}\n",
			want: func(t *testing.T, c Config) {
				o := c.Exporters.OTLP
				if want := map[string]string{"x-a": "1", "x-b": "from-file"}; !reflect.DeepEqual(o.Headers, want) {
					t.Errorf("headers %v, want %v", o.Headers, want)
				}
				if want := map[string]string{"service.name": "checkout", "team": "payments", "deployment.environment.name": "prod"}; !reflect.DeepEqual(o.Resource, want) {
					t.Errorf("resource %v, want %v", o.Resource, want)
				}
			},
		},
		{
			name:    "a bad value from a variable names the variable",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/json"},
			yaml:    "exporters:\n  otlp: {compression: gzip}\n",
			wantErr: `exporters.otlp.protocol (set by OTEL_EXPORTER_OTLP_LOGS_PROTOCOL): "http/json" is not grpc or http/protobuf`,
		},
		{
			name:    "a variable that does not parse is a problem of the file's load",
			env:     map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
			wantErr: `exporters.otlp.timeout (set by OTEL_EXPORTER_OTLP_TIMEOUT): "10s" is not a number of milliseconds`,
		},
		{
			name: "a variable that does not parse is moot when the file sets its key",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"},
			yaml: "exporters:\n  otlp: {timeout: 3s}\n",
			want: func(t *testing.T, c Config) {
				if c.Exporters.OTLP.Timeout != 3*time.Second {
					t.Errorf("timeout %s", c.Exporters.OTLP.Timeout)
				}
			},
		},
		{
			name: "variables alone do not check an exporter that is off",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"},
			want: func(t *testing.T, c Config) {
				if c.Exporters.OTLP.Enabled {
					t.Error("enabled without an endpoint")
				}
			},
		},
		{
			name: "--otlp wins over the file and every endpoint variable",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://env:4318/v1/logs"},
			yaml: "exporters:\n  otlp: {enabled: false, logs_endpoint: \"http://file:4318/v1/logs\"}\n",
			flag: "http://flag:4318",
			want: func(t *testing.T, c Config) {
				if o := c.Exporters.OTLP; !o.Enabled || o.Endpoint != "http://flag:4318" || o.LogsEndpoint != "" {
					t.Errorf("enabled %v, endpoint %q, logs_endpoint %q", o.Enabled, o.Endpoint, o.LogsEndpoint)
				}
			},
		},
		{
			name:    "a bad --otlp names the flag",
			flag:    "collector:4318",
			wantErr: `exporters.otlp.endpoint (set by --otlp): "collector:4318" is not an http or https URL`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearOTLPEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := ParseConfig([]byte(sources + tt.yaml))
			if err == nil {
				ApplyFlags(&cfg, Flags{OTLP: tt.flag})
				err = cfg.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error =\n%v\nwant\n%s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, cfg)
		})
	}
}

// clearOTLPEnv unsets, for the test, every variable exporters.otlp reads.
func clearOTLPEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "OTEL_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// TestOTLPResource checks the exporter's resource: the kubernetes section,
// else the downward-API variables, and the host name.
func TestOTLPResource(t *testing.T) {
	for k, v := range map[string]string{"POD_NAMESPACE": "shop", "POD_NAME": "checkout-7d9f", "POD_UID": "0a1b-2c3d",
		"NODE_NAME": "node-1", "POD_APP_NAME": "checkout", "OBSADAPTER_CONTAINER": "obsadapter"} {
		t.Setenv(k, v)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	got := otlpResource(KubernetesConfig{Namespace: "payments", AppName: "ledger"})
	want := otlp.Resource{Namespace: "payments", PodName: "checkout-7d9f", PodUID: "0a1b-2c3d", NodeName: "node-1", HostName: host, ServiceName: "ledger"}
	if got != want {
		t.Errorf("resource %+v\nwant %+v", got, want)
	}
}
