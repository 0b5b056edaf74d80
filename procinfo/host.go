package procinfo

import (
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// Host is the machine (or VM) the pod runs on, and this container's cgroup.
// Fields that cannot be read are omitted.
type Host struct {
	Time          time.Time   `json:"time"`
	BootTime      time.Time   `json:"boot_time"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	Load          *Load       `json:"load,omitempty"`
	CPUCount      int         `json:"cpu_count,omitempty"`
	Memory        *HostMemory `json:"memory,omitempty"`
	Cgroup        *Cgroup     `json:"cgroup,omitempty"`
	Processes     int         `json:"processes"`
}

// Load is the 1, 5 and 15 minute load average.
type Load struct {
	Load1  float64 `json:"load1"`
	Load5  float64 `json:"load5"`
	Load15 float64 `json:"load15"`
}

// HostMemory is the machine's memory as /proc/meminfo reports it.
type HostMemory struct {
	TotalBytes     uint64 `json:"total_bytes"`
	AvailableBytes uint64 `json:"available_bytes"`
	UsedBytes      uint64 `json:"used_bytes"`
}

// Host reads host-wide figures through gopsutil (pointed at proc_root) and
// the container's own cgroup limits; the process count comes from the shared
// snapshot, so a busy API still lists /proc once per interval.
func (p *Provider) Host() (Host, error) {
	s, err := p.Snapshot()
	if err != nil {
		return Host{}, err
	}
	h := Host{
		Time:          s.Time.UTC(),
		BootTime:      p.bootTime.UTC(),
		UptimeSeconds: s.Time.Sub(p.bootTime).Seconds(),
		Processes:     len(s.Processes),
	}
	if l, err := load.AvgWithContext(p.ctx); err == nil {
		h.Load = &Load{Load1: l.Load1, Load5: l.Load5, Load15: l.Load15}
	}
	h.CPUCount = p.cpuCount
	if m, err := mem.VirtualMemoryWithContext(p.ctx); err == nil {
		h.Memory = &HostMemory{TotalBytes: m.Total, AvailableBytes: m.Available, UsedBytes: m.Used}
	}
	if b, err := os.ReadFile(p.cfg.ProcRoot + "/self/cgroup"); err == nil {
		r := cgroupResolver{root: p.r.cgroups.root, cache: map[string]*Cgroup{}}
		h.Cgroup = r.resolve(b)
	}
	return h, nil
}

// countCPUs is read once: gopsutil parses all of /proc/cpuinfo for it.
func countCPUs(p *Provider) int {
	n, err := cpu.CountsWithContext(p.ctx, true)
	if err != nil {
		return 0 // omitted from /api/v1/host
	}
	return n
}
