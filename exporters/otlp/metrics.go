package otlp

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the exporter's own. The pipeline already counts
// obsadapter_exporter_records_total{exporter="otlp"} at the Export
// boundary; these count what happens behind it.
type metrics struct {
	records     *prometheus.CounterVec
	requests    *prometheus.CounterVec
	latency     prometheus.Histogram
	lastSuccess prometheus.Gauge
	corrupt     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, depth func() (int64, int64), spool func() (int64, int64, int)) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_otlp_records_total",
			Help: "Records by result: sent (in a request the receiver answered), acked (accepted by the receiver), spooled (fsynced into the disk spool), retried (in a request that failed and is sent again), rejected (refused by the receiver in a partial success), failed (refused for good by the receiver, larger than the buffer, or still held at shutdown with no spool), dropped (by buffer.on_full: drop_oldest).",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_otlp_requests_total",
			Help: "Export requests by result: success, retryable (failed; sent again), permanent (refused for good; its records dropped).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "obsadapter_otlp_request_duration_seconds",
			Help:    "Time from sending an export request to the receiver's answer (or failure).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "obsadapter_otlp_last_success_timestamp_seconds",
			Help: "When the receiver last accepted a request, in Unix seconds.",
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_otlp_spool_corrupt_frames_total",
			Help: "Spool frames skipped because their checksum failed (a torn write at a crash, or disk corruption).",
		}),
	}
	cs := []prometheus.Collector{m.records, m.requests, m.latency, m.lastSuccess, m.corrupt,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_otlp_queue_records",
			Help: "Records in the in-memory buffer not yet accepted by the receiver.",
		}, func() float64 { r, _ := depth(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_otlp_queue_bytes",
			Help: "Bytes (encoded requests) in the in-memory buffer not yet accepted.",
		}, func() float64 { _, b := depth(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_otlp_spool_records",
			Help: "Records in the disk spool not yet accepted by the receiver.",
		}, func() float64 { r, _, _ := spool(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_otlp_spool_bytes",
			Help: "Bytes of the disk spool's segment files.",
		}, func() float64 { _, b, _ := spool(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_otlp_spool_segments",
			Help: "Segment files in the disk spool.",
		}, func() float64 { _, _, n := spool(); return float64(n) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	for _, r := range []string{"sent", "acked", "spooled", "retried", "rejected", "failed", "dropped"} {
		m.records.WithLabelValues(r)
	}
	for _, r := range []string{"success", "retryable", "permanent"} {
		m.requests.WithLabelValues(r)
	}
	return m, nil
}
