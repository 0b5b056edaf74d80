package prometheus

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/record"
)

// Config configures the Prometheus exporter: the built-in log metrics, the
// metrics derived from logs by rule, and how /metrics is served. TLS and basic
// auth belong to the HTTP server (collector's http.web_config_file).
type Config struct {
	Enabled bool `yaml:"enabled"`
	// ScrapeTimeout bounds one scrape of /metrics; 0 means no limit.
	ScrapeTimeout time.Duration `yaml:"scrape_timeout"`
	// MaxRequestsInFlight limits concurrent scrapes; 0 means no limit.
	MaxRequestsInFlight int `yaml:"max_requests_in_flight"`
	// HTTPRequestDurationBuckets are the classic buckets of the built-in
	// access-log histogram obsadapter_http_request_duration_seconds.
	HTTPRequestDurationBuckets []float64 `yaml:"http_request_duration_buckets"`
	// MaxExceptionTypes bounds the type label of obsadapter_exceptions_total:
	// the first N distinct types get their own series, later ones count as
	// "other".
	MaxExceptionTypes int `yaml:"max_exception_types"`
	// NativeHistogramBucketFactor, when above 1, adds native (sparse)
	// buckets to every histogram; scrapers that negotiate protobuf see them.
	NativeHistogramBucketFactor float64 `yaml:"native_histogram_bucket_factor"`
	// Metrics are the log-derived metrics.
	Metrics []MetricRule `yaml:"metrics"`
	// CountBeforeProcessors counts the built-in log metrics (records by
	// level, access logs, exceptions) from records as parsed, before any
	// processor drops or changes them. The collector acts on it, through
	// Exporter.BuiltinBefore; off, the built-in metrics count what reaches
	// this exporter. Rule metrics always count what reaches it.
	CountBeforeProcessors bool `yaml:"count_before_processors"`
}

// MetricRule derives one metric from the records it matches.
type MetricRule struct {
	Name string `yaml:"name"`
	Help string `yaml:"help"`
	Type string `yaml:"type"` // counter | gauge | histogram
	// Match selects records; every condition given must hold.
	Match Match `yaml:"match"`
	// Labels maps a label name to where its value comes from: a record key
	// (source, format, level, stream) or a field path ("http.method";
	// "fields.level" reaches a field that shares a record key's name).
	Labels map[string]string `yaml:"labels"`
	// Value is the field path holding the number: counters add it (1 when
	// unset), gauges set it, histograms observe it.
	Value string `yaml:"value"`
	// ValueScale multiplies the value, e.g. 0.001 for milliseconds; 0 means 1.
	ValueScale float64 `yaml:"value_scale"`
	// Buckets are the classic histogram buckets; default prometheus.DefBuckets.
	Buckets []float64 `yaml:"buckets"`
	// MaxSeries bounds the metric's label sets; 0 means DefaultMaxSeries.
	MaxSeries int `yaml:"max_series"`
	// ExpireAfter removes a series not updated for this long; 0 never.
	ExpireAfter time.Duration `yaml:"expire_after"`
}

// Match is a rule's record filter. Empty conditions match everything.
type Match struct {
	Source   []string `yaml:"source"`
	Format   []string `yaml:"format"`
	Level    []string `yaml:"level"`     // level words, "none" for records without one
	MinLevel string   `yaml:"min_level"` // records at this level or above
	// Fields maps a field path to a regular expression its text must match
	// entirely (the expression is anchored at both ends). A missing field
	// never matches.
	Fields map[string]string `yaml:"fields"`
}

// DefaultMaxSeries is a rule's series bound when max_series is not set.
const DefaultMaxSeries = 1000

// Metric types of a rule.
const (
	TypeCounter   = "counter"
	TypeGauge     = "gauge"
	TypeHistogram = "histogram"
)

// DefaultConfig is the exporter's configuration when the file says nothing.
func DefaultConfig() Config {
	return Config{
		Enabled:                    true,
		ScrapeTimeout:              10 * time.Second,
		MaxRequestsInFlight:        4,
		HTTPRequestDurationBuckets: slices.Clone(prometheus.DefBuckets),
		MaxExceptionTypes:          50,
		CountBeforeProcessors:      true,
	}
}

var (
	// Legacy names, the ones every Prometheus version and promtool accept.
	// Colons are left out: they are reserved for recording rules.
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	labelNameRE  = metricNameRE
)

// Record keys a label can take its value from.
const (
	keySource = "source"
	keyFormat = "format"
	keyLevel  = "level"
	keyStream = "stream"
	// fieldPrefix forces a field path when a field shares a record key's name.
	fieldPrefix = "fields."
)

// Validate reports every problem, each prefixed with its key path.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.ScrapeTimeout < 0 {
		add("scrape_timeout", "%s is negative", c.ScrapeTimeout)
	}
	if c.MaxRequestsInFlight < 0 {
		add("max_requests_in_flight", "%d is negative", c.MaxRequestsInFlight)
	}
	if c.MaxExceptionTypes < 0 {
		add("max_exception_types", "%d is negative", c.MaxExceptionTypes)
	}
	if f := c.NativeHistogramBucketFactor; f != 0 && !(f > 1 && !math.IsInf(f, 0)) {
		add("native_histogram_bucket_factor", "%g must be 0 (off) or greater than 1", f)
	}
	if len(c.HTTPRequestDurationBuckets) == 0 {
		add("http_request_duration_buckets", "must not be empty")
	} else if err := checkBuckets(c.HTTPRequestDurationBuckets); err != nil {
		add("http_request_duration_buckets", "%v", err)
	}
	seen := make(map[string]int, len(c.Metrics))
	for i, r := range c.Metrics {
		key := fmt.Sprintf("metrics[%d]", i)
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			add(key+".name", "%q is already the name of metrics[%d]", r.Name, j)
		} else {
			seen[r.Name] = i
		}
		errs = append(errs, r.validate(key)...)
	}
	return errors.Join(errs...)
}

func (r MetricRule) validate(key string) []error {
	var errs []error
	add := func(sub, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", key, sub, fmt.Sprintf(format, args...)))
	}
	switch {
	case r.Name == "":
		add("name", "required")
	case !metricNameRE.MatchString(r.Name):
		add("name", "%q is not a valid metric name (letters, digits and underscores, not starting with a digit)", r.Name)
	case strings.HasPrefix(r.Name, "__"):
		add("name", "%q: names starting with __ are reserved", r.Name)
	case hasReservedPrefix(r.Name):
		add("name", "%q: the prefixes %s belong to obsadapter's own metrics", r.Name, strings.Join(reservedPrefixes, ", "))
	case r.Type == TypeCounter && !strings.HasSuffix(r.Name, "_total"):
		add("name", "%q: a counter's name must end in _total", r.Name)
	case r.Type != TypeCounter && strings.HasSuffix(r.Name, "_total"):
		add("name", "%q: only counters end in _total", r.Name)
	}
	switch r.Type {
	case TypeCounter, TypeGauge, TypeHistogram:
	case "":
		add("type", "required (counter, gauge or histogram)")
	default:
		add("type", "%q is not one of counter, gauge, histogram", r.Type)
	}
	if r.Value == "" && (r.Type == TypeGauge || r.Type == TypeHistogram) {
		add("value", "required for a %s", r.Type)
	}
	if r.Value != "" && isRecordKey(r.Value) {
		add("value", "%q is a record key, not a number; write %q for a field of that name", r.Value, fieldPrefix+r.Value)
	}
	if r.ValueScale < 0 || math.IsNaN(r.ValueScale) || math.IsInf(r.ValueScale, 0) {
		add("value_scale", "%g must be a positive finite number", r.ValueScale)
	}
	if len(r.Buckets) > 0 {
		if r.Type != TypeHistogram {
			add("buckets", "only histograms have buckets")
		} else if err := checkBuckets(r.Buckets); err != nil {
			add("buckets", "%v", err)
		}
	}
	if r.MaxSeries < 0 {
		add("max_series", "%d is negative", r.MaxSeries)
	}
	if r.ExpireAfter < 0 {
		add("expire_after", "%s is negative", r.ExpireAfter)
	}
	for _, name := range sortedKeys(r.Labels) {
		src := r.Labels[name]
		switch {
		case !labelNameRE.MatchString(name):
			add("labels."+name, "%q is not a valid label name", name)
		case strings.HasPrefix(name, "__"):
			add("labels."+name, "%q: label names starting with __ are reserved", name)
		case name == "le" && r.Type == TypeHistogram:
			add("labels."+name, `"le" is the histogram's bucket label`)
		case src == "" || src == fieldPrefix:
			add("labels."+name, "needs a record key (source, format, level, stream) or a field path")
		}
	}
	errs = append(errs, r.Match.validate(key+".match")...)
	return errs
}

func (m Match) validate(key string) []error {
	var errs []error
	for i, l := range m.Level {
		if _, ok := parseLevel(l); !ok {
			errs = append(errs, fmt.Errorf("%s.level[%d]: %q is not one of trace, debug, info, warn, error, fatal, none", key, i, l))
		}
	}
	if m.MinLevel != "" {
		if l, ok := parseLevel(m.MinLevel); !ok || l == record.LevelNone {
			errs = append(errs, fmt.Errorf("%s.min_level: %q is not one of trace, debug, info, warn, error, fatal", key, m.MinLevel))
		}
	}
	for _, path := range sortedKeys(m.Fields) {
		if path == "" || path == fieldPrefix {
			errs = append(errs, fmt.Errorf("%s.fields: a field path is empty", key))
			continue
		}
		if _, err := compileAnchored(m.Fields[path]); err != nil {
			errs = append(errs, fmt.Errorf("%s.fields.%s: %w", key, path, err))
		}
	}
	return errs
}

func checkBuckets(b []float64) error {
	for i, v := range b {
		if math.IsNaN(v) {
			return fmt.Errorf("bucket %d is NaN", i)
		}
		if i > 0 && v <= b[i-1] {
			return fmt.Errorf("buckets must be strictly increasing, but %g follows %g", v, b[i-1])
		}
	}
	return nil
}

// compileAnchored compiles re so that it must match a whole value.
func compileAnchored(re string) (*regexp.Regexp, error) {
	// Compiled alone first so that an error quotes what the user wrote.
	if _, err := regexp.Compile(re); err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	return regexp.Compile(`^(?:` + re + `)$`)
}

func parseLevel(s string) (record.Level, bool) {
	if s == "none" {
		return record.LevelNone, true
	}
	return record.LevelFromString(s)
}

// reservedPrefixes are the namespaces of the metrics obsadapter registers
// itself (this package, the collector, procinfo, the runtime collectors and
// the handler), so that a rule can never collide with one of them.
var reservedPrefixes = []string{"obsadapter_", "go_", "process_", "promhttp_"}

func hasReservedPrefix(name string) bool {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func isRecordKey(s string) bool {
	switch s {
	case keySource, keyFormat, keyLevel, keyStream:
		return true
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
