package prometheus

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/record"
)

// Names of the metrics this package registers.
const (
	nameRecords          = "obsadapter_records_total"
	nameLastRecord       = "obsadapter_last_record_timestamp_seconds"
	nameTruncated        = "obsadapter_lines_truncated_total"
	nameHTTPRequests     = "obsadapter_http_requests_total"
	nameHTTPDuration     = "obsadapter_http_request_duration_seconds"
	nameExceptions       = "obsadapter_exceptions_total"
	nameSeriesOverflow   = "obsadapter_metric_series_overflow_total"
	nameValueInvalid     = "obsadapter_metric_value_invalid_total"
	nameBuildInfo        = "obsadapter_build_info"
	exceptionTypeOther   = "other"
	exceptionTypeField   = "exception.type"
	exceptionObject      = "exception"
	exceptionTypeKey     = "type"
	accessStatusField    = "status"
	accessMethodField    = "method"
	accessDurationField  = "duration_seconds"
	levelLabelNone       = "none"
	httpMethodOther      = "OTHER"
	httpStatusClassOther = "other"
)

// httpMethods bounds the method label; anything else is OTHER.
var httpMethods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", httpMethodOther}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", httpStatusClassOther}

// builtin holds the metrics every record feeds without any rule. The vecs are
// the registered collectors; the maps cache their children so the hot path
// does one small map lookup instead of hashing label values in the vec.
type builtin struct {
	records    *prometheus.CounterVec
	lastRecord *prometheus.GaugeVec
	truncated  *prometheus.CounterVec
	httpReqs   *prometheus.CounterVec
	httpDur    *prometheus.HistogramVec
	exceptions *prometheus.CounterVec
	overflow   prometheus.Counter // exception types beyond the bound

	maxExceptionTypes int
	exceptionTypes    map[string]struct{} // the types that have their own label value

	sources map[string]*sourceMetrics
	last    *sourceMetrics // records of a batch mostly share a source
}

type sourceMetrics struct {
	name       string
	format     string                                     // the last format seen
	byLevel    *[record.LevelFatal + 1]prometheus.Counter // records_total children for format
	formats    map[string]*[record.LevelFatal + 1]prometheus.Counter
	lastRecord prometheus.Gauge
	// Counts and the newest time not yet added to byLevel and lastRecord:
	// they are added once per batch (or format change), not with an atomic
	// operation per record.
	pending     [record.LevelFatal + 1]uint64
	pendingLast int64
	truncated   prometheus.Counter
	httpDur     prometheus.Observer
	httpReqs    [len(httpMethods)][len(statusClasses)]prometheus.Counter
	exceptions  map[string]prometheus.Counter
}

func newBuiltin(cfg Config, overflow *prometheus.CounterVec) *builtin {
	b := &builtin{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: nameRecords,
			Help: "Log records read, by source, detected format and level (none when the line states no level).",
		}, []string{"source", "format", "level"}),
		lastRecord: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: nameLastRecord,
			Help: "Unix time at which the source's most recent record was read.",
		}, []string{"source"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: nameTruncated,
			Help: "Records cut at max_line_bytes, the multiline size bound, or because their escaped JSON would exceed max_record_bytes.",
		}, []string{"source"}),
		httpReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: nameHTTPRequests,
			Help: "Requests seen in access logs (records with an integer status and a method), by method and status class.",
		}, []string{"source", "method", "status_class"}),
		httpDur: prometheus.NewHistogramVec(histogramOpts(prometheus.HistogramOpts{
			Name:    nameHTTPDuration,
			Help:    "Request durations seen in access logs that carry duration_seconds.",
			Buckets: cfg.HTTPRequestDurationBuckets,
		}, cfg.NativeHistogramBucketFactor), []string{"source"}),
		exceptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: nameExceptions,
			Help: "Records carrying an exception, by exception type; types beyond max_exception_types count as other.",
		}, []string{"source", "type"}),
		overflow:          overflow.WithLabelValues(nameExceptions),
		maxExceptionTypes: cfg.MaxExceptionTypes,
		exceptionTypes:    make(map[string]struct{}),
		sources:           make(map[string]*sourceMetrics),
	}
	return b
}

func (b *builtin) collectors() []prometheus.Collector {
	return []prometheus.Collector{b.records, b.lastRecord, b.truncated, b.httpReqs, b.httpDur, b.exceptions}
}

// observe updates the built-in metrics from one record. The caller holds the
// exporter's lock.
func (b *builtin) observe(r *record.Record) {
	s := b.last
	if s == nil || s.name != r.Source {
		b.flush()
		s = b.source(r.Source)
		b.last = s
	}
	// A source's format is sticky, so its level counters are cached for the
	// last format seen instead of hashing source and format per record.
	if s.format != r.Format || s.byLevel == nil {
		s.flush()
		s.format = strings.Clone(r.Format)
		s.byLevel = s.formats[s.format]
		if s.byLevel == nil {
			s.byLevel = new([record.LevelFatal + 1]prometheus.Counter)
			s.formats[s.format] = s.byLevel
		}
	}
	lvl := r.Level()
	if s.byLevel[lvl] == nil {
		s.byLevel[lvl] = b.records.WithLabelValues(validUTF8(s.name), validUTF8(s.format), levelLabel(lvl))
	}
	s.pending[lvl]++
	s.pendingLast = max(s.pendingLast, r.ObservedTime.UnixNano())
	if r.Truncated {
		s.truncated.Inc()
	}

	// One pass over the top-level fields finds everything the built-in
	// metrics read, where separate Lookups would scan them several times.
	var status, method, duration, exception record.Value
	var haveStatus, haveMethod, haveDuration, haveException bool
	for i := range r.Fields {
		fld := &r.Fields[i]
		switch fld.Key {
		case accessStatusField:
			status, haveStatus = fld.Value, true
		case accessMethodField:
			method, haveMethod = fld.Value, true
		case accessDurationField:
			duration, haveDuration = fld.Value, true
		case exceptionTypeField:
			exception, haveException = fld.Value, true
		case exceptionObject:
			if !haveException && fld.Value.Kind() == record.KindObject {
				for _, in := range fld.Value.Object() {
					if in.Key == exceptionTypeKey {
						exception, haveException = in.Value, true
						break
					}
				}
			}
		}
	}
	if haveStatus && haveMethod && status.Kind() == record.KindInt && method.Kind() == record.KindString {
		b.observeAccess(s, method.Str(), status.Int64(), duration, haveDuration)
	}
	if haveException && exception.Kind() == record.KindString && exception.Str() != "" {
		b.exception(s, exception.Str()).Inc()
	}
}

// flush adds what the last source's records counted; the exporter calls
// it at the end of every batch.
func (b *builtin) flush() {
	if b.last != nil {
		b.last.flush()
	}
}

func (s *sourceMetrics) flush() {
	if s.byLevel != nil {
		for lvl, n := range s.pending {
			if n > 0 {
				s.byLevel[lvl].Add(float64(n))
				s.pending[lvl] = 0
			}
		}
	}
	if s.pendingLast != 0 {
		s.lastRecord.Set(float64(s.pendingLast) / 1e9)
		s.pendingLast = 0
	}
}

func (b *builtin) source(name string) *sourceMetrics {
	if s, ok := b.sources[name]; ok {
		return s
	}
	name = strings.Clone(name)
	s := &sourceMetrics{
		name:       name,
		lastRecord: b.lastRecord.WithLabelValues(validUTF8(name)),
		// Created with the source so that increase() sees the first truncation.
		truncated:  b.truncated.WithLabelValues(validUTF8(name)),
		formats:    make(map[string]*[record.LevelFatal + 1]prometheus.Counter),
		exceptions: make(map[string]prometheus.Counter),
	}
	b.sources[name] = s
	return s
}

func (b *builtin) observeAccess(s *sourceMetrics, method string, status int64, d record.Value, haveDuration bool) {
	m, c := methodIndex(method), statusClassIndex(status)
	ctr := s.httpReqs[m][c]
	if ctr == nil {
		ctr = b.httpReqs.WithLabelValues(validUTF8(s.name), httpMethods[m], statusClasses[c])
		s.httpReqs[m][c] = ctr
	}
	ctr.Inc()
	if !haveDuration {
		return
	}
	var secs float64
	switch d.Kind() {
	case record.KindFloat:
		secs = d.Float64()
	case record.KindInt:
		secs = float64(d.Int64())
	default:
		return
	}
	if !(secs >= 0) { // also rejects NaN
		return
	}
	if s.httpDur == nil {
		s.httpDur = b.httpDur.WithLabelValues(validUTF8(s.name))
	}
	s.httpDur.Observe(secs)
}

// exception returns the counter for an exception type, folding types beyond
// the bound into "other" and counting each such record as an overflow.
func (b *builtin) exception(s *sourceMetrics, typ string) prometheus.Counter {
	if c, ok := s.exceptions[typ]; ok {
		return c
	}
	if _, known := b.exceptionTypes[typ]; !known {
		if len(b.exceptionTypes) >= b.maxExceptionTypes {
			b.overflow.Inc()
			typ = exceptionTypeOther
		} else {
			typ = strings.Clone(typ)
			b.exceptionTypes[typ] = struct{}{}
		}
	} else {
		typ = strings.Clone(typ)
	}
	if c, ok := s.exceptions[typ]; ok {
		return c
	}
	c := b.exceptions.WithLabelValues(validUTF8(s.name), validUTF8(typ))
	s.exceptions[typ] = c
	return c
}

func levelLabel(l record.Level) string {
	if l == record.LevelNone {
		return levelLabelNone
	}
	return l.String()
}

func methodIndex(m string) int {
	for i, known := range httpMethods[:len(httpMethods)-1] {
		if m == known {
			return i
		}
	}
	for i, known := range httpMethods[:len(httpMethods)-1] {
		if strings.EqualFold(m, known) {
			return i
		}
	}
	return len(httpMethods) - 1
}

func statusClassIndex(status int64) int {
	if status >= 100 && status <= 599 {
		return int(status/100) - 1
	}
	return len(statusClasses) - 1
}

// validUTF8 makes a label value acceptable to client_golang, which refuses
// invalid UTF-8; log lines carry whatever bytes they like.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// histogramOpts adds native buckets when configured. The bucket bound and
// reset duration keep a native histogram's memory bounded, as a classic one's is.
func histogramOpts(o prometheus.HistogramOpts, factor float64) prometheus.HistogramOpts {
	if factor > 1 {
		o.NativeHistogramBucketFactor = factor
		o.NativeHistogramMaxBucketNumber = 160
		o.NativeHistogramMinResetDuration = time.Hour
	}
	return o
}
