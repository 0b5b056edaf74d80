package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"strconv"
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

func TestLifecycle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	app := proc(10, "app", t0.Add(-time.Hour), "--serve")
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
		{"exit with unknown status", [][]Process{{app}, {}}, []want{{"exit", "warn", "10", "exit_code", ""}}, 0},
		{"exit 0 seen as zombie", [][]Process{{zombie(app, 0)}, {}}, []want{{"exit", "info", "10", "exit_code", "0"}}, 0},
		{"exit 3 seen as zombie", [][]Process{{zombie(app, 3<<8)}, {}}, []want{{"exit", "warn", "10", "exit_code", "3"}}, 0},
		{"killed by a signal", [][]Process{{zombie(app, 9)}, {}}, []want{{"exit", "warn", "10", "signal", "9"}}, 0},
		{"restart in the same interval", [][]Process{{app}, {proc(11, "app", t0.Add(4*time.Second), "--serve")}},
			[]want{{"exit", "warn", "10", "", ""}, {"restart", "warn", "11", "previous_pid", "10"}}, 1},
		{"restart a few intervals later", [][]Process{{app}, {}, {}, {proc(12, "app", t0.Add(14*time.Second), "--serve")}},
			[]want{{"exit", "warn", "10", "", ""}, {"restart", "warn", "12", "previous_pid", "10"}}, 1},
		{"start after the restart window", [][]Process{{app}, {}, {}, {}, {}, {}, {}, {}, {proc(13, "app", t0.Add(39*time.Second), "--serve")}},
			[]want{{"exit", "warn", "10", "", ""}, {"start", "info", "13", "", ""}}, 0},
		{"other command line is not a restart", [][]Process{{app}, {proc(11, "app", t0.Add(4*time.Second), "--migrate")}},
			[]want{{"exit", "warn", "10", "", ""}, {"start", "info", "11", "", ""}}, 0},
		{"short-lived worker churn is not a restart",
			[][]Process{{proc(20, "app", t0.Add(-2*time.Second), "--serve")}, {proc(21, "app", t0.Add(4*time.Second), "--serve")}},
			[]want{{"exit", "warn", "20", "", ""}, {"start", "info", "21", "", ""}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newTestProvider(t, fixtureConfig(), clocktest.New(t0), nil)
			var prev *Snapshot
			var got []record.Record
			for i, procs := range tc.steps {
				cur := mkSnap(t0.Add(time.Duration(i)*5*time.Second), procs...)
				p.assignGroups(cur)
				got = append(got, p.lifecycle(prev, cur)...)
				prev = cur
			}
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
