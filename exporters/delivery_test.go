package exporters

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/buffer"
)

// counts is a Count sink the sender goroutine and the test share.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(result string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[result] += n
}

func (c *counts) get(result string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[result]
}

// TestDelivery: what Deliver answers decides what the batch's wait returns
// and how its records are counted.
func TestDelivery(t *testing.T) {
	refused := errors.New("refused")
	cases := []struct {
		name      string
		answers   []error // Deliver's answers in turn; nil accepts
		accepted  int
		permanent bool
		want      map[string]int
	}{
		{"accepted", []error{nil}, 3, false, map[string]int{"acked": 3}},
		{"part accepted", []error{nil}, 2, false, map[string]int{"acked": 2}},
		{"retried, then accepted", []error{errors.New("down"), errors.New("down"), nil}, 3, false, map[string]int{"retried": 6, "acked": 3}},
		{"refused for good", []error{Permanent(refused)}, 0, true, map[string]int{"failed": 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := &counts{m: map[string]int{}}
			var mu sync.Mutex
			answers := c.answers
			succeeded := 0
			d := NewDelivery(DeliveryOptions{Name: "test", Unit: "item",
				Buffer: buffer.NewMemory(buffer.Options{MaxRecords: 100, MaxBytes: 1 << 20}),
				Deliver: func(ctx context.Context, it *buffer.Item) (int, error) {
					mu.Lock()
					defer mu.Unlock()
					err := answers[0]
					answers = answers[1:]
					if err != nil {
						return 0, err
					}
					return c.accepted, nil
				},
				Count:     cs.add,
				Succeeded: func(time.Time) { mu.Lock(); succeeded++; mu.Unlock() },
			})
			defer d.Close(context.Background(), time.Second)
			wait, err := d.Begin(context.Background(), []*buffer.Item{{Data: []byte("x"), Records: 3}}, 3)
			if err != nil {
				t.Fatal(err)
			}
			err = wait(context.Background())
			if c.permanent != IsPermanent(err) || !c.permanent && err != nil || c.permanent && !errors.Is(err, refused) {
				t.Fatalf("wait: %v, want permanent %v", err, c.permanent)
			}
			for _, r := range []string{"acked", "retried", "failed", "spooled"} {
				if got := cs.get(r); got != c.want[r] {
					t.Errorf("%s: %d, want %d", r, got, c.want[r])
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if want := map[bool]int{false: 1, true: 0}[c.permanent]; succeeded != want {
				t.Errorf("Succeeded called %d times, want %d", succeeded, want)
			}
		})
	}
}

// TestDeliveryClose: Close gives up at its timeout, counts what the memory
// buffer still held as failed and says so with ErrUndelivered; Begin after
// Close is refused.
func TestDeliveryClose(t *testing.T) {
	cs := &counts{m: map[string]int{}}
	stopped := make(chan struct{})
	d := NewDelivery(DeliveryOptions{Name: "test", Unit: "item",
		Buffer: buffer.NewMemory(buffer.Options{MaxRecords: 100, MaxBytes: 1 << 20}),
		Deliver: func(ctx context.Context, it *buffer.Item) (int, error) {
			<-ctx.Done() // a peer that never answers
			return 0, ctx.Err()
		},
		Count: cs.add, Succeeded: func(time.Time) {}, Stopped: func() { close(stopped) },
	})
	if _, err := d.Begin(context.Background(), []*buffer.Item{{Data: []byte("x"), Records: 4}}, 4); err != nil {
		t.Fatal(err)
	}
	err := d.Close(context.Background(), 10*time.Millisecond)
	if !errors.Is(err, ErrUndelivered) || cs.get("failed") != 4 {
		t.Fatalf("Close: %v, failed %d; want ErrUndelivered and 4", err, cs.get("failed"))
	}
	select {
	case <-stopped:
	default:
		t.Error("Stopped was not called")
	}
	if _, err := d.Begin(context.Background(), []*buffer.Item{{Data: []byte("y"), Records: 1}}, 1); !errors.Is(err, buffer.ErrClosed) {
		t.Errorf("Begin after Close: %v", err)
	}
}
