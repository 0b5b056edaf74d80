package clocktest

import (
	"testing"
	"time"
)

func TestFakeTimersAndTickers(t *testing.T) {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f := New(start)
	timer := f.NewTimer(10 * time.Second)
	ticker := f.NewTicker(3 * time.Second)
	if f.Waiters() != 2 {
		t.Fatalf("%d waiters", f.Waiters())
	}
	f.Advance(2 * time.Second)
	select {
	case <-timer.C():
		t.Fatal("timer fired early")
	case <-ticker.C():
		t.Fatal("ticker fired early")
	default:
	}
	f.Advance(2 * time.Second)
	if got := <-ticker.C(); !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("tick at %v", got)
	}
	f.Advance(7 * time.Second)
	if got := <-timer.C(); !got.Equal(start.Add(10 * time.Second)) {
		t.Fatalf("timer at %v", got)
	}
	<-ticker.C() // one tick kept, the missed ones dropped, as time.Ticker does
	select {
	case <-ticker.C():
		t.Fatal("missed ticks were queued")
	default:
	}
	if timer.Stop() {
		t.Fatal("Stop of a fired timer reported it active")
	}
	if timer.Reset(time.Second) {
		t.Fatal("Reset of a fired timer reported it active")
	}
	f.Advance(time.Second)
	<-timer.C()
	ticker.Stop()
	if n := f.Waiters(); n != 0 {
		t.Fatalf("%d waiters after stopping all", n)
	}
	if !f.Now().Equal(start.Add(12 * time.Second)) {
		t.Fatalf("now %v", f.Now())
	}
}

func TestBlockUntil(t *testing.T) {
	f := New(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		<-f.NewTimer(time.Minute).C()
		close(done)
	}()
	if !f.BlockUntil(1) {
		t.Fatal("the goroutine never waited")
	}
	f.Advance(time.Minute)
	<-done
}
