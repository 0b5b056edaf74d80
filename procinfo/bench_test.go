package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"os/exec"
	"syscall"
	"testing"
	"time"
)

// benchSnapshot measures steady-state snapshots (the previous one supplies
// the CPU baseline, the redacted command lines and the slow fields, as in
// production) or, cold, the first snapshot's cost every time. It reports CPU
// time per snapshot next to wall time.
func benchSnapshot(b *testing.B, cold bool) {
	p, _ := newTestProvider(b, DefaultConfig(), clocktest.New(time.Now()), nil)
	prev, err := p.r.take(time.Now(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if cold {
		prev = nil
	}
	var ru0, ru1 syscall.Rusage
	b.ReportAllocs()
	b.ResetTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	for i := 0; i < b.N; i++ {
		s, err := p.r.take(time.Now(), prev)
		if err != nil {
			b.Fatal(err)
		}
		n += len(s.Processes)
		if !cold {
			prev = s
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	b.StopTimer()
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()) + time.Duration(ru1.Stime.Nano()-ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(n)/float64(b.N), "procs/op")
}

// BenchmarkSnapshotMachine: this machine's processes as they are.
func BenchmarkSnapshotMachine(b *testing.B) { benchSnapshot(b, false) }

// BenchmarkSnapshot500: this machine plus 500 sleep children, steady and cold.
func BenchmarkSnapshot500(b *testing.B) {
	cmds := make([]*exec.Cmd, 0, 500)
	b.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	})
	for range 500 {
		c := exec.Command("sleep", "600")
		if err := c.Start(); err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	b.Run("steady", func(b *testing.B) { benchSnapshot(b, false) })
	b.Run("cold", func(b *testing.B) { benchSnapshot(b, true) })
}

// BenchmarkRedact: one command line with secrets, no cache.
func BenchmarkRedact(b *testing.B) {
	r, _ := newRedactor(nil)
	args := []string{"/usr/bin/app", "--listen=:8080", "--db-password=hunter2", "postgres://bob:s3cret@db/app", "-v"}
	b.ReportAllocs()
	for b.Loop() {
		r.redact(args)
	}
}
