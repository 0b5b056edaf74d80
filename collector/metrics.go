package collector

import "github.com/prometheus/client_golang/prometheus"

// selfMetrics are the pipeline's own metrics. Labels are bounded: source and
// exporter names come from the config, reasons and kinds are fixed words.
type selfMetrics struct {
	bytesRead        *prometheus.CounterVec
	linesRead        *prometheus.CounterVec
	filesWatched     *prometheus.GaugeVec
	filesOpen        *prometheus.GaugeVec
	rotations        *prometheus.CounterVec
	recordsDropped   *prometheus.CounterVec
	parseFailures    *prometheus.CounterVec
	multiline        *prometheus.CounterVec
	sourceErrors     *prometheus.CounterVec
	queueBatches     *prometheus.GaugeVec
	bufferLines      *prometheus.GaugeVec
	exporterRecords  *prometheus.CounterVec
	checkpointWrites *prometheus.CounterVec
	execExits        *prometheus.CounterVec
	reloads          *prometheus.CounterVec
	processorRecords *prometheus.CounterVec
	httpRejected     prometheus.Counter
}

func newSelfMetrics(reg prometheus.Registerer) *selfMetrics {
	m := &selfMetrics{
		bytesRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_bytes_read_total", Help: "Bytes read from each source.",
		}, []string{"source"}),
		linesRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_lines_read_total", Help: "Lines read from each source, before multiline joining.",
		}, []string{"source"}),
		filesWatched: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "obsadapter_files_watched", Help: "Files currently tailed, per source (open or parked under max_open_files).",
		}, []string{"source"}),
		filesOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "obsadapter_files_open", Help: "File descriptors a source holds (at most its max_open_files); the other watched files are parked: closed, reopened when they change.",
		}, []string{"source"}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_file_rotations_total", Help: "Rotations seen, by kind: rename, delete, truncate, copy (a copytruncate copy continued where its original was).",
		}, []string{"source", "kind"}),
		recordsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_records_dropped_total", Help: "Lines or records dropped, by reason: buffer_full (a stdin/exec buffer under on_full: drop_oldest, or the procinfo event queue).",
		}, []string{"source", "reason"}),
		parseFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_parse_failures_total", Help: "Lines that did not match the forced format of their source; they are kept as plain text.",
		}, []string{"source", "format"}),
		multiline: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_multiline_records_total", Help: "Records joined from more than one line (stack traces, continuations).",
		}, []string{"source"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_source_errors_total", Help: "Errors opening, reading or watching a source's inputs.",
		}, []string{"source"}),
		queueBatches: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "obsadapter_queue_batches", Help: "Batches waiting in the pipeline queue (queue=\"pipeline\") and in each exporter's queue.",
		}, []string{"queue"}),
		bufferLines: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "obsadapter_source_buffer_lines", Help: "Lines held in the bounded buffer of a source that cannot pause (stdin, exec).",
		}, []string{"source"}),
		exporterRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_exporter_records_total", Help: "Records per exporter by result: sent (safe), retried (an attempt failed), dropped (permanent error), failed (given up at shutdown).",
		}, []string{"exporter", "result"}),
		httpRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_http_connections_rejected_total", Help: "Connections to the HTTP listeners closed at once because max_connections were open.",
		}),
		checkpointWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_checkpoint_writes_total", Help: "Checkpoint file writes by result.",
		}, []string{"result"}),
		execExits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_exec_exits_total", Help: "Exits of exec sources' processes, by result (success, failure).",
		}, []string{"source", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_config_reloads_total", Help: "Configuration reloads by result.",
		}, []string{"result"}),
		processorRecords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "obsadapter_processor_records_total", Help: "Records each processor of a source saw, by result: kept (unmodified), dropped, or changed (kept and modified).",
		}, []string{"source", "processor", "result"}),
	}
	reg.MustRegister(m.bytesRead, m.linesRead, m.filesWatched, m.filesOpen, m.rotations, m.recordsDropped, m.parseFailures,
		m.multiline, m.sourceErrors, m.queueBatches, m.bufferLines, m.exporterRecords, m.checkpointWrites, m.httpRejected,
		m.execExits, m.reloads, m.processorRecords)
	return m
}
