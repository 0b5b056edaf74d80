package fluent

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the exporter's own. The pipeline already counts
// obsadapter_exporter_records_total{exporter="fluent"} at the Export
// boundary, so these carry the fluent_ prefix and count what happens behind
// it. The address label is bounded: addresses come from the config.
type metrics struct {
	records     *prometheus.CounterVec
	connErrors  *prometheus.CounterVec
	up          *prometheus.GaugeVec
	lastSuccess prometheus.Gauge
	corrupt     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, depth func() (int64, int64), spool func() (int64, int64, int)) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_fluent_records_total",
			Help: "Records by result: sent (written to a connection), acked (acknowledged by the aggregator), spooled (fsynced into the disk spool), retried (a send or ack failed; sent again), failed (undeliverable: larger than the buffer, or still held at shutdown with no spool), dropped (by buffer.on_full: drop_oldest).",
		}, []string{"result"}),
		connErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_fluent_connection_errors_total",
			Help: "Failures per configured address and stage: dial, tls, handshake, send, ack.",
		}, []string{"address", "stage"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_address_up",
			Help: "1 while the address is considered healthy, 0 while it is skipped after a failure.",
		}, []string{"address"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_last_success_timestamp_seconds",
			Help: "When the aggregator last acknowledged a chunk, in Unix seconds.",
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_fluent_spool_corrupt_frames_total",
			Help: "Spool frames skipped because their checksum failed (a torn write at a crash, or disk corruption).",
		}),
	}
	cs := []prometheus.Collector{m.records, m.connErrors, m.up, m.lastSuccess, m.corrupt,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_queue_records",
			Help: "Records in the in-memory buffer not yet acknowledged.",
		}, func() float64 { r, _ := depth(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_queue_bytes",
			Help: "Bytes (encoded chunks) in the in-memory buffer not yet acknowledged.",
		}, func() float64 { _, b := depth(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_spool_records",
			Help: "Records in the disk spool not yet acknowledged.",
		}, func() float64 { r, _, _ := spool(); return float64(r) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_spool_bytes",
			Help: "Bytes of the disk spool's segment files.",
		}, func() float64 { _, b, _ := spool(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "obsadapter_fluent_spool_segments",
			Help: "Segment files in the disk spool.",
		}, func() float64 { _, _, n := spool(); return float64(n) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	for _, r := range []string{"sent", "acked", "spooled", "retried", "failed", "dropped"} {
		m.records.WithLabelValues(r)
	}
	return m, nil
}
