package collector

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// ApplyMemoryLimit sets the Go runtime's soft memory limit to 90% of the
// container's cgroup memory limit, so the GC works harder before the kernel's
// OOM killer would act. An explicit GOMEMLIMIT wins. It returns the limit set,
// or 0 when none was.
func ApplyMemoryLimit(cgroupRoot string) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit := cgroupMemoryLimit(cgroupRoot)
	if limit <= 0 {
		return 0
	}
	soft := limit / 10 * 9
	debug.SetMemoryLimit(soft)
	return soft
}

// cgroupMemoryLimit reads the limit from cgroup v2 (memory.max) or v1
// (memory/memory.limit_in_bytes); "max" or an absurdly large v1 value means
// no limit.
func cgroupMemoryLimit(root string) int64 {
	for _, p := range []string{root + "/memory.max", root + "/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}
