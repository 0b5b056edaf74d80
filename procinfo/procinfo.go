package procinfo

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/record"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shirou/gopsutil/v4/common"
)

// Deps is what the composition root hands the provider.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // the project's own registry
	Clock      clock.Clock           // nil: the system clock
	// Sink receives lifecycle records (source "procinfo"). It may block; Run
	// calls it from its own goroutine only.
	Sink func(record.Record)
}

// maxPending bounds lifecycle records waiting for Run to hand them on.
const maxPending = 4096

// OverflowGroup collects the processes of groups beyond max_groups.
const OverflowGroup = "_other"

// Provider takes cached snapshots and serves them as JSON, metrics and records.
type Provider struct {
	cfg      Config
	deps     Deps
	ctx      context.Context // carries the proc root for gopsutil
	groupRe  *regexp.Regexp
	bootTime time.Time
	cpuCount int
	metrics  *selfMetrics

	mu       sync.Mutex // guards everything below; held for a whole refresh
	r        *reader
	snap     *Snapshot
	groups   map[string]*groupState // admitted groups, at most MaxGroups
	other    groupState             // OverflowGroup's
	exits    []recentExit
	pending  []record.Record
	overflow int // distinct groups folded into OverflowGroup in the last snapshot
	wake     chan struct{}

	// Lifecycle state of the processes of the events scope, bounded by the
	// live processes: those not yet announced (younger than min_lifetime) and
	// those that are restarts (with their run of restarts in a row).
	unannounced map[procKey]struct{}
	restarted   map[procKey]int
	churn       churnState
	scope       string // events scope in force: pod, children or all
	selfPID     int    // the adapter, as the proc root numbers it
}

// groupState holds what a group's counters must remember across process
// exits so that they stay monotonic while the group exists.
type groupState struct {
	exitedUser, exitedSystem  float64
	exitedRead, exitedWritten uint64
	restarts                  uint64
}

type recentExit struct {
	key      string // name + cmdline
	pid      int
	at       time.Time
	lifetime time.Duration
	chain    int // restarts in a row that led to this process; 0: not a restart
}

// New builds a provider and registers its metrics. It does not read any
// process until the first snapshot is needed.
func New(cfg Config, deps Deps) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("procinfo: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	deps.Clock = clock.Or(deps.Clock)
	if deps.Sink == nil {
		deps.Sink = func(record.Record) {}
	}
	p := &Provider{
		cfg:    cfg,
		deps:   deps,
		ctx:    context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: cfg.ProcRoot, common.HostSysEnvKey: cfg.SysRoot}),
		groups: map[string]*groupState{},
		wake:   make(chan struct{}, 1),

		unannounced: map[procKey]struct{}{},
		restarted:   map[procKey]int{},
		selfPID:     selfPID(cfg.ProcRoot),
	}
	var why string
	p.scope, why = resolveScope(cfg)
	if cfg.Events {
		deps.Logger.Info("process events", "scope", p.scope, "reason", why, "self_pid", p.selfPID)
	}
	if cfg.GroupBy == GroupByCmdline {
		p.groupRe = regexp.MustCompile(cfg.GroupRegex) // checked by Validate
	}
	// Boot time is read once: process start times are ticks since boot. It
	// is read from stat's btime rather than gopsutil's host.BootTime, which in
	// a container derives it from uptime and the current time (jittery).
	b, err := os.ReadFile(cfg.ProcRoot + "/stat")
	if err != nil {
		return nil, fmt.Errorf("procinfo: boot time: %w", err)
	}
	bt, ok := parseBootTime(b)
	if !ok {
		return nil, fmt.Errorf("procinfo: boot time: no btime line in %s/stat", cfg.ProcRoot)
	}
	p.bootTime = time.Unix(bt, 0)
	p.cpuCount = countCPUs(p)
	var red *redactor
	if cfg.Redact.Enabled {
		if red, err = newRedactor(cfg.Redact.Patterns); err != nil {
			return nil, fmt.Errorf("procinfo: redact.patterns: %w", err)
		}
	}
	p.r = newReader(cfg.ProcRoot, cfg.SysRoot, p.bootTime, red)
	p.metrics = newSelfMetrics()
	if err := deps.Registerer.Register(&collector{p: p}); err != nil {
		return nil, fmt.Errorf("procinfo: registering metrics: %w", err)
	}
	if err := deps.Registerer.Register(p.metrics); err != nil {
		return nil, fmt.Errorf("procinfo: registering metrics: %w", err)
	}
	return p, nil
}

// Run samples every interval (so CPU % and lifecycle events are measured even
// when nobody asks) and hands lifecycle records to the sink. It returns when
// ctx is done.
func (p *Provider) Run(ctx context.Context) {
	tick := p.deps.Clock.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	p.sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C():
			p.sample()
		case <-p.wake: // an API call or scrape took a snapshot with events
			p.drain()
		}
	}
}

func (p *Provider) sample() {
	// Half an interval: a snapshot an API call took moments ago is reused
	// instead of sampling twice, without drifting a whole interval late.
	if _, err := p.snapshot(p.cfg.Interval / 2); err != nil {
		p.deps.Logger.Warn("process snapshot failed", "err", err)
	}
	p.drain()
}

func (p *Provider) drain() {
	p.mu.Lock()
	recs := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, r := range recs {
		p.deps.Sink(r)
	}
}

// Snapshot returns the shared snapshot, taking a new one when the cached one
// is older than the interval.
func (p *Provider) Snapshot() (*Snapshot, error) { return p.snapshot(p.cfg.Interval) }

func (p *Provider) snapshot(maxAge time.Duration) (*Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.deps.Clock.Now()
	if p.snap != nil && now.Sub(p.snap.Time) < maxAge {
		return p.snap, nil
	}
	start := p.deps.Clock.Now()
	s, err := p.r.take(now, p.snap)
	if err != nil {
		p.metrics.errors.Inc()
		return nil, fmt.Errorf("reading %s: %w", p.cfg.ProcRoot, err)
	}
	s.Duration = p.deps.Clock.Now().Sub(start)
	p.metrics.duration.Set(s.Duration.Seconds())
	p.assignGroups(s)
	recs := p.lifecycle(p.snap, s)
	if p.cfg.Events && len(recs) > 0 {
		p.queue(recs)
	}
	s.groups = make(map[string]groupState, len(p.groups)+1)
	for g, st := range p.groups {
		s.groups[g] = *st
	}
	s.groups[OverflowGroup] = p.other
	s.overflow = p.overflow
	p.snap = s
	return s, nil
}

// queue adds records for Run to hand on and wakes it. When Run is stalled
// behind a blocked sink, the newest maxPending records are kept.
func (p *Provider) queue(recs []record.Record) {
	if over := len(p.pending) + len(recs) - maxPending; over > 0 {
		p.metrics.dropped.Add(float64(over))
		if over > len(p.pending) {
			recs = recs[over-len(p.pending):]
			over = len(p.pending)
		}
		p.pending = append(p.pending[:0], p.pending[over:]...)
	}
	p.pending = append(p.pending, recs...)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// groupName is the metrics group of a process before bounding.
func (p *Provider) groupName(pr *Process) string {
	if p.groupRe != nil {
		if m := p.groupRe.FindStringSubmatch(strings.Join(pr.Cmdline, " ")); m != nil {
			if len(m) > 1 && m[1] != "" {
				return m[1]
			}
			return m[0]
		}
	}
	return pr.Name
}

// assignGroups bounds the groups: a group keeps its slot while it has
// processes, new ones are admitted while slots are free, the rest are counted
// under OverflowGroup. New groups are admitted in PID order, so the oldest
// processes (the app, normally) get slots first.
func (p *Provider) assignGroups(s *Snapshot) {
	names := make([]string, len(s.Processes))
	live := map[string]bool{}
	for i := range s.Processes {
		names[i] = p.groupName(&s.Processes[i])
		if _, ok := p.groups[names[i]]; ok {
			live[names[i]] = true
		}
	}
	for g := range p.groups {
		if !live[g] {
			delete(p.groups, g)
		}
	}
	folded := map[string]bool{}
	for i := range s.Processes {
		g := names[i]
		if p.groups[g] == nil {
			if len(p.groups) >= p.cfg.MaxGroups {
				folded[g] = true
				g = OverflowGroup
			} else {
				p.groups[g] = &groupState{}
			}
		}
		s.Processes[i].group = g
	}
	p.overflow = len(folded)
}

// state is a group's remembered counters; the overflow group's live forever.
func (p *Provider) state(group string) *groupState {
	if group == OverflowGroup {
		return &p.other
	}
	return p.groups[group]
}

// lifecycle compares two snapshots: exits and starts become records, exited
// processes' counters move into their group, and an exit followed within
// restart_window by a start of the same name and command line is a restart.
// Every process counts for the metrics; records are made for the events
// scope only, and a start is announced once the process has lived
// min_lifetime (see events.go).
func (p *Provider) lifecycle(prev, cur *Snapshot) []record.Record {
	p.markScope(prev, cur)
	if prev == nil {
		return nil
	}
	now := cur.Time
	var recs []record.Record
	for i := range prev.Processes {
		old := &prev.Processes[i]
		key := procKey{old.PID, old.start}
		if _, ok := cur.byKey[key]; ok {
			continue
		}
		if g := p.state(old.group); g != nil {
			g.exitedUser += old.CPU.UserSeconds
			g.exitedSystem += old.CPU.SystemSeconds
			if old.IO != nil {
				g.exitedRead += old.IO.ReadBytes
				g.exitedWritten += old.IO.WriteBytes
			}
		}
		chain, wasRestart := p.restarted[key]
		delete(p.restarted, key)
		_, young := p.unannounced[key]
		delete(p.unannounced, key)
		lifetime := prev.Time.Sub(old.StartTime) // at least; it was alive then
		// A short-lived process does not make the next start a restart,
		// unless it was itself a restart: that is how a crash loop goes.
		if lifetime >= p.cfg.MinLifetime || wasRestart {
			p.exits = append(p.exits, recentExit{key: restartKey(old), pid: old.PID, at: now, lifetime: lifetime, chain: chain})
		}
		switch {
		case !old.inScope:
		case young:
			p.countShortLived(old, prev.Time)
		default:
			recs = append(recs, p.exitRecord(old, now, lifetime))
		}
	}
	// forget exits older than the window; the slice stays bounded by how many
	// processes can exit within it
	keep := p.exits[:0]
	for _, e := range p.exits {
		if now.Sub(e.at) <= p.cfg.RestartWindow {
			keep = append(keep, e)
		}
	}
	p.exits = keep
	for i := range cur.Processes {
		pr := &cur.Processes[i]
		key := procKey{pr.PID, pr.start}
		if _, ok := prev.byKey[key]; ok {
			if _, young := p.unannounced[key]; young && now.Sub(pr.StartTime) >= p.cfg.MinLifetime {
				delete(p.unannounced, key)
				recs = append(recs, p.startRecord(pr, now))
			}
			continue
		}
		if j := p.matchExit(pr); j >= 0 {
			e := p.exits[j]
			p.exits = append(p.exits[:j], p.exits[j+1:]...)
			if g := p.state(pr.group); g != nil {
				g.restarts++
			}
			chain := 1
			if e.chain > 0 && e.lifetime < crashLoopLifetime {
				chain = e.chain + 1
			}
			p.restarted[key] = chain
			if pr.inScope {
				recs = append(recs, p.restartRecord(pr, e, chain, now))
			}
			continue
		}
		switch {
		case !pr.inScope:
		case now.Sub(pr.StartTime) < p.cfg.MinLifetime:
			p.unannounced[key] = struct{}{}
		default:
			recs = append(recs, p.startRecord(pr, now))
		}
	}
	if r, ok := p.churnSummary(now); ok {
		recs = append(recs, r)
	}
	return recs
}

func restartKey(pr *Process) string {
	return pr.Name + "\x00" + strings.Join(pr.Cmdline, "\x00")
}

func (p *Provider) matchExit(pr *Process) int {
	k := restartKey(pr)
	for j, e := range p.exits {
		if e.key == k && e.pid != pr.PID {
			return j
		}
	}
	return -1
}

func (p *Provider) baseRecord(pr *Process, now time.Time, sev record.Severity, event, msg string) record.Record {
	fields := []record.Field{
		{Key: "event", Value: record.StringValue(event)},
		{Key: "pid", Value: record.IntValue(int64(pr.PID))},
		{Key: "ppid", Value: record.IntValue(int64(pr.PPID))},
		{Key: "name", Value: record.StringValue(pr.Name)},
		{Key: "group", Value: record.StringValue(pr.group)},
	}
	if !p.cfg.HideCmdline && len(pr.Cmdline) > 0 {
		args := make([]record.Value, len(pr.Cmdline))
		for i, a := range pr.Cmdline {
			args[i] = record.StringValue(a)
		}
		fields = append(fields, record.Field{Key: "cmdline", Value: record.ArrayValue(args)})
	}
	if pr.UID != nil {
		fields = append(fields, record.Field{Key: "uid", Value: record.IntValue(int64(*pr.UID))})
	}
	return record.Record{
		Time:         now,
		ObservedTime: now,
		Severity:     sev,
		Message:      msg,
		Format:       "procinfo",
		Source:       "procinfo",
		Fields:       fields,
	}
}

func (p *Provider) startRecord(pr *Process, now time.Time) record.Record {
	r := p.baseRecord(pr, now, record.SeverityInfo, "start", fmt.Sprintf("process %d (%s) started", pr.PID, pr.Name))
	r.Time = pr.StartTime
	return r
}

// exitRecord is info unless the exit is known to have failed: an unknown
// status is the common case (the exit code is readable only from a zombie),
// not a fault.
func (p *Provider) exitRecord(pr *Process, now time.Time, lifetime time.Duration) record.Record {
	sev := record.SeverityInfo
	msg := fmt.Sprintf("process %d (%s) exited, exit status unknown", pr.PID, pr.Name)
	var extra []record.Field
	switch code, sig, known := exitStatus(pr); {
	case !known:
	case sig != 0:
		sev = record.SeverityWarn
		msg = fmt.Sprintf("process %d (%s) was killed by signal %d", pr.PID, pr.Name, sig)
		extra = append(extra, record.Field{Key: "signal", Value: record.IntValue(int64(sig))})
	default:
		msg = fmt.Sprintf("process %d (%s) exited with code %d", pr.PID, pr.Name, code)
		extra = append(extra, record.Field{Key: "exit_code", Value: record.IntValue(int64(code))})
		if code != 0 {
			sev = record.SeverityWarn
		}
	}
	r := p.baseRecord(pr, now, sev, "exit", msg)
	r.Fields = append(r.Fields, extra...)
	r.Fields = append(r.Fields, record.Field{Key: "lifetime_seconds", Value: record.FloatValue(lifetime.Seconds())})
	return r
}

// restartRecord is a warning, an error for the crashLoopRestarts-th restart
// in a row.
func (p *Provider) restartRecord(pr *Process, e recentExit, chain int, now time.Time) record.Record {
	sev := record.SeverityWarn
	msg := fmt.Sprintf("process %s restarted: pid %d replaced pid %d", pr.Name, pr.PID, e.pid)
	if chain >= crashLoopRestarts {
		sev = record.SeverityError
		msg = fmt.Sprintf("process %s is crash-looping: restarted %d times in a row, pid %d replaced pid %d", pr.Name, chain, pr.PID, e.pid)
	}
	r := p.baseRecord(pr, now, sev, "restart", msg)
	r.Fields = append(r.Fields,
		record.Field{Key: "previous_pid", Value: record.IntValue(int64(e.pid))},
		record.Field{Key: "previous_lifetime_seconds", Value: record.FloatValue(e.lifetime.Seconds())},
		record.Field{Key: "restarts_in_a_row", Value: record.IntValue(int64(chain))},
	)
	return r
}
