package collector

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	typeOfConfig      = reflect.TypeOf(Config{})
	typeOfUnmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	typeOfDuration    = reflect.TypeOf(time.Duration(0))
)

// checker walks the YAML tree beside the Go type it decodes into and collects
// every problem it finds, each with its key path and line: unknown keys (with
// a suggestion for a near miss), values of the wrong shape or type, duplicate
// keys, aliases and environment references that cannot be expanded. It
// expands environment references in scalar values before they are decoded.
//
// A node with a problem is taken out of the tree (a mapping loses the pair, a
// list item becomes null so that the indexes of the others stay), so that
// what remains decodes cleanly over the defaults and can be validated too:
// one run reports everything.
type checker struct {
	problems []Problem
}

func (c *checker) add(n *yaml.Node, path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Line: n.Line, Path: orRoot(path), Message: fmt.Sprintf(format, args...)})
}

// check reports whether n is fit to decode into t; when it is not, the
// problem has been recorded and the caller drops n.
func (c *checker) check(n *yaml.Node, path string, t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		c.add(n, path, "YAML aliases (*%s) are not supported in the config; write the value out", n.Value)
		return false
	}
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return true
		}
		v, err := expandEnv(n.Value)
		if err != nil {
			c.add(n, path, "%v", err)
			return false
		}
		if v != n.Value {
			n.Value = v
			n.Tag = "" // let the decoder re-resolve the expanded text's type
			n.Style = 0
		}
	}
	if reflect.PointerTo(t).Implements(typeOfUnmarshaler) {
		if !c.expandAll(n, path) {
			return false
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			c.add(n, path, "%s", stripLine(err.Error()))
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			c.add(n, path, "must be a section of keys (%s), not %s", keyExamples(t), describe(n))
			return false
		}
		c.mapping(n, path, yamlFields(t))
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.add(n, path, "%s", listMessage(n, path, t))
			return false
		}
		for i, item := range n.Content {
			if !c.check(item, fmt.Sprintf("%s[%d]", path, i), t.Elem()) {
				n.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: item.Line, Column: item.Column}
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.add(n, path, "must be a mapping of names to values, e.g. {name: value}, not %s", describe(n))
			return false
		}
		c.mapping(n, path, nil)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !c.check(n.Content[i+1], join(path, n.Content[i].Value), t.Elem()) {
				n.Content = append(n.Content[:i], n.Content[i+2:]...)
				i -= 2
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			c.add(n, path, "must be a single value (%s), not %s", scalarNoun(path, t), describe(n))
			return false
		}
		if n.Tag == "!!null" {
			return true
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			c.add(n, path, "%s", scalarMessage(n, path, t))
			return false
		}
	}
	return true
}

// mapping checks the keys of a mapping: duplicates, and, when fields is not
// nil (a struct), unknown keys and each value against its field's type.
func (c *checker) mapping(n *yaml.Node, path string, fields map[string]reflect.Type) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		ok := true
		switch ft, known := fields[k.Value]; {
		case k.Kind != yaml.ScalarNode:
			c.add(k, path, "a key must be a plain name, not %s", describe(k))
			ok = false
		case seen[k.Value] > 0:
			c.add(k, p, "appears twice in the same section (first on line %d); keep one", seen[k.Value])
			ok = false
		case fields != nil && !known:
			c.add(k, p, "%s", unknownKeyMessage(k.Value, fields))
			ok = false
		case fields != nil:
			ok = c.check(v, p, ft)
		}
		if k.Kind == yaml.ScalarNode && seen[k.Value] == 0 {
			seen[k.Value] = k.Line
		}
		if !ok {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			i -= 2
		}
	}
}

// expandAll expands environment references below a node whose type decodes
// itself, so ${VAR} works there too.
func (c *checker) expandAll(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		c.add(n, path, "YAML aliases (*%s) are not supported in the config; write the value out", n.Value)
		return false
	}
	if n.Kind == yaml.ScalarNode {
		v, err := expandEnv(n.Value)
		if err != nil {
			c.add(n, path, "%v", err)
			return false
		}
		n.Value = v
		return true
	}
	ok := true
	for _, ch := range n.Content {
		ok = c.expandAll(ch, path) && ok
	}
	return ok
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

// stripLine drops the "line N: " (and "yaml: ") that yaml.v3 and custom
// unmarshalers put before a message: the problem carries its line already.
func stripLine(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				return rest[i+2:]
			}
		}
	}
	return msg
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
