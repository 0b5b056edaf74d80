package procinfo

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

var fixtureTime = time.Date(2023, 11, 14, 23, 0, 0, 0, time.UTC)

// TestFixtureGolden reads the fixture /proc tree (every field procinfo parses
// itself) and compares the API's answers with goldens.
func TestFixtureGolden(t *testing.T) {
	p, _ := newFixtureProvider(t, fixtureConfig())
	for _, tc := range []struct{ name, url string }{
		{"fixture_processes.golden.json", "/api/v1/processes"},
		{"fixture_process_100.golden.json", "/api/v1/processes/100"},
		{"fixture_host.golden.json", "/api/v1/host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, p.Handler(), http.MethodGet, tc.url)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			golden(t, tc.name, rec.Body.Bytes())
		})
	}
}

// TestFixtureFields spells out what the goldens hold for the fields that are
// easy to get subtly wrong.
func TestFixtureFields(t *testing.T) {
	p, _ := newFixtureProvider(t, fixtureConfig())
	s, err := p.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	app, worker, zombie, kthread := s.find(100), s.find(101), s.find(102), s.find(103)
	if app == nil || worker == nil || zombie == nil || kthread == nil {
		t.Fatalf("missing processes: %+v", s.Processes)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"comm with spaces and parens", app.Name, "app (main)"},
		{"start time from btime", app.StartTime, time.Unix(1700000000+10, 0).UTC()},
		{"rss in pages", app.Memory.RSSBytes, uint64(2560 * 4096)},
		{"cpu seconds", app.CPU.UserSeconds, 2.5},
		{"redacted flag", app.Cmdline[2], "--db-password=***"},
		{"redacted url", app.Cmdline[3], "postgres://bob:***@db:5432/app"},
		{"exe", app.Exe, "/usr/bin/app"},
		{"fd limit", *app.FDs.Limit, uint64(1024)},
		{"open fds", *app.FDs.Open, 10},
		{"open files by type", *app.openFiles, OpenFiles{File: 2, Socket: 4, Pipe: 2, AnonInode: 1, Other: 1}},
		{"listening", *app.Listening, []Socket{{"tcp", "0.0.0.0", 8080}, {"tcp", "::", 9090}, {"udp", "127.0.0.1", 5353}}},
		{"io", *app.IO, IO{ReadBytes: 4096, WriteBytes: 8192}},
		{"cgroup v2 memory", *app.Cgroup.MemoryLimitBytes, uint64(268435456)},
		{"cgroup v2 cpu", *app.Cgroup.CPULimitCores, 0.5},
		{"no cpu percent on first snapshot", app.CPU.Percent == nil, true},
		{"comm cut at 15 bytes is completed from argv", worker.Name, "a-very-long-name-worker"},
		{"flag value redacted", worker.Cmdline, []string{"/opt/bin/a-very-long-name-worker", "--token", "***", "-v"}},
		{"uid", *worker.UID, uint32(1000)},
		{"unreadable io omitted", worker.IO == nil, true},
		{"unreadable fds omitted", worker.FDs.Open == nil && worker.Listening == nil, true},
		{"unlimited nofile omitted", worker.FDs.Limit == nil, true},
		{"unlimited cgroup omitted", worker.Cgroup.MemoryLimitBytes == nil && worker.Cgroup.CPULimitCores == nil, true},
		{"zombie state", zombie.State, "zombie"},
		{"zombie exit status", zombie.exit, uint64(256)},
		{"cgroup outside namespace has no limits", zombie.Cgroup.MemoryLimitBytes == nil, true},
		{"kernel thread has no cmdline", kthread.Cmdline == nil && kthread.Exe == "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !equal(tc.got, tc.want) {
				t.Errorf("got %#v, want %#v", tc.got, tc.want)
			}
		})
	}
}

func TestCgroupV1(t *testing.T) {
	r := cgroupResolver{root: filepath.Join("testdata", "sys-v1", "fs", "cgroup"), cache: map[string]*Cgroup{}}
	tests := []struct {
		name       string
		file       string
		mem        uint64 // 0 = none
		cores      float64
		wantCgroup bool
	}{
		{"limited", "12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n0::/\n", 536870912, 2, true},
		{"unlimited", "12:memory:/docker/def\n11:cpu,cpuacct:/docker/def\n", 0, 0, true},
		{"missing directory", "12:memory:/docker/nope\n11:cpu:/docker/nope\n", 0, 0, true},
		{"empty", "", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := r.resolve([]byte(tc.file))
			if (c != nil) != tc.wantCgroup {
				t.Fatalf("cgroup %+v, want present=%v", c, tc.wantCgroup)
			}
			if c == nil {
				return
			}
			if got := c.MemoryLimitBytes; (got == nil) != (tc.mem == 0) || got != nil && *got != tc.mem {
				t.Errorf("memory limit %v, want %d", got, tc.mem)
			}
			if got := c.CPULimitCores; (got == nil) != (tc.cores == 0) || got != nil && *got != tc.cores {
				t.Errorf("cpu limit %v, want %v", got, tc.cores)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		comm    string
		ppid    int
		wantErr bool
	}{
		{"plain", "1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11", "init", 0, false},
		{"parens in name", "7 (a) b (c)) R 3 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 10 11", "a) b (c)", 3, false},
		{"truncated", "7 (x", "", 0, true},
		{"empty", "", "", 0, true},
		{"bad state", "7 (x) RR 1", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (s.comm != tc.comm || s.ppid != tc.ppid) {
				t.Errorf("got comm %q ppid %d, want %q %d", s.comm, s.ppid, tc.comm, tc.ppid)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 9 10 11"))
	f.Add([]byte("7 (a) b (c)) R 3"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStat(b)
	})
}

func FuzzParseNetSockets(f *testing.F) {
	f.Add([]byte("h\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseNetSockets(b, "tcp", map[uint64]Socket{})
		parseNetSockets(b, "udp", map[uint64]Socket{})
	})
}

func TestParseHexAddr(t *testing.T) {
	tests := []struct {
		name, in, addr string
		port           uint16
		ok             bool
	}{
		{"ipv4 loopback", "0100007F:1F90", "127.0.0.1", 8080, true},
		{"ipv4 any", "00000000:0016", "0.0.0.0", 22, true},
		{"ipv6 any", "00000000000000000000000000000000:2382", "::", 9090, true},
		{"ipv6 loopback", "00000000000000000000000001000000:0050", "::1", 80, true},
		{"ipv4-mapped ipv6", "0000000000000000FFFF00000100007F:2383", "127.0.0.1", 9091, true},
		{"ipv6 global", "B80D0120000000000000000001000000:01BB", "2001:db8::1", 443, true},
		{"no port", "0100007F", "", 0, false},
		{"odd length", "0100007:0050", "", 0, false},
		{"not hex", "0100007G:0050", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, port, ok := parseHexAddr([]byte(tc.in))
			if ok != tc.ok || ok && (a.String() != tc.addr || port != tc.port) {
				t.Errorf("got %v %d %v, want %s %d %v", a, port, ok, tc.addr, tc.port, tc.ok)
			}
		})
	}
}
