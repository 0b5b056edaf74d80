package procinfo

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"
)

// Process metrics are built at scrape time from the shared snapshot, so the
// series of a group vanish when its last process exits. Counters of a group
// include the processes of that group that have already exited, so they stay
// monotonic while the group exists.
var (
	descCPU = prometheus.NewDesc("obsadapter_process_cpu_seconds_total",
		"CPU time used by the group's processes, by mode.", []string{"group", "mode"}, nil)
	descRSS = prometheus.NewDesc("obsadapter_process_resident_memory_bytes",
		"Resident memory of the group's processes.", []string{"group"}, nil)
	descVMS = prometheus.NewDesc("obsadapter_process_virtual_memory_bytes",
		"Virtual memory of the group's processes.", []string{"group"}, nil)
	descThreads = prometheus.NewDesc("obsadapter_process_threads",
		"Threads of the group's processes.", []string{"group"}, nil)
	descFDs = prometheus.NewDesc("obsadapter_process_open_fds",
		"Open file descriptors of the group's processes whose descriptors are readable.", []string{"group"}, nil)
	descMaxFDs = prometheus.NewDesc("obsadapter_process_max_fds",
		"Lowest soft open-files limit among the group's processes.", []string{"group"}, nil)
	descStart = prometheus.NewDesc("obsadapter_process_start_time_seconds",
		"Start time of the group's oldest process since the Unix epoch.", []string{"group"}, nil)
	descRead = prometheus.NewDesc("obsadapter_process_read_bytes_total",
		"Bytes the group's processes caused to be read from storage.", []string{"group"}, nil)
	descWritten = prometheus.NewDesc("obsadapter_process_written_bytes_total",
		"Bytes the group's processes caused to be written to storage.", []string{"group"}, nil)
	descCount = prometheus.NewDesc("obsadapter_process_group_processes",
		"Number of processes in the group.", []string{"group"}, nil)
	descRestarts = prometheus.NewDesc("obsadapter_process_restarts_total",
		"Restarts seen in the group: an exit followed within restart_window by a start of the same command line.", []string{"group"}, nil)
	descOverflow = prometheus.NewDesc("obsadapter_process_overflow_groups",
		"Distinct groups beyond max_groups, counted under the group \""+OverflowGroup+"\".", nil, nil)
)

type groupAgg struct {
	user, system, read, written float64
	rss, vms, threads, fds      float64
	maxFDs, start               float64
	count                       float64
}

type collector struct{ p *Provider }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPU, descRSS, descVMS, descThreads, descFDs, descMaxFDs,
		descStart, descRead, descWritten, descCount, descRestarts, descOverflow} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s, err := c.p.Snapshot()
	if err != nil {
		return // counted in obsadapter_procinfo_snapshot_errors_total; the rest of the scrape goes on
	}
	aggs := make(map[string]*groupAgg, len(s.groups))
	for i := range s.Processes {
		pr := &s.Processes[i]
		a := aggs[pr.group]
		if a == nil {
			a = &groupAgg{maxFDs: math.Inf(1), start: math.Inf(1)}
			aggs[pr.group] = a
		}
		a.count++
		a.user += pr.CPU.UserSeconds
		a.system += pr.CPU.SystemSeconds
		a.rss += float64(pr.Memory.RSSBytes)
		a.vms += float64(pr.Memory.VMSBytes)
		a.threads += float64(pr.Threads)
		if pr.FDs.Open != nil {
			a.fds += float64(*pr.FDs.Open)
		}
		if pr.FDs.Limit != nil {
			a.maxFDs = min(a.maxFDs, float64(*pr.FDs.Limit))
		}
		if pr.IO != nil {
			a.read += float64(pr.IO.ReadBytes)
			a.written += float64(pr.IO.WriteBytes)
		}
		a.start = min(a.start, float64(pr.StartTime.Unix())+float64(pr.StartTime.Nanosecond())/1e9)
	}
	for g, a := range aggs {
		st := s.groups[g]
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, a.user+st.exitedUser, g, "user")
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, a.system+st.exitedSystem, g, "system")
		ch <- prometheus.MustNewConstMetric(descRSS, prometheus.GaugeValue, a.rss, g)
		ch <- prometheus.MustNewConstMetric(descVMS, prometheus.GaugeValue, a.vms, g)
		ch <- prometheus.MustNewConstMetric(descThreads, prometheus.GaugeValue, a.threads, g)
		ch <- prometheus.MustNewConstMetric(descFDs, prometheus.GaugeValue, a.fds, g)
		if !math.IsInf(a.maxFDs, 1) {
			ch <- prometheus.MustNewConstMetric(descMaxFDs, prometheus.GaugeValue, a.maxFDs, g)
		}
		ch <- prometheus.MustNewConstMetric(descStart, prometheus.GaugeValue, a.start, g)
		ch <- prometheus.MustNewConstMetric(descRead, prometheus.CounterValue, a.read+float64(st.exitedRead), g)
		ch <- prometheus.MustNewConstMetric(descWritten, prometheus.CounterValue, a.written+float64(st.exitedWritten), g)
		ch <- prometheus.MustNewConstMetric(descCount, prometheus.GaugeValue, a.count, g)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(st.restarts), g)
	}
	ch <- prometheus.MustNewConstMetric(descOverflow, prometheus.GaugeValue, float64(s.overflow))
}

// selfMetrics describe procinfo's own work.
type selfMetrics struct {
	duration prometheus.Gauge
	errors   prometheus.Counter
	dropped  prometheus.Counter
}

func newSelfMetrics() *selfMetrics {
	return &selfMetrics{
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "obsadapter_procinfo_snapshot_duration_seconds",
			Help: "Wall time the last process snapshot took.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_procinfo_snapshot_errors_total",
			Help: "Snapshots that failed because the proc root could not be listed.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_procinfo_events_dropped_total",
			Help: "Lifecycle records dropped because the sink did not keep up.",
		}),
	}
}

func (m *selfMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	m.errors.Describe(ch)
	m.dropped.Describe(ch)
}

func (m *selfMetrics) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	m.errors.Collect(ch)
	m.dropped.Collect(ch)
}
