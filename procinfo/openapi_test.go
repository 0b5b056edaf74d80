package procinfo

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// openAPI is docs/openapi.yaml with a checker for the subset of OpenAPI 3 /
// JSON Schema it uses: $ref, allOf, type, properties, required, items, enum,
// minimum, maximum and format date-time. Unlike JSON Schema's default, objects
// are closed: a response property the document does not declare is an error,
// so the document cannot fall behind the code. allOf members' properties are
// merged for that check. A library (kin-openapi) would add a dependency tree
// for about 150 lines of checking, so the subset is checked here.
type openAPI struct {
	doc map[string]any
}

func loadOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("docs/openapi.yaml: openapi version %q, want 3.x", v)
	}
	return &openAPI{doc: doc}
}

func (o *openAPI) at(path ...string) map[string]any {
	var cur any = o.doc
	for _, p := range path {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	m, _ := cur.(map[string]any)
	return m
}

// resolve follows $ref within the document.
func (o *openAPI) resolve(s map[string]any) map[string]any {
	for s != nil {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = o.at(strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
		if s == nil {
			panic("dangling $ref " + ref)
		}
	}
	return s
}

// responseSchema finds the JSON schema documented for a path template,
// method and status.
func (o *openAPI) responseSchema(tmpl, method, status string) (map[string]any, error) {
	op := o.at("paths", tmpl, strings.ToLower(method))
	if op == nil {
		return nil, fmt.Errorf("%s %s is not documented", method, tmpl)
	}
	resp, _ := op["responses"].(map[string]any)
	r, _ := resp[status].(map[string]any)
	if r == nil {
		return nil, fmt.Errorf("%s %s: status %s is not documented", method, tmpl, status)
	}
	r = o.resolve(r)
	content, _ := r["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	schema, _ := media["schema"].(map[string]any)
	if schema == nil {
		return nil, fmt.Errorf("%s %s %s: no application/json schema", method, tmpl, status)
	}
	return schema, nil
}

// validate checks v (decoded with encoding/json) against schema and returns
// every violation, each with its JSON path.
func (o *openAPI) validate(path string, v any, schema map[string]any) []string {
	s := o.resolve(schema)
	if all, ok := s["allOf"].([]any); ok {
		merged := map[string]any{"type": "object", "properties": map[string]any{}, "required": []any{}}
		for _, m := range all {
			ms := o.resolve(m.(map[string]any))
			for k, p := range mapOf(ms["properties"]) {
				merged["properties"].(map[string]any)[k] = p
			}
			if r, ok := ms["required"].([]any); ok {
				merged["required"] = append(merged["required"].([]any), r...)
			}
		}
		s = merged
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			fail("%v is not one of %v", v, enum)
		}
	}
	switch typ, _ := s["type"].(string); typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return errs
		}
		props := mapOf(s["properties"])
		for _, r := range listOf(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("required property %q missing", r)
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				fail("property %q is not documented", k)
				continue
			}
			errs = append(errs, o.validate(path+"."+k, m[k], ps)...)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			fail("want an array, got %T", v)
			return errs
		}
		items, _ := s["items"].(map[string]any)
		for i, e := range a {
			errs = append(errs, o.validate(fmt.Sprintf("%s[%d]", path, i), e, items)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("want a string, got %T", v)
			return errs
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok {
			fail("want a %s, got %T", typ, v)
			return errs
		}
		if typ == "integer" && n != math.Trunc(n) {
			fail("%v is not an integer", n)
		}
		if min, ok := s["minimum"].(int); ok && n < float64(min) {
			fail("%v is below the minimum %d", n, min)
		}
		if max, ok := s["maximum"].(int); ok && n > float64(max) {
			fail("%v is above the maximum %d", n, max)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want a boolean, got %T", v)
		}
	case "":
		fail("schema without a type")
	default:
		fail("checker does not know type %q", typ)
	}
	return errs
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
func listOf(v any) []any         { l, _ := v.([]any); return l }

// checkResponse validates one real response body against the document.
func (o *openAPI) checkResponse(t *testing.T, tmpl, method string, status int, body []byte) {
	t.Helper()
	schema, err := o.responseSchema(tmpl, method, fmt.Sprint(status))
	if err != nil {
		t.Error(err)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: body is not JSON: %v", method, tmpl, err)
		return
	}
	for _, e := range o.validate("$", v, schema) {
		t.Errorf("%s %s %d: %s", method, tmpl, status, e)
	}
}

// TestOpenAPIChecker makes sure the checker itself rejects what it should.
func TestOpenAPIChecker(t *testing.T) {
	o := loadOpenAPI(t)
	schema := map[string]any{"$ref": "#/components/schemas/Socket"}
	tests := []struct {
		name  string
		body  string
		nerrs int
	}{
		{"valid", `{"protocol":"tcp","address":"::","port":80}`, 0},
		{"undocumented property", `{"protocol":"tcp","address":"::","port":80,"x":1}`, 1},
		{"missing required", `{"protocol":"tcp","port":80}`, 1},
		{"bad enum", `{"protocol":"sctp","address":"::","port":80}`, 1},
		{"above maximum", `{"protocol":"tcp","address":"::","port":70000}`, 1},
		{"wrong type", `{"protocol":"tcp","address":1,"port":"80"}`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
				t.Fatal(err)
			}
			if errs := o.validate("$", v, schema); len(errs) != tc.nerrs {
				t.Errorf("got %d errors %v, want %d", len(errs), errs, tc.nerrs)
			}
		})
	}
}
