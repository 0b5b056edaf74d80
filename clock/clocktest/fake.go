// Package clocktest is the test clock: time moves only when a test calls
// Advance, and timers and tickers fire as it passes their deadlines.
package clocktest

import (
	"sync"
	"time"

	"github.com/obsadapter/obsadapter/clock"
)

// Fake is a manual clock, safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
	changed chan struct{} // closed and replaced whenever a waiter is added
}

// New returns a fake clock reading now.
func New(now time.Time) *Fake { return &Fake{now: now, changed: make(chan struct{})} }

var _ clock.Clock = (*Fake)(nil)

// waiter is a timer (period 0) or a ticker.
type waiter struct {
	f      *Fake
	c      chan time.Time
	when   time.Time
	period time.Duration
	active bool
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) NewTimer(d time.Duration) clock.Timer { return fakeTimer{f.add(d, 0)} }

func (f *Fake) NewTicker(d time.Duration) clock.Ticker {
	if d <= 0 {
		panic("clocktest: non-positive ticker interval")
	}
	return fakeTicker{f.add(d, d)}
}

func (f *Fake) add(d, period time.Duration) *waiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &waiter{f: f, c: make(chan time.Time, 1), when: f.now.Add(d), period: period, active: true}
	f.waiters = append(f.waiters, w)
	if d <= 0 && period == 0 {
		f.fire(w)
		f.remove(w)
	}
	f.signal()
	return w
}

// signal wakes BlockUntil; f.mu is held.
func (f *Fake) signal() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// fire delivers w's tick (dropped when the last one is unread, as time's
// tickers do) and schedules the next; f.mu is held.
func (f *Fake) fire(w *waiter) {
	select {
	case w.c <- w.when:
	default:
	}
	if w.period > 0 {
		for !w.when.After(f.now) {
			w.when = w.when.Add(w.period)
		}
		return
	}
	w.active = false
}

// Advance moves the clock on by d, firing every timer and ticker whose
// deadline it passes.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for _, w := range f.waiters {
		if w.active && !w.when.After(f.now) {
			f.fire(w)
		}
	}
	live := f.waiters[:0]
	for _, w := range f.waiters {
		if w.active {
			live = append(live, w)
		}
	}
	clear(f.waiters[len(live):])
	f.waiters = live
}

// Waiters is how many timers and tickers are pending.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// Deadlines are when the pending timers and tickers fire next, in the
// order they were made.
func (f *Fake) Deadlines() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Time, len(f.waiters))
	for i, w := range f.waiters {
		out[i] = w.when
	}
	return out
}

// BlockUntil waits until at least n timers and tickers are pending: the
// code under test has reached its wait, so the test may Advance. It gives up
// after a minute of real time, so a broken test fails instead of hanging.
func (f *Fake) BlockUntil(n int) bool {
	deadline := clock.Real.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		got, changed := len(f.waiters), f.changed
		f.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C():
			return false
		}
	}
}

type fakeTimer struct{ w *waiter }

func (t fakeTimer) C() <-chan time.Time { return t.w.c }

func (t fakeTimer) Stop() bool {
	f := t.w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	was := t.w.active
	t.w.active = false
	f.remove(t.w)
	return was
}

func (t fakeTimer) Reset(d time.Duration) bool {
	f := t.w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	was := t.w.active
	f.remove(t.w)
	t.w.when, t.w.active = f.now.Add(d), true
	f.waiters = append(f.waiters, t.w)
	if d <= 0 {
		f.fire(t.w)
		f.remove(t.w)
	}
	f.signal()
	return was
}

type fakeTicker struct{ w *waiter }

func (t fakeTicker) C() <-chan time.Time { return t.w.c }

func (t fakeTicker) Stop() {
	f := t.w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	t.w.active = false
	f.remove(t.w)
}

func (t fakeTicker) Reset(d time.Duration) {
	f := t.w.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remove(t.w)
	t.w.period, t.w.when, t.w.active = d, f.now.Add(d), true
	f.waiters = append(f.waiters, t.w)
	f.signal()
}

// remove drops w from the pending list; f.mu is held.
func (f *Fake) remove(w *waiter) {
	for i, x := range f.waiters {
		if x == w {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			return
		}
	}
}
