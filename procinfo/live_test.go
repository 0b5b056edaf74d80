package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/internal/testpeer"

	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// TestMain turns the test binary into a helper process when asked: it opens
// a file and listens on loopback TCP and UDP, prints the ports, and lives
// until its stdin closes.
func TestMain(m *testing.M) {
	if os.Getenv("PROCINFO_TEST_HELPER") == "1" {
		helper()
		return
	}
	os.Exit(m.Run())
}

func helper() {
	f, err := os.Open(os.Args[0])
	if err != nil {
		panic(err)
	}
	defer f.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer pc.Close()
	fmt.Printf("%d %d\n", ln.Addr().(*net.TCPAddr).Port, pc.LocalAddr().(*net.UDPAddr).Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

type helperProc struct {
	cmd              *exec.Cmd
	stdin            io.Closer
	tcpPort, udpPort int
}

func startHelper(t *testing.T, args ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), "PROCINFO_TEST_HELPER=1", "HELPER_SECRET=never-shown")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helperProc{cmd: cmd, stdin: in}
	t.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	if _, err := fmt.Sscan(line, &h.tcpPort, &h.udpPort); err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}
	return h
}

// startSleep starts `sleep 300`, under name when it is not empty (a copy of
// the binary, so its series and records are told apart from other sleeps).
func startSleep(t *testing.T, name ...string) *exec.Cmd {
	t.Helper()
	bin := "sleep"
	if len(name) > 0 {
		b, err := os.ReadFile(mustLookPath(t, "sleep"))
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(t.TempDir(), name[0])
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// waitFor polls cond until it holds or the deadline passes; each poll steps
// the provider's clock past the interval so the next read is a new snapshot.
func waitFor(t *testing.T, c *clocktest.Fake, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		c.Advance(time.Minute)
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLiveProcesses runs against the real /proc: a helper with an open file,
// a TCP and a UDP socket, and a sleep child, then kills the sleep child.
func TestLiveProcesses(t *testing.T) {
	h := startHelper(t, "--password=hunter2", "serve")
	sleepName := fmt.Sprintf("pisl%d", os.Getpid()%100000)
	sl := startSleep(t, sleepName)
	c := clocktest.New(time.Now())
	s := &sink{}
	cfg := DefaultConfig()
	cfg.MinLifetime = 0
	cfg.MaxGroups = 10000 // this machine has more names than the default 50
	p, reg := newTestProvider(t, cfg, c, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	self := os.Getpid()
	hp := h.cmd.Process.Pid
	rec := get(t, p.Handler(), http.MethodGet, "/api/v1/processes/"+strconv.Itoa(hp))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "never-shown") || strings.Contains(rec.Body.String(), "hunter2") {
		t.Fatalf("secret in response: %s", rec.Body)
	}
	d := decode[ProcessDetail](t, rec)
	checks := []struct {
		name string
		ok   bool
	}{
		{"parent is the test", d.PPID == self},
		{"cmdline redacted", strings.Join(d.Cmdline[1:], " ") == "-test.run=^$ --password=*** serve"},
		{"exe", d.Exe != ""},
		{"open fds counted", d.FDs.Open != nil && *d.FDs.Open >= 6},
		{"open file by type", d.OpenFiles != nil && d.OpenFiles.File >= 1 && d.OpenFiles.Socket >= 2 && d.OpenFiles.Pipe >= 2},
		{"tcp port", d.Listening != nil && containsSocket(*d.Listening, Socket{"tcp", "127.0.0.1", uint16(h.tcpPort)})},
		{"udp port", d.Listening != nil && containsSocket(*d.Listening, Socket{"udp", "127.0.0.1", uint16(h.udpPort)})},
		{"io readable", d.IO != nil},
		{"fd limit", d.FDs.Limit != nil && *d.FDs.Limit > 0},
		{"start time recent", time.Since(d.StartTime) < time.Minute && time.Since(d.StartTime) > -time.Second},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("%s: %s", ck.name, rec.Body)
		}
	}

	// The test's own detail lists both children.
	me := decode[ProcessDetail](t, get(t, p.Handler(), http.MethodGet, "/api/v1/processes/"+strconv.Itoa(self)))
	kids := map[int]bool{}
	for _, ch := range me.Children {
		kids[ch.PID] = true
	}
	if !kids[hp] || !kids[sl.Process.Pid] {
		t.Errorf("children of the test %v, want %d and %d", me.Children, hp, sl.Process.Pid)
	}

	series := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "obsadapter_process_group_processes" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == sleepName {
					return m.GetGauge().GetValue()
				}
			}
		}
		return 0
	}
	if n := series(); n != 1 {
		t.Errorf("group %s has %v processes, want 1", sleepName, n)
	}

	// Kill sleep; see it as a zombie (we have not reaped it yet), then gone.
	sp := sl.Process.Pid
	if err := sl.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "sleep to become a zombie", func() bool {
		snap, err := p.Snapshot()
		return err == nil && snap.find(sp) != nil && snap.find(sp).State == "zombie"
	})
	_ = sl.Wait()
	waitFor(t, c, "sleep to vanish", func() bool {
		snap, err := p.Snapshot()
		return err == nil && snap.find(sp) == nil
	})
	if n := series(); n != 0 {
		t.Errorf("group %s still has a series after its process exited", sleepName)
	}
	if rec := get(t, p.Handler(), http.MethodGet, "/api/v1/processes/"+strconv.Itoa(sp)); rec.Code != http.StatusNotFound {
		t.Errorf("killed process: status %d, want 404", rec.Code)
	}
	var exit record.Record
	waitFor(t, c, "the exit record", func() bool {
		for _, r := range s.all() {
			if field(r, "event") == "exit" && field(r, "pid") == strconv.Itoa(sp) {
				exit = r
				return true
			}
		}
		return false
	})
	if exit.Level() != record.LevelWarn || field(exit, "signal") != "9" || field(exit, "name") != sleepName {
		t.Errorf("exit record %s", exit.AppendJSON(nil))
	}

	// A new child shows up as a start record once Run samples again: each
	// poll of waitFor steps the clock past Run's ticker.
	sl2 := startSleep(t)
	waitFor(t, c, "the start record", func() bool {
		for _, r := range s.all() {
			if field(r, "event") == "start" && field(r, "pid") == strconv.Itoa(sl2.Process.Pid) {
				return r.Level() == record.LevelInfo
			}
		}
		return false
	})
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	return testpeer.LookPath(t, name, "a standard tool the live tests run")
}

func containsSocket(list []Socket, s Socket) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
