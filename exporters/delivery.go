package exporters

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/exporters/buffer"
)

// Delivery is what the delivering exporters (fluent, otlp) share around
// their wire protocols: encoded items go into a buffer.Buffer (memory or
// spool) with Begin's meaning, one sender goroutine takes them out in
// order and delivers each until the peer accepts it, refuses it for good,
// or the exporter closes, and Close flushes within a deadline. The
// exporter supplies the encoding and Deliver, and counts what Deliver
// alone knows.
type Delivery struct {
	o   DeliveryOptions
	buf buffer.Buffer

	closed atomic.Bool
	ctx    context.Context
	stop   context.CancelFunc
	done   chan struct{}
}

// DeliveryOptions configure a Delivery.
type DeliveryOptions struct {
	// Name is the exporter's, prefixing its errors and log lines; Unit
	// names an item in them ("chunk", "request").
	Name, Unit string
	Buffer     buffer.Buffer
	Deps       Deps
	// Deliver sends one item. nil: the peer accepted accepted of its
	// records (the others the exporter counted as it saw fit). An error
	// made by Permanent: the peer refused the item for good; it is dropped.
	// Any other error: it is delivered again, Deliver waiting first as its
	// protocol wants (a backoff, the peer's Retry-After). Deliver returns
	// promptly once ctx ends.
	Deliver func(ctx context.Context, it *buffer.Item) (accepted int, err error)
	// Count (required) counts records by result: acked, spooled, retried,
	// failed.
	Count func(result string, records int)
	// Succeeded (required) is called after each accepted item, with the
	// time.
	Succeeded func(now time.Time)
	// Stopped, if set, is called by the sender goroutine as it ends.
	Stopped func()
}

// NewDelivery starts the sender goroutine.
func NewDelivery(o DeliveryOptions) *Delivery {
	o.Deps = o.Deps.WithDefaults()
	d := &Delivery{o: o, buf: o.Buffer, done: make(chan struct{})}
	d.ctx, d.stop = context.WithCancel(context.Background())
	go d.run()
	return d
}

// Begin puts the items of one batch (records in all) into the buffer,
// behind those of earlier batches, with the meaning of Pipeliner.Begin: the
// memory queue blocks while it is full and wait returns once every item is
// accepted; the spool returns once they are fsynced, and they are safe.
func (d *Delivery) Begin(ctx context.Context, items []*buffer.Item, records int) (func(context.Context) error, error) {
	if d.closed.Load() {
		return nil, fmt.Errorf("%s: %w", d.o.Name, buffer.ErrClosed)
	}
	if len(items) == 0 {
		return safe, nil
	}
	wait, err := d.buf.Put(ctx, items)
	if errors.Is(err, buffer.ErrTooLarge) {
		d.o.Count("failed", records)
		return nil, Permanent(fmt.Errorf("%s: %w (batch of %d records)", d.o.Name, err, records))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.o.Name, err)
	}
	if d.buf.Durable() {
		d.o.Count("spooled", records)
		return safe, nil
	}
	return func(ctx context.Context) error {
		err := wait(ctx)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, buffer.ErrDropped) || IsPermanent(err):
			return Permanent(fmt.Errorf("%s: %w", d.o.Name, err))
		}
		return fmt.Errorf("%s: %w", d.o.Name, err)
	}, nil
}

func safe(context.Context) error { return nil }

// run is the sender goroutine. Outages and refusals are logged when they
// start and then at most once a minute; Count counts every one.
func (d *Delivery) run() {
	defer close(d.done)
	if d.o.Stopped != nil {
		defer d.o.Stopped()
	}
	log, clk := d.o.Deps.Logger, d.o.Deps.Clock
	var failingSince, lastWarned, lastRefused time.Time
	for {
		it, err := d.buf.Next(d.ctx)
		if err != nil {
			return
		}
		for {
			accepted, err := d.o.Deliver(d.ctx, it)
			now := clk.Now()
			if err == nil {
				if !failingSince.IsZero() {
					log.Info(d.o.Name+": delivering again", "after", now.Sub(failingSince).Round(time.Second))
					failingSince = time.Time{}
				}
				// Counted before the ack wakes the waiter, so whoever sees
				// the batch safe also sees it counted.
				d.o.Count("acked", accepted)
				d.o.Succeeded(now)
				d.buf.Ack(it)
				break
			}
			if d.ctx.Err() != nil {
				d.buf.Abandon(it)
				return
			}
			if IsPermanent(err) {
				d.o.Count("failed", it.Records)
				if lastRefused.IsZero() || now.Sub(lastRefused) >= time.Minute {
					lastRefused = now
					log.Error(fmt.Sprintf("%s: the peer refused a %s for good; its records are dropped (counted as failed; logged at most once a minute)", d.o.Name, d.o.Unit),
						"records", it.Records, "err", err)
				}
				d.buf.Fail(it, err)
				break
			}
			d.o.Count("retried", it.Records)
			if failingSince.IsZero() || now.Sub(lastWarned) >= time.Minute {
				if failingSince.IsZero() {
					failingSince = now
				}
				lastWarned = now
				log.Warn(fmt.Sprintf("%s: %s not delivered, retrying", d.o.Name, d.o.Unit), "records", it.Records,
					"failing_for", now.Sub(failingSince).Round(time.Second), "err", err)
			}
		}
	}
}

// Close flushes within ctx's deadline and timeout, whichever comes first.
// With the spool, what is left stays on disk for the next start; with the
// memory buffer, it returns an error wrapping ErrUndelivered that says how
// many records were not delivered (they are counted as failed).
func (d *Delivery) Close(ctx context.Context, timeout time.Duration) error {
	if !d.closed.CompareAndSwap(false, true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ch := d.buf.Changes()
		if r, _ := d.buf.Depth(); r == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
		}
		break
	}
	d.stop()
	<-d.done
	kept, lost, err := d.buf.Close(fmt.Errorf("%s: %w", d.o.Name, buffer.ErrClosed))
	if err != nil {
		return fmt.Errorf("%s: closing the spool: %w", d.o.Name, err)
	}
	if kept > 0 {
		d.o.Deps.Logger.Info(d.o.Name+": records kept in the spool for the next start", "records", kept)
	}
	if lost > 0 {
		d.o.Count("failed", int(lost))
		return fmt.Errorf("%s: %d %w before the shutdown deadline", d.o.Name, lost, ErrUndelivered)
	}
	return nil
}
