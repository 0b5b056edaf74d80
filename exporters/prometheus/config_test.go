package prometheus

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := MetricRule{Name: "app_errors_total", Type: TypeCounter}
	tests := []struct {
		name   string
		modify func(c *Config)
		want   []string // every line of the joined error, in order; none for a valid config
	}{
		{name: "default is valid", modify: func(*Config) {}},
		{
			name: "a full rule of each type is valid",
			modify: func(c *Config) {
				c.NativeHistogramBucketFactor = 1.1
				c.Metrics = []MetricRule{
					{Name: "app_requests_total", Type: TypeCounter, Value: "bytes", ValueScale: 0.001,
						Match:  Match{Source: []string{"web"}, Format: []string{"clf"}, Level: []string{"none", "error"}, Fields: map[string]string{"status": "5..", "fields.level": "E.*"}},
						Labels: map[string]string{"code": "status", "src": "source", "lvl": "fields.level"}},
					{Name: "app_queue_depth", Type: TypeGauge, Value: "depth", ExpireAfter: time.Minute, MaxSeries: 10},
					{Name: "app_latency_seconds", Type: TypeHistogram, Value: "took", Buckets: []float64{0.1, 1}, Match: Match{MinLevel: "warn"}},
				}
			},
		},
		{
			name: "bad top-level values",
			modify: func(c *Config) {
				c.ScrapeTimeout = -time.Second
				c.MaxRequestsInFlight = -1
				c.MaxExceptionTypes = -2
				c.NativeHistogramBucketFactor = 0.5
				c.HTTPRequestDurationBuckets = []float64{1, 0.5}
			},
			want: []string{
				`scrape_timeout: -1s is negative`,
				`max_requests_in_flight: -1 is negative`,
				`max_exception_types: -2 is negative`,
				`native_histogram_bucket_factor: 0.5 must be 0 (off) or greater than 1`,
				`http_request_duration_buckets: buckets must be strictly increasing, but 0.5 follows 1`,
			},
		},
		{
			name:   "empty duration buckets",
			modify: func(c *Config) { c.HTTPRequestDurationBuckets = nil },
			want:   []string{`http_request_duration_buckets: must not be empty`},
		},
		{
			name: "invalid metric names",
			modify: func(c *Config) {
				c.Metrics = []MetricRule{
					good,
					{Type: TypeCounter},
					{Name: "9x", Type: TypeGauge, Value: "v"},
					{Name: "app-errors_total", Type: TypeCounter},
					{Name: "app:rate_total", Type: TypeCounter},
					{Name: "__x_total", Type: TypeCounter},
					{Name: "obsadapter_records_total", Type: TypeCounter},
					{Name: "app_errors", Type: TypeCounter},
					{Name: "app_depth_total", Type: TypeGauge, Value: "v"},
					good,
				}
			},
			want: []string{
				`metrics[1].name: required`,
				`metrics[2].name: "9x" is not a valid metric name (letters, digits and underscores, not starting with a digit)`,
				`metrics[3].name: "app-errors_total" is not a valid metric name (letters, digits and underscores, not starting with a digit)`,
				`metrics[4].name: "app:rate_total" is not a valid metric name (letters, digits and underscores, not starting with a digit)`,
				`metrics[5].name: "__x_total": names starting with __ are reserved`,
				`metrics[6].name: "obsadapter_records_total": the prefixes obsadapter_, go_, process_, promhttp_ belong to obsadapter's own metrics`,
				`metrics[7].name: "app_errors": a counter's name must end in _total`,
				`metrics[8].name: "app_depth_total": only counters end in _total`,
				`metrics[9].name: "app_errors_total" is already the name of metrics[0]`,
			},
		},
		{
			name: "type, value and buckets",
			modify: func(c *Config) {
				c.Metrics = []MetricRule{
					{Name: "a"},
					{Name: "b", Type: "summary"},
					{Name: "c", Type: TypeGauge},
					{Name: "d", Type: TypeHistogram, Value: "v", Buckets: []float64{1, 1}},
					{Name: "e_total", Type: TypeCounter, Buckets: []float64{1}, Value: "level", ValueScale: -1},
					{Name: "f", Type: TypeGauge, Value: "v", MaxSeries: -1, ExpireAfter: -time.Second},
				}
			},
			want: []string{
				`metrics[0].type: required (counter, gauge or histogram)`,
				`metrics[1].type: "summary" is not one of counter, gauge, histogram`,
				`metrics[2].value: required for a gauge`,
				`metrics[3].buckets: buckets must be strictly increasing, but 1 follows 1`,
				`metrics[4].value: "level" is a record key, not a number; write "fields.level" for a field of that name`,
				`metrics[4].value_scale: -1 must be a positive finite number`,
				`metrics[4].buckets: only histograms have buckets`,
				`metrics[5].max_series: -1 is negative`,
				`metrics[5].expire_after: -1s is negative`,
			},
		},
		{
			name: "labels",
			modify: func(c *Config) {
				c.Metrics = []MetricRule{{
					Name: "h", Type: TypeHistogram, Value: "v",
					Labels: map[string]string{"9bad": "x", "__name": "x", "le": "x", "empty": "", "dotted.name": "x", "ok": "fields."},
				}}
			},
			want: []string{
				`metrics[0].labels.9bad: "9bad" is not a valid label name`,
				`metrics[0].labels.__name: "__name": label names starting with __ are reserved`,
				`metrics[0].labels.dotted.name: "dotted.name" is not a valid label name`,
				`metrics[0].labels.empty: needs a record key (source, format, level, stream) or a field path`,
				`metrics[0].labels.le: "le" is the histogram's bucket label`,
				`metrics[0].labels.ok: needs a record key (source, format, level, stream) or a field path`,
			},
		},
		{
			name: "match",
			modify: func(c *Config) {
				c.Metrics = []MetricRule{{
					Name: "m_total", Type: TypeCounter,
					Match: Match{Level: []string{"info", "loud"}, MinLevel: "none", Fields: map[string]string{"status": "5(", "": "x"}},
				}}
			},
			want: []string{
				`metrics[0].match.level[1]: "loud" is not one of trace, debug, info, warn, error, fatal, none`,
				`metrics[0].match.min_level: "none" is not one of trace, debug, info, warn, error, fatal`,
				`metrics[0].match.fields: a field path is empty`,
				"metrics[0].match.fields.status: invalid regular expression: error parsing regexp: missing closing ): `5(`",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate():\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}
