package prometheus

import (
	"bytes"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDocsExample decodes the example of docs/metrics.md strictly, as the
// collector decodes its config, and validates it, so the docs cannot rot.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("```yaml\n"))
	example, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("docs/metrics.md has no yaml example")
	}
	var file struct {
		Exporters struct {
			Prometheus Config `yaml:"prometheus"`
		} `yaml:"exporters"`
	}
	file.Exporters.Prometheus = DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(example))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("decoding the example: %v", err)
	}
	cfg := file.Exporters.Prometheus
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example does not validate: %v", err)
	}
	if len(cfg.Metrics) != 2 || cfg.Metrics[1].Buckets[3] != 10 || cfg.Metrics[1].ExpireAfter.String() != "1h0m0s" {
		t.Errorf("decoded %+v", cfg.Metrics)
	}
}
