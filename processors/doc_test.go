package processors

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/obsadapter/obsadapter/secrets"
)

// TestDocExamples: every YAML example of docs/processors.md that is a
// processors list decodes strictly and validates.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/processors.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 8 {
		t.Fatalf("%d YAML examples, want one per processor and more", len(blocks))
	}
	env := testEnv()
	env.Parsers = func(name string) (ParseFunc, bool) { return kvParser, name == "json" }
	env.Getenv = func(string) (string, bool) { return "a-key-of-sixteen-bytes-or-more", true }
	for i, b := range blocks {
		var cfg struct {
			Processors []Spec                        `yaml:"processors"`
			Sources    []struct{ Processors []Spec } `yaml:"sources"`
		}
		dec := yaml.NewDecoder(bytes.NewReader(b[1]))
		if !bytes.Contains(b[1], []byte("sources:")) {
			dec.KnownFields(true)
		}
		if err := dec.Decode(&cfg); err != nil {
			t.Errorf("example %d: %v\n%s", i, err, b[1])
			continue
		}
		specs := cfg.Processors
		for _, s := range cfg.Sources {
			specs = append(specs, s.Processors...)
		}
		if len(specs) == 0 {
			t.Errorf("example %d has no processors", i)
		}
		if probs := Validate(specs, env); len(probs) > 0 {
			t.Errorf("example %d: %v\n%s", i, probs, b[1])
		}
	}
}

// TestDocRules: the rule table of docs/processors.md lists every rule, and
// says which are optional.
func TestDocRules(t *testing.T) {
	doc, err := os.ReadFile("../docs/processors.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range secrets.Rules {
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(r.Name) + "` \\| *(yes)? *\\|").FindSubmatch(doc)
		if row == nil {
			t.Errorf("rule %s is not in the table", r.Name)
			continue
		}
		if (len(row[1]) > 0) != r.Optional {
			t.Errorf("rule %s: optional is %v, the table says %q", r.Name, r.Optional, row[1])
		}
	}
	if !strings.Contains(string(doc), "`"+secretFieldRule+"`") {
		t.Errorf("%s is not documented", secretFieldRule)
	}
}
