package otlpe2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.yaml.in/yaml/v3"
)

// TestOTLPDeployExample runs the two halves of deploy/otelcol/ together,
// over gRPC and HTTP: the collector's OTLP receiver built from the
// receivers.otlp section of config.yaml (on loopback ports instead of its
// 0.0.0.0:4317 and :4318), and the adapter on obsadapter.yaml (its paths
// moved to a temporary directory) with the environment the file's comment
// gives the pod. Every record arrives, with the file's resource attribute.
func TestOTLPDeployExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "otelcol", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Receivers map[string]map[string]any `yaml:"receivers"`
		Service   struct {
			Pipelines map[string]struct {
				Receivers []string `yaml:"receivers"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if r := doc.Service.Pipelines["logs"].Receivers; len(r) != 1 || r[0] != "otlp" {
		t.Fatalf("the logs pipeline's receivers are %v, want [otlp]", r)
	}
	f := otlpreceiver.NewFactory()
	base := f.CreateDefaultConfig().(*otlpreceiver.Config)
	if err := confmap.NewFromStringMap(doc.Receivers["otlp"]).Unmarshal(base); err != nil {
		t.Fatalf("receivers.otlp: %v", err)
	}
	if err := base.Protocols.Validate(); err != nil {
		t.Fatalf("receivers.otlp: %v", err)
	}
	grpcCfg, httpCfg := base.Protocols.GRPC.Get(), base.Protocols.HTTP.Get()
	if grpcCfg == nil || httpCfg == nil || grpcCfg.NetAddr.Endpoint != "0.0.0.0:4317" || httpCfg.ServerConfig.NetAddr.Endpoint != "0.0.0.0:4318" {
		t.Fatalf("receivers.otlp does not listen on gRPC 0.0.0.0:4317 and HTTP 0.0.0.0:4318")
	}

	sidecar, err := os.ReadFile(filepath.Join(root, "deploy", "otelcol", "obsadapter.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			r := startReceiverFrom(t, base, nil)
			dir := t.TempDir()
			logs := filepath.Join(dir, "app")
			if err := os.MkdirAll(logs, 0o755); err != nil {
				t.Fatal(err)
			}
			config := string(sidecar)
			for from, to := range map[string]string{"/var/log/app/*.log": filepath.Join(logs, "*.log"), "/var/lib/obsadapter": filepath.Join(dir, "state")} {
				if !strings.Contains(config, from) {
					t.Fatalf("obsadapter.yaml no longer has %s", from)
				}
				config = strings.ReplaceAll(config, from, to)
			}
			writeNumbered(t, filepath.Join(logs, "app.log"), "app", 0, 200)
			startAdapter(t, dir, config, "OTEL_EXPORTER_OTLP_ENDPOINT="+proto.endpoint(r), "OTEL_EXPORTER_OTLP_PROTOCOL="+proto.name)
			if !r.WaitRecords(200, time.Minute) {
				t.Fatalf("%d of 200 records arrived", r.Records())
			}
			checkDelivered(t, r, "app", 200, never)
			for _, g := range flatten(r.Accepted()) {
				if g.resource["deployment.environment.name"] != "production" || g.resource["service.name"] != "checkout" {
					t.Fatalf("resource %v: not the file's deployment.environment.name and the pod's service.name", g.resource)
				}
			}
		})
	}
}
