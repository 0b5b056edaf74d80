package procinfo

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Cgroup is the control group of a process and the limits set on it. Limits
// are omitted when unlimited or not visible (another container's cgroup seen
// through a cgroup namespace is outside our /sys/fs/cgroup).
type Cgroup struct {
	Path             string   `json:"path"`
	MemoryLimitBytes *uint64  `json:"memory_limit_bytes,omitempty"`
	CPULimitCores    *float64 `json:"cpu_limit_cores,omitempty"`
}

// cgroupPaths is one parsed /proc/PID/cgroup: the v2 path and the v1 paths of
// the memory and cpu controllers.
type cgroupPaths struct {
	unified, memory, cpu string
	hasUnified           bool
}

func parseCgroupFile(b []byte) cgroupPaths {
	var c cgroupPaths
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte{'\n'}) {
		parts := bytes.SplitN(line, []byte{':'}, 3)
		if len(parts) != 3 {
			continue
		}
		path := string(parts[2])
		if string(parts[0]) == "0" && len(parts[1]) == 0 {
			c.unified, c.hasUnified = path, true
			continue
		}
		for _, ctl := range bytes.Split(parts[1], []byte{','}) {
			switch string(ctl) {
			case "memory":
				c.memory = path
			case "cpu":
				c.cpu = path
			}
		}
	}
	return c
}

// v1 limits at or above this are the kernel's "no limit" (PAGE_COUNTER_MAX in bytes).
const v1Unlimited = 1 << 62

// cgroupResolver turns cgroup paths into limits under root (normally
// /sys/fs/cgroup). Results are cached per distinct /proc/PID/cgroup content
// for one snapshot: the processes of a container share one cgroup.
type cgroupResolver struct {
	root  string
	cache map[string]*Cgroup
}

func (r *cgroupResolver) resolve(raw []byte) *Cgroup {
	if c, ok := r.cache[string(raw)]; ok {
		return c
	}
	c := r.lookup(parseCgroupFile(raw))
	r.cache[string(raw)] = c
	return c
}

func (r *cgroupResolver) lookup(p cgroupPaths) *Cgroup {
	c := &Cgroup{Path: p.unified}
	if p.memory != "" {
		c.Path = p.memory
	}
	if c.Path == "" && !p.hasUnified {
		return nil
	}
	v2 := r.root
	if _, err := os.Stat(filepath.Join(v2, "cgroup.controllers")); err != nil {
		v2 = filepath.Join(r.root, "unified") // hybrid hierarchy
	}
	if p.memory != "" {
		if n, ok := readUint(r.dir("memory", p.memory), "memory.limit_in_bytes"); ok && n < v1Unlimited {
			c.MemoryLimitBytes = &n
		}
	} else if p.hasUnified {
		if n, ok := readUint(r.under(v2, p.unified), "memory.max"); ok {
			c.MemoryLimitBytes = &n
		}
	}
	if p.cpu != "" {
		d := r.dir("cpu", p.cpu)
		q, ok1 := readInt(d, "cpu.cfs_quota_us")
		per, ok2 := readInt(d, "cpu.cfs_period_us")
		if ok1 && ok2 && q > 0 && per > 0 {
			cores := float64(q) / float64(per)
			c.CPULimitCores = &cores
		}
	} else if p.hasUnified {
		if b, err := os.ReadFile(filepath.Join(r.under(v2, p.unified), "cpu.max")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 && f[0] != "max" {
				q, err1 := strconv.ParseFloat(f[0], 64)
				per, err2 := strconv.ParseFloat(f[1], 64)
				if err1 == nil && err2 == nil && per > 0 {
					cores := q / per
					c.CPULimitCores = &cores
				}
			}
		}
	}
	return c
}

// dir is the directory of a v1 controller's cgroup, or "" when the path lies
// outside what this mount namespace can see.
func (r *cgroupResolver) dir(controller, path string) string {
	return r.under(filepath.Join(r.root, controller), path)
}

func (r *cgroupResolver) under(base, path string) string {
	if strings.Contains(path, "..") {
		return ""
	}
	return filepath.Join(base, path)
}

func readUint(dir, name string) (uint64, bool) {
	if dir == "" {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func readInt(dir, name string) (int64, bool) {
	if dir == "" {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
