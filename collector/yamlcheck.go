package collector

import (
	"fmt"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	typeOfConfig      = reflect.TypeOf(Config{})
	typeOfUnmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// checkNode walks the YAML tree beside the Go type it decodes into. It rejects
// unknown keys with their full path and line (yaml.v3's own KnownFields error
// names neither), and expands environment references in scalar values before
// they are decoded.
func checkNode(n *yaml.Node, path string, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("%s (line %d): YAML aliases are not supported in the config", orRoot(path), n.Line)
	}
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return nil
		}
		v, err := expandEnv(n.Value)
		if err != nil {
			return fmt.Errorf("%s (line %d): %w", orRoot(path), n.Line, err)
		}
		if v != n.Value {
			n.Value = v
			n.Tag = "" // let the decoder re-resolve the expanded text's type
			n.Style = 0
		}
	}
	if reflect.PointerTo(t).Implements(typeOfUnmarshaler) {
		return expandAll(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports the type error
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("%s (line %d): unknown key (known keys: %s)", join(path, k.Value), k.Line, strings.Join(sortedKeys(fields), ", "))
			}
			if err := checkNode(v, join(path, k.Value), ft); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			if err := checkNode(item, fmt.Sprintf("%s[%d]", path, i), t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(n.Content[i+1], join(path, n.Content[i].Value), t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandAll expands environment references below a node whose type decodes
// itself, so ${VAR} works there too.
func expandAll(n *yaml.Node, path string) error {
	if n.Kind == yaml.ScalarNode {
		v, err := expandEnv(n.Value)
		if err != nil {
			return fmt.Errorf("%s (line %d): %w", orRoot(path), n.Line, err)
		}
		n.Value = v
		return nil
	}
	for _, c := range n.Content {
		if err := expandAll(c, path); err != nil {
			return err
		}
	}
	return nil
}

// yamlFields maps each YAML key of a struct, including inlined structs, to
// its field type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(top level)"
	}
	return path
}

// expandEnv replaces ${VAR} (an unset variable is an error), ${VAR:-default}
// (default when unset or empty) and $$ (a literal $). A lone $ stays as it is,
// so regexes such as `end$` need no escaping.
func expandEnv(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ in %q", s)
			}
			expr := s[i+2 : i+end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if !envNameOK(name) {
				return "", fmt.Errorf("bad environment reference ${%s}", expr)
			}
			val, set := os.LookupEnv(name)
			switch {
			case hasDef && val == "":
				val = def
			case !set:
				return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for an optional one)", name, name)
			}
			b.WriteString(val)
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func envNameOK(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
