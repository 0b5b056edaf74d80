package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/record"
)

func mkSnap(at time.Time, procs ...Process) *Snapshot {
	s := &Snapshot{Time: at, Processes: procs, byKey: map[procKey]int{}}
	for i := range procs {
		s.byKey[procKey{procs[i].PID, procs[i].start}] = i
	}
	return s
}

func proc(pid int, name string, started time.Time, args ...string) Process {
	return Process{PID: pid, PPID: 1, Name: name, Cmdline: append([]string{name}, args...), State: "sleeping",
		StartTime: started, start: uint64(started.Unix())}
}

func zombie(p Process, status uint64) Process {
	p.State, p.exit, p.openFiles = "zombie", status, &OpenFiles{}
	return p
}

func field(r record.Record, key string) string {
	v, ok := r.Lookup(key)
	if !ok {
		return ""
	}
	return v.String()
}

// lifecycleSteps runs one snapshot per step, 5 s apart from t0, through
// lifecycle and returns every record.
func lifecycleSteps(p *Provider, t0 time.Time, steps [][]Process) []record.Record {
	var prev *Snapshot
	var got []record.Record
	for i, procs := range steps {
		cur := mkSnap(t0.Add(time.Duration(i)*5*time.Second), procs...)
		p.assignGroups(cur)
		got = append(got, p.lifecycle(prev, cur)...)
		prev = cur
	}
	return got
}

// TestLifecycle checks records, levels and restart counting with every
// process in scope and the defaults (min_lifetime 5s, restart_window 30s).
func TestLifecycle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := proc(10, "app", t0.Add(-time.Hour), "--serve")
	again := func(pid int, started time.Duration) Process { return proc(pid, "app", t0.Add(started), "--serve") }
	type want struct {
		event, level, pid, extra, extraVal string
	}
	tests := []struct {
		name     string
		steps    [][]Process // one snapshot per step, 5 s apart
		want     []want
		restarts uint64 // of group "app" at the end
	}{
		{"no events on the first snapshot", [][]Process{{app}}, nil, 0},
		{"start", [][]Process{{}, {app}}, []want{{"start", "info", "10", "", ""}}, 0},
		// The usual case in a pod (the pause process reaps orphans at once):
		// nothing is known to have gone wrong, so it is not a warning.
		{"exit with unknown status is info", [][]Process{{app}, {}}, []want{{"exit", "info", "10", "exit_code", ""}}, 0},
		{"exit 0 seen as zombie", [][]Process{{zombie(app, 0)}, {}}, []want{{"exit", "info", "10", "exit_code", "0"}}, 0},
		{"non-zero exit is warn", [][]Process{{zombie(app, 3<<8)}, {}}, []want{{"exit", "warn", "10", "exit_code", "3"}}, 0},
		{"killed by a signal is warn", [][]Process{{zombie(app, 9)}, {}}, []want{{"exit", "warn", "10", "signal", "9"}}, 0},
		{"terminated by a signal is warn", [][]Process{{zombie(app, 15)}, {}}, []want{{"exit", "warn", "10", "signal", "15"}}, 0},
		{"restart in the same interval", [][]Process{{app}, {again(11, 4*time.Second)}},
			[]want{{"exit", "info", "10", "", ""}, {"restart", "warn", "11", "previous_pid", "10"}}, 1},
		{"restart after a crash", [][]Process{{zombie(app, 6)}, {again(11, 4*time.Second)}},
			[]want{{"exit", "warn", "10", "signal", "6"}, {"restart", "warn", "11", "restarts_in_a_row", "1"}}, 1},
		{"restart a few intervals later", [][]Process{{app}, {}, {}, {again(12, 14*time.Second)}},
			[]want{{"exit", "info", "10", "", ""}, {"restart", "warn", "12", "previous_pid", "10"}}, 1},
		{"start after the restart window", [][]Process{{app}, {}, {}, {}, {}, {}, {}, {}, {again(13, 30*time.Second)}},
			[]want{{"exit", "info", "10", "", ""}, {"start", "info", "13", "", ""}}, 0},
		{"other command line is not a restart", [][]Process{{app}, {proc(11, "app", t0.Add(4*time.Second), "--migrate")}, {proc(11, "app", t0.Add(4*time.Second), "--migrate")}},
			[]want{{"exit", "info", "10", "", ""}, {"start", "info", "11", "", ""}}, 0},
		{"short-lived worker churn is not a restart",
			[][]Process{{proc(20, "app", t0.Add(-2*time.Second), "--serve")}, {again(21, 4*time.Second)}, {again(21, 4*time.Second)}},
			[]want{{"exit", "info", "20", "", ""}, {"start", "info", "21", "", ""}}, 0},
		// A start is announced once the process has lived min_lifetime, with
		// its start time.
		{"young process announced after min_lifetime", [][]Process{{}, {again(30, 4*time.Second)}, {again(30, 4*time.Second)}},
			[]want{{"start", "info", "30", "", ""}}, 0},
		// Each instance dies within a second; restarts of a restart chain
		// however short-lived they are, and the third in a row is an error.
		{"crash loop", [][]Process{{app}, {again(11, 4*time.Second)}, {}, {again(12, 14*time.Second)}, {}, {again(13, 24*time.Second)}},
			[]want{
				{"exit", "info", "10", "", ""}, {"restart", "warn", "11", "restarts_in_a_row", "1"},
				{"exit", "info", "11", "", ""}, {"restart", "warn", "12", "restarts_in_a_row", "2"},
				{"exit", "info", "12", "", ""}, {"restart", "error", "13", "restarts_in_a_row", "3"},
			}, 1}, // the group's series vanished with its last process, twice
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureConfig()
			cfg.EventsScope = ScopeAll
			p, _ := newTestProvider(t, cfg, clocktest.New(t0), nil)
			got := lifecycleSteps(p, t0, tc.steps)
			if len(got) != len(tc.want) {
				for _, r := range got {
					t.Logf("%s", r.AppendJSON(nil))
				}
				t.Fatalf("got %d records, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				r := got[i]
				if r.Source != "procinfo" || field(r, "event") != w.event || r.Level().String() != w.level || field(r, "pid") != w.pid {
					t.Errorf("record %d: %s, want event %s level %s pid %s", i, r.AppendJSON(nil), w.event, w.level, w.pid)
				}
				if w.extra != "" && field(r, w.extra) != w.extraVal {
					t.Errorf("record %d: %s = %q, want %q", i, w.extra, field(r, w.extra), w.extraVal)
				}
				if w.event == "start" {
					var pr *Process
					for _, st := range tc.steps {
						for j := range st {
							if strconv.Itoa(st[j].PID) == w.pid {
								pr = &st[j]
							}
						}
					}
					if !r.Time.Equal(pr.StartTime) {
						t.Errorf("record %d: time %s, want the start time %s", i, r.Time, pr.StartTime)
					}
				}
			}
			var restarts uint64
			if g := p.groups["app"]; g != nil {
				restarts = g.restarts
			}
			if restarts != tc.restarts {
				t.Errorf("restarts = %d, want %d", restarts, tc.restarts)
			}
		})
	}
}

// TestShortLivedSummary: processes that start and exit within min_lifetime
// are counted and reported as one record a minute, not a start and an exit
// each.
func TestShortLivedSummary(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := proc(10, "app", t0.Add(-time.Hour), "--serve")
	names := []string{"sh", "grep", "sh", "sed", "sh", "grep"}
	// churn returns steps 0..n: the app throughout and, at steps 1..workers,
	// a worker started a second before the snapshot and gone at the next.
	churn := func(n, workers int, status func(i int) (uint64, bool)) [][]Process {
		steps := make([][]Process, n+1)
		for i := range steps {
			steps[i] = []Process{app}
			if i >= 1 && i <= workers {
				w := proc(100+i, names[i%len(names)], t0.Add(time.Duration(i)*5*time.Second-time.Second), "-c", "true")
				if st, ok := status(i); ok {
					w = zombie(w, st)
				}
				steps[i] = append(steps[i], w)
			}
		}
		return steps
	}
	unknown := func(int) (uint64, bool) { return 0, false }
	tests := []struct {
		name  string
		steps [][]Process
		want  []string // level and message of each record
		top   string   // top_names of the summary
	}{
		{"a minute of churn is one record", churn(13, 12, unknown),
			[]string{"info 12 short-lived processes of 3 names exited in the last 60s"}, `{"sh":6,"grep":4,"sed":2}`},
		{"nothing before the minute is over", churn(12, 11, unknown), nil, ""},
		{"one", churn(13, 1, unknown), []string{"info 1 short-lived process of 1 name exited in the last 60s"}, `{"grep":1}`},
		{"known failures make it a warning", churn(13, 4, func(i int) (uint64, bool) { return 1 << 8, i == 2 }),
			[]string{"warn 4 short-lived processes of 3 names exited in the last 60s, 1 of them failed"}, `{"sh":2,"grep":1,"sed":1}`},
		{"clean exits are not failures", churn(13, 2, func(int) (uint64, bool) { return 0, true }),
			[]string{"info 2 short-lived processes of 2 names exited in the last 60s"}, `{"grep":1,"sh":1}`},
		{"the next minute starts afresh", churn(26, 14, unknown), []string{
			"info 12 short-lived processes of 3 names exited in the last 60s",
			"info 2 short-lived processes of 2 names exited in the last 60s",
		}, `{"grep":1,"sh":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fixtureConfig()
			cfg.EventsScope = ScopeAll
			p, _ := newTestProvider(t, cfg, clocktest.New(t0), nil)
			got := lifecycleSteps(p, t0, tc.steps)
			var msgs []string
			for _, r := range got {
				msgs = append(msgs, r.Level().String()+" "+r.Message)
			}
			if !equal(msgs, tc.want) {
				t.Fatalf("records %q, want %q", msgs, tc.want)
			}
			if len(got) == 0 {
				return
			}
			last := got[len(got)-1]
			if field(last, "event") != "short_lived" {
				t.Errorf("event %q", field(last, "event"))
			}
			if top, _ := last.Lookup("top_names"); string(top.AppendJSON(nil)) != tc.top {
				t.Errorf("top_names %s, want %s", top.AppendJSON(nil), tc.top)
			}
		})
	}
}

func TestGroupsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := fixtureConfig()
	cfg.MaxGroups = 2
	p, _ := newTestProvider(t, cfg, clocktest.New(t0), nil)
	s := mkSnap(t0, proc(1, "a", t0), proc(2, "b", t0), proc(3, "c", t0), proc(4, "d", t0), proc(5, "a", t0))
	p.assignGroups(s)
	got := []string{}
	for _, pr := range s.Processes {
		got = append(got, pr.group)
	}
	if want := []string{"a", "b", OverflowGroup, OverflowGroup, "a"}; !equal(got, want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	if p.overflow != 2 {
		t.Errorf("overflow = %d, want 2", p.overflow)
	}
	// "b" is gone: its slot goes to the next new group, "a" keeps its own.
	s2 := mkSnap(t0, proc(1, "a", t0), proc(3, "c", t0), proc(4, "d", t0))
	p.assignGroups(s2)
	got = got[:0]
	for _, pr := range s2.Processes {
		got = append(got, pr.group)
	}
	if want := []string{"a", "c", OverflowGroup}; !equal(got, want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
}

func TestGroupByCmdline(t *testing.T) {
	cfg := fixtureConfig()
	cfg.GroupBy, cfg.GroupRegex = GroupByCmdline, `-jar (\S+)\.jar`
	p, _ := newTestProvider(t, cfg, clocktest.New(time.Time{}), nil)
	for _, tc := range []struct {
		name string
		proc Process
		want string
	}{
		{"first group", proc(1, "java", time.Time{}, "-Xmx1g", "-jar", "orders.jar"), "orders"},
		{"no match falls back to name", proc(2, "nginx", time.Time{}), "nginx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.groupName(&tc.proc); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQueueBounded(t *testing.T) {
	recs := func(from, n int) []record.Record {
		out := make([]record.Record, n)
		for i := range out {
			out[i].Message = strconv.Itoa(from + i)
		}
		return out
	}
	tests := []struct {
		name           string
		pending, added int
		wantFirst      string
		wantDropped    float64
	}{
		{"room", 10, 5, "0", 0},
		{"drops the oldest pending", maxPending - 1, 3, "2", 2},
		{"more than fit at once", 0, maxPending + 7, "7", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newTestProvider(t, fixtureConfig(), clocktest.New(time.Time{}), nil)
			p.pending = recs(0, tc.pending)
			p.queue(recs(tc.pending, tc.added))
			if want := min(tc.pending+tc.added, maxPending); len(p.pending) != want {
				t.Fatalf("%d pending, want %d", len(p.pending), want)
			}
			if p.pending[0].Message != tc.wantFirst {
				t.Errorf("oldest kept %s, want %s", p.pending[0].Message, tc.wantFirst)
			}
			if got := testutil.ToFloat64(p.metrics.dropped); got != tc.wantDropped {
				t.Errorf("dropped %v, want %v", got, tc.wantDropped)
			}
			select {
			case <-p.wake:
			default:
				t.Error("Run was not woken")
			}
		})
	}
}

func TestCPUPercent(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &reader{clkTck: 100}
	old := proc(1, "a", t0.Add(-time.Hour))
	old.ticks = 1000
	prev := mkSnap(t0, old)
	tests := []struct {
		name string
		prev *Snapshot
		p    Process
		want float64 // -1: unset
	}{
		{"no previous snapshot", nil, old, -1},
		{"half a core over the interval", prev, func() Process { p := old; p.ticks = 1250; return p }(), 50},
		{"two cores", prev, func() Process { p := old; p.ticks = 2000; return p }(), 200},
		{"started since: measured from its start", prev, func() Process {
			p := proc(2, "b", t0.Add(4*time.Second))
			p.ticks = 100
			return p
		}(), 100},
		{"unseen but older than the previous snapshot", prev, func() Process { p := proc(3, "c", t0.Add(-time.Minute)); p.ticks = 9; return p }(), -1},
		{"reused pid is another process", prev, func() Process { p := old; p.start++; p.StartTime = t0.Add(-time.Minute); return p }(), -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			r.cpuPercent(&p, t0.Add(5*time.Second), tc.prev)
			got := -1.0
			if p.CPU.Percent != nil {
				got = *p.CPU.Percent
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// fakeProcRoot copies the fixture /proc into a temporary directory and adds
// processes to it: pid → stat line and command line ("" for none).
func fakeProcRoot(t *testing.T, add map[int][2]string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "proc")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(l, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// git does not keep empty directories: the zombie's fd directory is empty.
	if err := os.MkdirAll(filepath.Join(dst, "102", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for pid, files := range add {
		dir := filepath.Join(dst, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(files[0]+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := strings.ReplaceAll(files[1], " ", "\x00")
		if cmd != "" {
			cmd += "\x00"
		}
		if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmd), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func statLine(pid int, comm string, ppid int, startTicks int) string {
	return fmt.Sprintf("%d (%s) S %d 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 1 0 %d 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", pid, comm, ppid, startTicks)
}

// TestEventsScope reads the fixture /proc with a fake PID 1 added, takes the
// adapter to be PID 100 (the fixture's app, parent of 101 and 102), and
// removes every process but PID 1, kthreadd and the adapter: the exit records
// show which processes the scope covers. Added to the fixture: kthreadd (2,
// parent of the fixture's kernel thread 103), a sidecar (200, not descended
// from the adapter) and a grandchild of the adapter (201, child of 101).
func TestEventsScope(t *testing.T) {
	pause := [2]string{statLine(1, "pause", 0, 1), "/pause"}
	systemd := [2]string{statLine(1, "systemd", 0, 1), "/sbin/init splash"}
	tests := []struct {
		name      string
		pid1      *[2]string // nil: no PID 1 in the proc root
		scope     string
		wantScope string
		wantExits []int
	}{
		{"auto in a pod: PID 1 is pause", &pause, ScopeAuto, ScopePod, []int{101, 102, 200, 201}},
		{"auto on a host: PID 1 is systemd", &systemd, ScopeAuto, ScopeChildren, []int{101, 102, 201}},
		{"auto without a readable PID 1", nil, ScopeAuto, ScopeChildren, []int{101, 102, 201}},
		{"children in a pod", &pause, ScopeChildren, ScopeChildren, []int{101, 102, 201}},
		{"pod on a host leaves out kernel threads", &systemd, ScopePod, ScopePod, []int{101, 102, 200, 201}},
		{"all", &systemd, ScopeAll, ScopeAll, []int{101, 102, 103, 200, 201}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			add := map[int][2]string{
				2:   {statLine(2, "kthreadd", 0, 1), ""},
				200: {statLine(200, "sidecar", 1, 2000), "/bin/sidecar --serve"},
				201: {statLine(201, "helper", 101, 7000), "/bin/helper"},
			}
			if tc.pid1 != nil {
				add[1] = *tc.pid1
			}
			cfg := fixtureConfig()
			cfg.ProcRoot = fakeProcRoot(t, add)
			cfg.EventsScope = tc.scope
			p, _ := newTestProvider(t, cfg, clocktest.New(fixtureTime), nil)
			if p.scope != tc.wantScope {
				t.Errorf("scope %s, want %s", p.scope, tc.wantScope)
			}
			p.selfPID = 100
			s, err := p.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if s.find(1) == nil != (tc.pid1 == nil) || s.find(2) == nil || s.find(200) == nil || s.find(201) == nil {
				t.Fatalf("fake processes not read: %+v", s.Processes)
			}
			var kept []Process
			for _, pr := range s.Processes {
				if pr.PID <= 2 || pr.PID == 100 {
					kept = append(kept, pr)
				}
			}
			var exits []int
			for _, r := range p.lifecycle(s, mkSnap(s.Time.Add(5*time.Second), kept...)) {
				if field(r, "event") != "exit" {
					t.Errorf("unexpected record %s", r.AppendJSON(nil))
				}
				pid, _ := strconv.Atoi(field(r, "pid"))
				exits = append(exits, pid)
			}
			if !equal(exits, tc.wantExits) {
				t.Errorf("exit records for %v, want %v", exits, tc.wantExits)
			}
			// The API still lists every process.
			if n := len(s.Processes); n != len(add)+4 {
				t.Errorf("snapshot has %d processes, want %d", n, len(add)+4)
			}
		})
	}
}

// TestScopeChildrenSticky: a descendant stays in scope when its parent exits
// and it is reparented; a process that never descended from the adapter is
// never in it.
func TestScopeChildrenSticky(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(pid, ppid int, name string) Process {
		p := proc(pid, name, t0.Add(-time.Hour))
		p.PPID = ppid
		return p
	}
	cfg := fixtureConfig()
	cfg.EventsScope = ScopeChildren
	p, _ := newTestProvider(t, cfg, clocktest.New(t0), nil)
	p.selfPID = 50
	self, shell, job, other := at(50, 1, "obsadapter"), at(60, 50, "sh"), at(61, 60, "job"), at(70, 1, "cron")
	got := lifecycleSteps(p, t0, [][]Process{
		{self, shell, job, other},
		{self, at(61, 1, "job"), other}, // the shell exits, its job is reparented to PID 1
		{self},                          // the job and cron exit
	})
	var pids []string
	for _, r := range got {
		pids = append(pids, field(r, "event")+" "+field(r, "pid"))
	}
	if want := []string{"exit 60", "exit 61"}; !equal(pids, want) {
		t.Errorf("records %q, want %q", pids, want)
	}
}

func TestDetectScope(t *testing.T) {
	tests := []struct {
		name       string
		pid1       *[2]string
		want       string
		wantReason string
	}{
		{"pause", &[2]string{statLine(1, "pause", 0, 1), "/pause"}, ScopePod, "pause"},
		{"pause by argv only", &[2]string{statLine(1, "pause-amd64", 0, 1), "/usr/bin/pause"}, ScopePod, "pause"},
		{"systemd", &[2]string{statLine(1, "systemd", 0, 1), "/sbin/init splash"}, ScopeChildren, `"systemd"`},
		{"sysvinit", &[2]string{statLine(1, "init", 0, 1), "/sbin/init"}, ScopeChildren, `"init"`},
		{"tini", &[2]string{statLine(1, "tini", 0, 1), "/tini -- obsadapter"}, ScopeChildren, `"tini"`},
		{"no PID 1", nil, ScopeChildren, "not readable"},
		{"malformed", &[2]string{"1 garbage", ""}, ScopeChildren, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			add := map[int][2]string{}
			if tc.pid1 != nil {
				add[1] = *tc.pid1
			}
			got, why := detectScope(fakeProcRoot(t, add))
			if got != tc.want || !strings.Contains(why, tc.wantReason) {
				t.Errorf("got %s (%s), want %s (%s)", got, why, tc.want, tc.wantReason)
			}
		})
	}
}
