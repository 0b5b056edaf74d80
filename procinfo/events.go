package procinfo

import (
	"cmp"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// What makes lifecycle records useful rather than loud (docs/api.md,
// "Lifecycle records"):
//   - records cover only the processes of the events scope (events_scope): the
//     pod's own processes in a shared process namespace, else the adapter's
//     own descendants; the API and metrics still cover every process;
//   - a start is announced once the process has lived min_lifetime; one that
//     exits before is counted, and the counts are reported as one summary
//     record a minute (churnPeriod) instead of a start and an exit each;
//   - an exit is a warning only when it is known to have failed (a non-zero
//     code or a signal); an unknown status is the common case, not a fault;
//   - a restart is a warning, and a crash loop (crashLoopRestarts restarts in
//     a row, each replaced process having lived less than crashLoopLifetime)
//     is an error.

const (
	// churnPeriod is how often short-lived processes are summarised.
	churnPeriod = time.Minute
	// churnTopNames is how many names the summary lists.
	churnTopNames = 5
	// crashLoopRestarts restarts in a row make a crash loop.
	crashLoopRestarts = 3
	// crashLoopLifetime: a restarted process that lived at least this long
	// ends a run of restarts (the kubelet resets its back-off after 10 min).
	crashLoopLifetime = 10 * time.Minute
)

// churnState counts the short-lived processes of the current period.
type churnState struct {
	since  time.Time // the period's start; meaningful while count > 0
	count  int
	failed int // with a known non-zero exit code or a signal
	names  map[string]int
}

// resolveScope turns events_scope into the scope in force; auto looks at
// PID 1 of the proc root.
func resolveScope(cfg Config) (scope, why string) {
	if cfg.EventsScope != ScopeAuto {
		return cfg.EventsScope, "configured"
	}
	return detectScope(cfg.ProcRoot)
}

// detectScope is the auto decision. In a pod with shareProcessNamespace PID 1
// is the pause container and every visible process is the pod's: scope pod.
// Anything else (systemd or another init of a host or VM, the adapter itself
// in its own PID namespace, an unreadable PID 1) means the visible processes
// are not known to be the pod's: scope children.
func detectScope(procRoot string) (scope, why string) {
	b, err := os.ReadFile(procRoot + "/1/stat")
	if err != nil {
		return ScopeChildren, "PID 1 is not readable"
	}
	st, err := parseStat(b)
	if err != nil {
		return ScopeChildren, "PID 1's stat is malformed"
	}
	var argv0 string
	if cmd, err := os.ReadFile(procRoot + "/1/cmdline"); err == nil {
		if args := splitCmdline(cmd); len(args) > 0 {
			argv0 = args[0]
		}
	}
	if st.comm == "pause" || path.Base(argv0) == "pause" {
		return ScopePod, "PID 1 is a pod's pause process (shared process namespace)"
	}
	return ScopeChildren, fmt.Sprintf("PID 1 is %q, not a pod's pause process", st.comm)
}

// selfPID is the adapter's PID as the proc root numbers it (the proc root may
// be another PID namespace's procfs); os.Getpid() when it has no self link.
func selfPID(procRoot string) int {
	if l, err := os.Readlink(procRoot + "/self"); err == nil {
		if pid, err := strconv.Atoi(l); err == nil {
			return pid
		}
	}
	return os.Getpid()
}

// markScope sets inScope on cur's processes. Membership is sticky: a process
// in scope stays so when its parent exits and it is reparented.
func (p *Provider) markScope(prev, cur *Snapshot) {
	switch p.scope {
	case ScopeAll:
		for i := range cur.Processes {
			cur.Processes[i].inScope = true
		}
	case ScopePod:
		kthreadd := cur.find(2)
		kernel := kthreadd != nil && kthreadd.Name == "kthreadd"
		for i := range cur.Processes {
			pr := &cur.Processes[i]
			pr.inScope = !kernel || (pr.PID != 2 && pr.PPID != 2)
		}
	default: // ScopeChildren
		memo := make(map[int]bool, len(cur.Processes))
		var in func(pr *Process, depth int) bool
		in = func(pr *Process, depth int) bool {
			if v, ok := memo[pr.PID]; ok {
				return v
			}
			var v bool
			switch {
			case pr.PID == p.selfPID:
			case pr.PPID == p.selfPID:
				v = true
			case prev != nil && prev.inScope(pr):
				v = true
			case depth < 64 && pr.PPID > 0 && pr.PPID != pr.PID:
				if parent := cur.find(pr.PPID); parent != nil {
					v = in(parent, depth+1)
				}
			}
			memo[pr.PID] = v
			return v
		}
		for i := range cur.Processes {
			cur.Processes[i].inScope = in(&cur.Processes[i], 0)
		}
	}
}

// inScope reports whether s holds pr (same PID and start) marked in scope.
func (s *Snapshot) inScope(pr *Process) bool {
	i, ok := s.byKey[procKey{pr.PID, pr.start}]
	return ok && s.Processes[i].inScope
}

// exitStatus is a process's exit code or signal, known only if it was last
// seen as a zombie whose status could be read (the kernel shows exit_code to
// ptrace-capable readers only).
func exitStatus(pr *Process) (code, sig int, known bool) {
	if pr.State != "zombie" || pr.openFiles == nil {
		return 0, 0, false
	}
	if s := pr.exit & 0x7f; s != 0 {
		return 0, int(s), true
	}
	return int(pr.exit >> 8 & 0xff), 0, true
}

// countShortLived adds a process that exited before it was announced; seen
// is the last snapshot that listed it.
func (p *Provider) countShortLived(pr *Process, seen time.Time) {
	c := &p.churn
	if c.count == 0 {
		c.since, c.failed, c.names = seen, 0, map[string]int{}
	}
	c.count++
	c.names[pr.Name]++
	if code, sig, known := exitStatus(pr); known && (code != 0 || sig != 0) {
		c.failed++
	}
}

// churnSummary returns the period's summary once the period is over.
func (p *Provider) churnSummary(now time.Time) (record.Record, bool) {
	c := &p.churn
	if c.count == 0 || now.Sub(c.since) < churnPeriod {
		return record.Record{}, false
	}
	type nameCount struct {
		name string
		n    int
	}
	byCount := make([]nameCount, 0, len(c.names))
	for name, n := range c.names {
		byCount = append(byCount, nameCount{name, n})
	}
	slices.SortFunc(byCount, func(a, b nameCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name))
	})
	top := make([]record.Field, 0, min(len(byCount), churnTopNames))
	for _, nc := range byCount[:cap(top)] {
		top = append(top, record.Field{Key: nc.name, Value: record.IntValue(int64(nc.n))})
	}
	window := now.Sub(c.since).Round(time.Second)
	sev := record.SeverityInfo
	if c.failed > 0 {
		sev = record.SeverityWarn
	}
	msg := fmt.Sprintf("%d short-lived %s of %d %s exited in the last %ds",
		c.count, plural(c.count, "process", "processes"), len(c.names), plural(len(c.names), "name", "names"), int(window.Seconds()))
	if c.failed > 0 {
		msg += fmt.Sprintf(", %d of them failed", c.failed)
	}
	r := record.Record{
		Time:         now,
		ObservedTime: now,
		Severity:     sev,
		Message:      msg,
		Format:       "procinfo",
		Source:       "procinfo",
		Fields: []record.Field{
			{Key: "event", Value: record.StringValue("short_lived")},
			{Key: "count", Value: record.IntValue(int64(c.count))},
			{Key: "failed", Value: record.IntValue(int64(c.failed))},
			{Key: "names", Value: record.IntValue(int64(len(c.names)))},
			{Key: "top_names", Value: record.ObjectValue(top)},
			{Key: "window_seconds", Value: record.FloatValue(window.Seconds())},
			{Key: "min_lifetime_seconds", Value: record.FloatValue(p.cfg.MinLifetime.Seconds())},
		},
	}
	*c = churnState{}
	return r, true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
