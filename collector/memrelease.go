package collector

import (
	"context"
	"time"
)

// idleRelease is how long the pipeline must be quiet after a burst before
// the heap's free pages go back to the OS.
const idleRelease = 10 * time.Second

// releaseWhenIdle returns the heap's free memory to the OS once the
// pipeline has been quiet for idleRelease after it carried batches. A
// sidecar that read a backlog (its files at start, a burst) and went idle
// would otherwise keep the burst's garbage resident: the runtime's own
// scavenger keeps the heap goal's worth, twice the live heap. One forced
// collection per burst costs a few milliseconds; a steady trickle, which
// never goes quiet, never pays it.
func (c *Collector) releaseWhenIdle(ctx context.Context) {
	t := c.opts.Clock.NewTicker(idleRelease)
	defer t.Stop()
	var q quietAfterBurst
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			if q.tick(c.pipeline.batches.Load()) {
				c.mu.Lock()
				for _, rs := range c.sources {
					rs.blocks.Drain()
				}
				c.mu.Unlock()
				c.releaseMemory()
			}
		}
	}
}

// quietAfterBurst says, tick by tick, when a counter that moved has
// stopped moving: once per burst.
type quietAfterBurst struct {
	seen  uint64
	moved bool
}

func (q *quietAfterBurst) tick(n uint64) (quiet bool) {
	if n != q.seen {
		q.seen, q.moved = n, true
		return false
	}
	quiet, q.moved = q.moved, false
	return quiet
}
