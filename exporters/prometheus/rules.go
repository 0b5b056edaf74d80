package prometheus

import (
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/record"
)

// rule is one log-derived metric. It keeps its own index of series (label
// values → child metric and last update) in front of the client_golang vec:
// the index makes the hot path one map lookup on a reused key buffer, bounds
// the series count, and knows which series to expire.
type rule struct {
	name        string
	kind        string
	sources     []string
	formats     []string
	levels      uint8 // bit i set: record.Level(i) matches
	fields      []fieldMatch
	labels      []labelSource
	value       string // field path; "" counts 1 per record
	scale       float64
	maxSeries   int
	expireAfter int64 // nanoseconds; 0 never

	cv *prometheus.CounterVec
	gv *prometheus.GaugeVec
	hv *prometheus.HistogramVec

	series   map[string]*series
	swept    int64 // when expire last ran on overflow, so it runs once per batch
	overflow prometheus.Counter
	invalid  prometheus.Counter

	mu  *sync.Mutex // the exporter's lock, shared with Export
	now func() time.Time
}

type fieldMatch struct {
	path string
	re   *regexp.Regexp
}

type labelSource struct {
	key  string // a record key, or "" for a field
	path string // the field path when key is ""
}

type series struct {
	values  []string // label values, kept for DeleteLabelValues
	updated int64    // unix nanoseconds of the last update
	counter prometheus.Counter
	gauge   prometheus.Gauge
	obs     prometheus.Observer
}

// allLevels has a bit for LevelNone and each of the six levels.
const allLevels = 1<<(record.LevelFatal+1) - 1

func newRule(r MetricRule, nativeFactor float64, overflow, invalid *prometheus.CounterVec, mu *sync.Mutex, now func() time.Time) (*rule, error) {
	rl := &rule{
		name:        r.Name,
		kind:        r.Type,
		sources:     r.Match.Source,
		formats:     r.Match.Format,
		levels:      levelMask(r.Match),
		value:       strings.TrimPrefix(r.Value, fieldPrefix),
		scale:       r.ValueScale,
		maxSeries:   r.MaxSeries,
		expireAfter: int64(r.ExpireAfter),
		series:      make(map[string]*series),
		overflow:    overflow.WithLabelValues(r.Name),
		mu:          mu,
		now:         now,
	}
	if rl.scale == 0 {
		rl.scale = 1
	}
	if rl.maxSeries == 0 {
		rl.maxSeries = DefaultMaxSeries
	}
	if r.Value != "" {
		rl.invalid = invalid.WithLabelValues(r.Name)
	}
	for _, path := range sortedKeys(r.Match.Fields) {
		re, err := compileAnchored(r.Match.Fields[path])
		if err != nil {
			return nil, fmt.Errorf("metric %s: field %s: %w", r.Name, path, err)
		}
		rl.fields = append(rl.fields, fieldMatch{strings.TrimPrefix(path, fieldPrefix), re})
	}
	names := sortedKeys(r.Labels)
	for _, n := range names {
		src := r.Labels[n]
		if isRecordKey(src) {
			rl.labels = append(rl.labels, labelSource{key: src})
		} else {
			rl.labels = append(rl.labels, labelSource{path: strings.TrimPrefix(src, fieldPrefix)})
		}
	}
	help := r.Help
	if help == "" {
		help = "Derived from logs by the exporters.prometheus.metrics rule " + r.Name + "."
	}
	switch r.Type {
	case TypeCounter:
		rl.cv = prometheus.NewCounterVec(prometheus.CounterOpts{Name: r.Name, Help: help}, names)
	case TypeGauge:
		rl.gv = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: r.Name, Help: help}, names)
	case TypeHistogram:
		buckets := r.Buckets
		if len(buckets) == 0 {
			buckets = prometheus.DefBuckets
		}
		rl.hv = prometheus.NewHistogramVec(histogramOpts(prometheus.HistogramOpts{Name: r.Name, Help: help, Buckets: buckets}, nativeFactor), names)
	default:
		return nil, fmt.Errorf("metric %s: unknown type %q", r.Name, r.Type)
	}
	return rl, nil
}

func levelMask(m Match) uint8 {
	mask := uint8(allLevels)
	if len(m.Level) > 0 {
		mask = 0
		for _, w := range m.Level {
			if l, ok := parseLevel(w); ok {
				mask |= 1 << l
			}
		}
	}
	if l, ok := parseLevel(m.MinLevel); ok && m.MinLevel != "" {
		// Bits for l and every level above it; records with no level never match.
		mask &= uint8(allLevels) &^ (1<<l - 1)
	}
	return mask
}

func (r *rule) vec() prometheus.Collector {
	switch {
	case r.cv != nil:
		return r.cv
	case r.gv != nil:
		return r.gv
	}
	return r.hv
}

// Describe and Collect make the rule the registered collector, so that a
// scrape first drops the series that expired.
func (r *rule) Describe(ch chan<- *prometheus.Desc) { r.vec().Describe(ch) }

func (r *rule) Collect(ch chan<- prometheus.Metric) {
	if r.expireAfter > 0 {
		now := r.now().UnixNano()
		r.mu.Lock()
		r.expire(now)
		r.mu.Unlock()
	}
	r.vec().Collect(ch) // outside the lock: the registry reads ch concurrently
}

// observe updates the metric from rec when it matches. buf is scratch space
// reused across records; the caller holds r.mu.
func (r *rule) observe(rec *record.Record, now int64, buf *[]byte) {
	if !r.matches(rec, buf) {
		return
	}
	v := 1.0
	if r.value != "" {
		fv, ok := rec.Lookup(r.value)
		if ok {
			v, ok = number(fv)
		}
		if !ok || (r.cv != nil && v < 0) {
			r.invalid.Inc()
			return
		}
		v *= r.scale
	}
	key := (*buf)[:0]
	for _, l := range r.labels {
		key = r.appendLabel(key, rec, l)
	}
	*buf = key
	s, ok := r.series[string(key)]
	if !ok {
		if s = r.newSeries(key, now); s == nil {
			r.overflow.Inc()
			return
		}
	}
	s.updated = now
	switch {
	case s.counter != nil:
		s.counter.Add(v)
	case s.gauge != nil:
		s.gauge.Set(v)
	default:
		s.obs.Observe(v)
	}
}

func (r *rule) matches(rec *record.Record, buf *[]byte) bool {
	if r.levels&(1<<rec.Level()) == 0 {
		return false
	}
	if len(r.sources) > 0 && !slices.Contains(r.sources, rec.Source) {
		return false
	}
	if len(r.formats) > 0 && !slices.Contains(r.formats, rec.Format) {
		return false
	}
	for _, f := range r.fields {
		v, ok := rec.Lookup(f.path)
		if !ok {
			return false
		}
		if v.Kind() == record.KindString {
			if !f.re.MatchString(v.Str()) {
				return false
			}
			continue
		}
		*buf = v.AppendJSON((*buf)[:0])
		if !f.re.Match(*buf) {
			return false
		}
	}
	return true
}

// appendLabel appends one label value to the series key as a 4-byte length
// and the text, so that no two value lists share a key whatever bytes they hold.
func (r *rule) appendLabel(key []byte, rec *record.Record, l labelSource) []byte {
	start := len(key)
	key = append(key, 0, 0, 0, 0)
	switch l.key {
	case keySource:
		key = append(key, rec.Source...)
	case keyFormat:
		key = append(key, rec.Format...)
	case keyStream:
		key = append(key, rec.Stream...)
	case keyLevel:
		key = append(key, levelLabel(rec.Level())...)
	default:
		if v, ok := rec.Lookup(l.path); ok {
			if v.Kind() == record.KindString {
				key = append(key, v.Str()...)
			} else {
				key = v.AppendJSON(key)
			}
		}
	}
	binary.LittleEndian.PutUint32(key[start:], uint32(len(key)-start-4))
	return key
}

// newSeries adds the series for key, or returns nil when the metric already
// has max_series series (after dropping expired ones, at most once a batch).
func (r *rule) newSeries(key []byte, now int64) *series {
	if len(r.series) >= r.maxSeries && r.expireAfter > 0 && r.swept != now {
		r.swept = now
		r.expire(now)
	}
	if len(r.series) >= r.maxSeries {
		return nil
	}
	k := string(key)
	values := make([]string, 0, len(r.labels))
	for rest := k; len(rest) >= 4; {
		n := uint32(rest[0]) | uint32(rest[1])<<8 | uint32(rest[2])<<16 | uint32(rest[3])<<24
		values = append(values, validUTF8(rest[4:4+n]))
		rest = rest[4+n:]
	}
	s := &series{values: values}
	switch {
	case r.cv != nil:
		s.counter = r.cv.WithLabelValues(values...)
	case r.gv != nil:
		s.gauge = r.gv.WithLabelValues(values...)
	default:
		s.obs = r.hv.WithLabelValues(values...)
	}
	r.series[k] = s
	return s
}

// expire removes the series not updated within expire_after of now. The
// caller holds r.mu.
func (r *rule) expire(now int64) {
	for k, s := range r.series {
		if now-s.updated < r.expireAfter {
			continue
		}
		switch {
		case r.cv != nil:
			r.cv.DeleteLabelValues(s.values...)
		case r.gv != nil:
			r.gv.DeleteLabelValues(s.values...)
		default:
			r.hv.DeleteLabelValues(s.values...)
		}
		delete(r.series, k)
	}
}

// number reads a rule's value: a JSON number, or a string holding a number or
// a Go duration ("12ms", "1.5s", read as seconds). Non-finite values are refused.
func number(v record.Value) (float64, bool) {
	var f float64
	switch v.Kind() {
	case record.KindInt:
		return float64(v.Int64()), true
	case record.KindFloat:
		f = v.Float64()
	case record.KindString:
		s := strings.TrimSpace(v.Str())
		if s == "" {
			return 0, false
		}
		// A unit suffix means a duration; testing the last byte spares
		// ParseFloat's allocating error on every duration value.
		if c := s[len(s)-1]; c >= '0' && c <= '9' || c == '.' {
			var err error
			if f, err = strconv.ParseFloat(s, 64); err != nil {
				return 0, false
			}
		} else {
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, false
			}
			f = d.Seconds()
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
