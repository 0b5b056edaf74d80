package collector

import (
	"fmt"
	"maps"
	"math"
	"net"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"weak"

	"go.yaml.in/yaml/v3"
)

// Problem is one mistake in a configuration: where it is and what is wrong.
type Problem struct {
	// Line is the 1-based line of the key (or of its value, for a value on
	// a line of its own) in the file; 0 when it is not in the file.
	Line int
	// Path is the key path, e.g. sources[0].start_at; empty for the file as a whole.
	Path string
	// Message says what is wrong, and what would be right when that is known.
	Message string
	// Flag is the command-line flag that set the value, when one did.
	Flag string
}

// String renders "line N: key.path: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Path)
	if p.Flag != "" {
		fmt.Fprintf(&b, " (set by %s)", p.Flag)
	}
	if p.Message != "" {
		if p.Path != "" || p.Flag != "" {
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// ConfigError is every problem of a configuration, sorted by line (problems
// that have none first), one per line of its message.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// newConfigError sorts the problems by line and returns nil when there are none.
func newConfigError(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
	return &ConfigError{Problems: ps}
}

// problemsOf turns the messages of a (possibly joined) error, each starting
// with its key path below prefix, into problems.
func problemsOf(prefix string, err error) []Problem {
	var out []Problem
	for _, l := range strings.Split(err.Error(), "\n") {
		if l == "" {
			continue
		}
		path, msg := l, ""
		if i := strings.Index(l, ": "); i >= 0 && !strings.Contains(l[:i], " ") {
			path, msg = l[:i], l[i+2:]
		} else if i := strings.IndexByte(l, ' '); i >= 0 {
			path, msg = l[:i], l[i+1:]
		}
		switch {
		case prefix == "":
		case strings.HasPrefix(path, "["):
			path = prefix + path
		default:
			path = prefix + "." + path
		}
		out = append(out, Problem{Path: path, Message: msg})
	}
	return out
}

// ConfigOrigin marks a Config read from a file, so that Validate can give
// the line of each problem. It carries no data of its own (the lines are
// kept aside, keyed by its identity): any two origins are deeply equal, so
// comparing two configs compares only their settings.
type ConfigOrigin struct {
	_ *byte // not zero-sized, so every origin has an address of its own
}

// origins maps each live ConfigOrigin to the lines of its file; an entry
// goes when its origin is collected.
var origins sync.Map // weak.Pointer[ConfigOrigin] → *lineIndex

func newOrigin(ix *lineIndex) *ConfigOrigin {
	o := &ConfigOrigin{}
	key := weak.Make(o)
	origins.Store(key, ix)
	runtime.AddCleanup(o, func(k weak.Pointer[ConfigOrigin]) { origins.Delete(k) }, key)
	return o
}

func (o *ConfigOrigin) index() *lineIndex {
	if o == nil {
		return nil
	}
	v, _ := origins.Load(weak.Make(o))
	ix, _ := v.(*lineIndex)
	return ix
}

// withFlags returns an origin whose keys at these paths were set by these
// command-line flags (path → flag), not by the file.
func (o *ConfigOrigin) withFlags(flags map[string]string) *ConfigOrigin {
	ix := &lineIndex{lines: map[string]int{}, flags: map[string]string{}}
	if old := o.index(); old != nil {
		ix.lines, ix.flags = old.lines, maps.Clone(old.flags)
	}
	for p, f := range flags {
		ix.flags[p] = f
	}
	return newOrigin(ix)
}

// lineIndex knows the line of every key path of a file, and which paths
// command-line flags have overridden since.
type lineIndex struct {
	lines map[string]int    // key path → line
	flags map[string]string // key path → flag
}

// indexLines records the line of every key and list item below n: a scalar
// value's own line (a regex on the line after its key is found there), else
// the key's.
func indexLines(n *yaml.Node) *lineIndex {
	ix := &lineIndex{lines: map[string]int{}, flags: map[string]string{}}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if _, dup := ix.lines[p]; dup {
					continue
				}
				ix.lines[p] = k.Line
				if v.Kind == yaml.ScalarNode && v.Line > 0 {
					ix.lines[p] = v.Line
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				ix.lines[p] = c.Line
				walk(c, p)
			}
		}
	}
	walk(n, "")
	return ix
}

// locate sets the problem's line, or its flag: the path's own, else its
// nearest ancestor's (a missing key is reported where its section is).
func (ix *lineIndex) locate(p *Problem) {
	if ix == nil || p.Line > 0 {
		return
	}
	for q := p.Path; q != ""; q = parentPath(q) {
		if f, ok := ix.flags[q]; ok {
			p.Flag = f
			return
		}
	}
	for q := p.Path; q != ""; q = parentPath(q) {
		if l, ok := ix.lines[q]; ok {
			p.Line = l
			return
		}
	}
}

// parentPath strips the last ".key" or "[i]" of a key path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// covers reports whether a problem at path a makes one at path b moot:
// b is a, below a, or the list a problem item belongs to.
func covers(a, b string) bool {
	return a == b || under(b, a) || under(a, b) && strings.HasPrefix(a[len(b):], "[")
}

func under(p, parent string) bool {
	return len(p) > len(parent) && strings.HasPrefix(p, parent) && (p[len(parent)] == '.' || p[len(parent)] == '[')
}

// unknownKeyMessage suggests the known key nearest to a misspelt one.
func unknownKeyMessage(key string, fields map[string]reflect.Type) string {
	if s := suggest(key, sortedKeys(fields)); s != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", s)
	}
	return "unknown key; the keys here are " + strings.Join(sortedKeys(fields), ", ")
}

// suggest returns the known key within two edits (a swap of neighbours is
// one) of key, or written the same up to case, '-' and '_'; "" if none.
func suggest(key string, known []string) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	best, bestD := "", 3
	for _, k := range known {
		if norm(k) == norm(key) {
			return k
		}
		if d := editDistance(key, k); d < bestD && d < utf8.RuneCountInString(key) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of adjacent characters.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// describe names what a node is, for "must be X, not Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a section of keys"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "the single value " + quote(n.Value)
	}
	return "this"
}

// quote quotes a value for a message, shortened when it is long.
func quote(s string) string {
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return strconv.Quote(s)
}

// keyExamples lists the first few keys of a section.
func keyExamples(t reflect.Type) string {
	keys := sortedKeys(yamlFields(t))
	if len(keys) > 4 {
		return strings.Join(keys[:4], ", ") + ", ..."
	}
	return strings.Join(keys, ", ")
}

// lastKey is the last key name of a path: include for sources[0].include[2].
func lastKey(path string) string {
	for strings.HasSuffix(path, "]") {
		path = path[:strings.LastIndexByte(path, '[')]
	}
	return path[strings.LastIndexByte(path, '.')+1:]
}

// listHints say, per key, what its list holds and how one looks.
var listHints = map[string][2]string{
	"include":                       {"a list of globs", `["/var/log/app/*.log"]`},
	"exclude":                       {"a list of globs", `["*.gz"]`},
	"command":                       {"a list of the program and its arguments", `["/app", "--flag"]`},
	"containers":                    {"a list of container names", `["app", "worker"]`},
	"failover":                      {"a list of host:port addresses", `["fluentd-2:24224"]`},
	"patterns":                      {"a list of regular expressions", `['token=(\S+)']`},
	"buckets":                       {"a list of numbers", `[0.1, 0.5, 1, 5]`},
	"http_request_duration_buckets": {"a list of numbers", `[0.1, 0.5, 1, 5]`},
	"source":                        {"a list of source names", `["app"]`},
	"format":                        {"a list of format names", `["json", "logfmt"]`},
	"level":                         {"a list of levels", `["error", "fatal"]`},
	"sources":                       {"a list of sources", `"- name: app" lines, one per source`},
	"processors":                    {"a list of processors", `"- filter: {keep: {min_level: info}}" lines, one per step`},
	"metrics":                       {"a list of metric rules", `"- name: app_errors_total" lines, one per rule`},
}

// listMessage says that a list was expected, and how to write one.
func listMessage(n *yaml.Node, path string, t reflect.Type) string {
	noun, example := "a list", "[a, b]"
	if h, ok := listHints[lastKey(path)]; ok {
		noun, example = h[0], h[1]
	}
	msg := fmt.Sprintf("must be %s, e.g. %s", noun, example)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		return msg + ", not " + describe(n)
	}
	one := n.Value
	if t.Elem().Kind() == reflect.String {
		one = strconv.Quote(one)
	}
	if t.Elem().Kind() == reflect.Struct {
		return msg + ", not " + describe(n)
	}
	return fmt.Sprintf("%s; for just one, write [%s]", msg, one)
}

// isSize tells whether an integer key counts bytes.
func isSize(path string) bool { return strings.HasSuffix(lastKey(path), "_bytes") }

// scalarNoun names the kind of value a key takes.
func scalarNoun(path string, t reflect.Type) string {
	switch {
	case t == typeOfDuration:
		return `a duration such as "30s"`
	case t.Kind() == reflect.Bool:
		return "true or false"
	case isInt(t) && isSize(path):
		return "a number of bytes"
	case isInt(t):
		return "a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return "text"
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// scalarMessage says why a single value does not fit its key's type.
func scalarMessage(n *yaml.Node, path string, t reflect.Type) string {
	v := n.Value
	switch {
	case t == typeOfDuration:
		return durationMessage(v)
	case t.Kind() == reflect.Bool:
		return fmt.Sprintf("must be true or false, not %s", quote(v))
	case isInt(t) && isSize(path):
		return sizeMessage(v)
	case isInt(t):
		return fmt.Sprintf("must be a whole number, not %s", quote(v))
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return fmt.Sprintf("must be a number, not %s", quote(v))
	}
	return fmt.Sprintf("%s is not a valid value here", quote(v))
}

var durationUnits = strings.NewReplacer(
	"milliseconds", "ms", "millisecond", "ms", "millis", "ms", "msecs", "ms", "msec", "ms",
	"seconds", "s", "second", "s", "secs", "s", "sec", "s",
	"minutes", "m", "minute", "m", "mins", "m", "min", "m",
	"hours", "h", "hour", "h", "hrs", "h", "hr", "h",
)

// durationMessage explains a value that is not a Go duration.
func durationMessage(v string) string {
	if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
		return fmt.Sprintf("%s has no unit; write e.g. %q or %q", quote(v), strings.TrimSpace(v)+"s", strings.TrimSpace(v)+"ms")
	}
	msg := fmt.Sprintf("%s is not a duration; write a number and a unit (ms, s, m, h), e.g. \"30s\", \"500ms\" or \"1m30s\"", quote(v))
	guess := durationUnits.Replace(strings.ToLower(strings.ReplaceAll(v, " ", "")))
	if _, err := time.ParseDuration(guess); err == nil {
		msg += fmt.Sprintf("; did you mean %q?", guess)
	}
	return msg
}

var sizeRE = regexp.MustCompile(`(?i)^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?\s*$`)

// sizeMessage explains a size that is not a whole number of bytes, with the
// number to write for "16MiB" and the like.
func sizeMessage(v string) string {
	m := sizeRE.FindStringSubmatch(v)
	if m == nil || m[2] == "" {
		return fmt.Sprintf("must be a whole number of bytes, e.g. 1048576 for 1 MiB, not %s", quote(v))
	}
	num, _ := strconv.ParseFloat(m[1], 64)
	exp := float64(strings.Index("kmgt", strings.ToLower(m[2])) + 1)
	unit := strings.ToUpper(m[2])
	bin := int64(num * math.Pow(1024, exp))
	msg := fmt.Sprintf("sizes are whole numbers of bytes, not %s; write %d for %s %siB", quote(v), bin, m[1], unit)
	if m[3] == "" {
		msg += fmt.Sprintf(" (or %d for %s %sB)", int64(num*math.Pow(1000, exp)), m[1], unit)
	}
	return msg
}

// addressProblem checks a host:port address. A listen address may leave the
// host empty (every interface) and use port 0 (any free port); an address
// to connect to needs both. Ports must be numbers: a service name would
// depend on the image's /etc/services.
func addressProblem(addr string, listen bool) string {
	example := "fluentd:24224"
	if listen {
		example = ":9725"
	}
	if addr == "" {
		return fmt.Sprintf("required, e.g. %q", example)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		switch {
		case strings.Contains(err.Error(), "missing port"):
			if _, numErr := strconv.Atoi(addr); numErr == nil && listen {
				return fmt.Sprintf("%s is not host:port: the port needs a colon; write %q to listen on every interface", quote(addr), ":"+addr)
			}
			return fmt.Sprintf("%s is not host:port: the port is missing, e.g. %q", quote(addr), example)
		case strings.Contains(err.Error(), "too many colons"):
			return fmt.Sprintf("%s is not host:port: write an IPv6 address in brackets, e.g. \"[::1]:24224\"", quote(addr))
		}
		return fmt.Sprintf("%s is not host:port, e.g. %q", quote(addr), example)
	}
	if host == "" && !listen {
		return fmt.Sprintf("%s has no host, e.g. %q", quote(addr), example)
	}
	lo := 1
	if listen {
		lo = 0
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Sprintf("%s: port must be a number from %d to 65535, not %s", quote(addr), lo, quote(port))
	}
	if n < lo || n > 65535 {
		return fmt.Sprintf("%s: port must be a number from %d to 65535", quote(addr), lo)
	}
	return ""
}
