package prometheus

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves g on /metrics: the Prometheus text format, or OpenMetrics
// when the scraper asks for it (Prometheus does), protobuf for native
// histograms, gzip or zstd when accepted. A scrape longer than
// cfg.ScrapeTimeout or beyond cfg.MaxRequestsInFlight gets 503.
//
// A failing collector does not fail the scrape: the rest is served, the error
// is logged and counted in promhttp_metric_handler_errors_total. That counter
// and promhttp_metric_handler_requests_total{code} and
// promhttp_metric_handler_requests_in_flight are registered on g when g is
// also a prometheus.Registerer, as the project's *prometheus.Registry is;
// calling Handler again reuses them.
func Handler(g prometheus.Gatherer, cfg Config, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := promhttp.HandlerOpts{
		ErrorLog:            errorLog{logger},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: cfg.MaxRequestsInFlight,
		Timeout:             cfg.ScrapeTimeout,
		EnableOpenMetrics:   true,
	}
	reg, _ := g.(prometheus.Registerer)
	opts.Registry = reg
	h := promhttp.HandlerFor(g, opts)
	if reg != nil {
		h = promhttp.InstrumentMetricHandler(reg, h)
	}
	return h
}

// errorLog adapts slog to promhttp's Println logger.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Println(v ...any) {
	e.l.Error("serving metrics", "err", fmt.Sprint(v...))
}

// RegisterBuildInfo registers obsadapter_build_info{version,revision,goversion}
// (always 1; goversion is the runtime's) and the Go runtime and process
// collectors (go_*, process_*) on reg.
func RegisterBuildInfo(reg prometheus.Registerer, version, revision string) error {
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        nameBuildInfo,
		Help:        "A metric with a constant 1 value labeled by the version, revision and Go version obsadapter was built from.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	info.Set(1)
	for _, c := range []prometheus.Collector{
		info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("registering build info and runtime metrics: %w", err)
		}
	}
	return nil
}
