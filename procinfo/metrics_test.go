package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/internal/testpeer"

	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

func TestMetricsFixture(t *testing.T) {
	_, reg := newFixtureProvider(t, fixtureConfig())
	want := `
# HELP obsadapter_process_group_processes Number of processes in the group.
# TYPE obsadapter_process_group_processes gauge
obsadapter_process_group_processes{group="a-very-long-name-worker"} 1
obsadapter_process_group_processes{group="app (main)"} 1
obsadapter_process_group_processes{group="job"} 1
obsadapter_process_group_processes{group="kworker/0:1"} 1
# HELP obsadapter_process_cpu_seconds_total CPU time used by the group's processes, by mode.
# TYPE obsadapter_process_cpu_seconds_total counter
obsadapter_process_cpu_seconds_total{group="a-very-long-name-worker",mode="system"} 0.1
obsadapter_process_cpu_seconds_total{group="a-very-long-name-worker",mode="user"} 0.3
obsadapter_process_cpu_seconds_total{group="app (main)",mode="system"} 0.5
obsadapter_process_cpu_seconds_total{group="app (main)",mode="user"} 2.5
obsadapter_process_cpu_seconds_total{group="job",mode="system"} 0.05
obsadapter_process_cpu_seconds_total{group="job",mode="user"} 0.05
obsadapter_process_cpu_seconds_total{group="kworker/0:1",mode="system"} 0.12
obsadapter_process_cpu_seconds_total{group="kworker/0:1",mode="user"} 0
# HELP obsadapter_process_max_fds Lowest soft open-files limit among the group's processes.
# TYPE obsadapter_process_max_fds gauge
obsadapter_process_max_fds{group="app (main)"} 1024
# HELP obsadapter_process_open_fds Open file descriptors of the group's processes whose descriptors are readable.
# TYPE obsadapter_process_open_fds gauge
obsadapter_process_open_fds{group="a-very-long-name-worker"} 0
obsadapter_process_open_fds{group="app (main)"} 10
obsadapter_process_open_fds{group="job"} 0
obsadapter_process_open_fds{group="kworker/0:1"} 0
# HELP obsadapter_process_read_bytes_total Bytes the group's processes caused to be read from storage.
# TYPE obsadapter_process_read_bytes_total counter
obsadapter_process_read_bytes_total{group="a-very-long-name-worker"} 0
obsadapter_process_read_bytes_total{group="app (main)"} 4096
obsadapter_process_read_bytes_total{group="job"} 0
obsadapter_process_read_bytes_total{group="kworker/0:1"} 0
# HELP obsadapter_process_start_time_seconds Start time of the group's oldest process since the Unix epoch.
# TYPE obsadapter_process_start_time_seconds gauge
obsadapter_process_start_time_seconds{group="a-very-long-name-worker"} 1.70000005e+09
obsadapter_process_start_time_seconds{group="app (main)"} 1.70000001e+09
obsadapter_process_start_time_seconds{group="job"} 1.70000006e+09
obsadapter_process_start_time_seconds{group="kworker/0:1"} 1.70000000003e+09
# HELP obsadapter_process_overflow_groups Distinct groups beyond max_groups, counted under the group "_other".
# TYPE obsadapter_process_overflow_groups gauge
obsadapter_process_overflow_groups 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"obsadapter_process_group_processes", "obsadapter_process_cpu_seconds_total", "obsadapter_process_max_fds",
		"obsadapter_process_open_fds", "obsadapter_process_read_bytes_total", "obsadapter_process_start_time_seconds",
		"obsadapter_process_overflow_groups"); err != nil {
		t.Error(err)
	}
}

// TestPromtool runs `promtool check metrics` over the exposition of the live
// machine's processes.
func TestPromtool(t *testing.T) {
	promtool := testpeer.LookPath(t, "promtool", "Debian package prometheus; CI installs it")
	cfg := DefaultConfig()
	cfg.MaxGroups = 5 // make sure the overflow group is exercised
	_, reg := newTestProvider(t, cfg, clocktest.New(fixtureTime), nil)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(buf.String(), `group="`+OverflowGroup+`"`) {
		t.Errorf("no overflow group with max_groups 5:\n%s", buf.String())
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
