package otlpe2e

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// collectorReceiver is the OpenTelemetry Collector's own OTLP receiver
// (otlpreceiver, gRPC and HTTP on loopback ports chosen once, so a restart
// listens where the adapter keeps sending) in front of a sink that keeps a
// copy of every plog.Logs the receiver accepted, or hands it to a function
// instead (a benchmark's million records are not kept). A failure function, when
// set, decides the answer to each request instead: the receiver turns its
// gRPC status into the gRPC or HTTP response (InvalidArgument → 400,
// ResourceExhausted with RetryInfo → 429 with Retry-After, Unavailable →
// 503), exactly as in a collector whose pipeline refuses data.
type collectorReceiver struct {
	t        testing.TB
	GRPCAddr string // host:port of OTLP/gRPC
	HTTPAddr string // host:port of OTLP/HTTP (/v1/logs)

	mu       sync.Mutex
	accepted []plog.Logs
	records  int
	requests int // every request the consumer saw, accepted or not
	fail     func(plog.Logs) error
	onAccept func(plog.Logs)      // when set, called instead of keeping a copy
	base     *otlpreceiver.Config // the receiver's settings; nil: the defaults
	changed  chan struct{}        // closed and replaced whenever accepted grows

	running receiver.Logs
}

// startReceiver starts the collector's OTLP receiver; t's cleanup stops it.
func startReceiver(t testing.TB) *collectorReceiver { return startReceiverWith(t, nil) }

// startReceiverWith starts a receiver that calls onAccept with every
// request it accepts, one at a time, and keeps none (nil: keeps them all).
func startReceiverWith(t testing.TB, onAccept func(plog.Logs)) *collectorReceiver {
	t.Helper()
	return startReceiverFrom(t, nil, onAccept)
}

// startReceiverFrom starts a receiver with the settings of base (nil: the
// defaults) but its endpoints, which are loopback ports of its own.
func startReceiverFrom(t testing.TB, base *otlpreceiver.Config, onAccept func(plog.Logs)) *collectorReceiver {
	t.Helper()
	r := &collectorReceiver{t: t, GRPCAddr: freeAddr(t), HTTPAddr: freeAddr(t), changed: make(chan struct{}), onAccept: onAccept, base: base}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the receiver on its addresses.
func (r *collectorReceiver) Start() error {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	if r.base != nil {
		c := *r.base
		cfg = &c
	}
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = r.GRPCAddr
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = r.HTTPAddr
	sink, err := consumer.NewLogs(r.consume)
	if err != nil {
		return err
	}
	rcv, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		return err
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		rcv.Shutdown(context.Background())
		return err
	}
	r.mu.Lock()
	r.running = rcv
	r.mu.Unlock()
	return nil
}

// Stop shuts the receiver down (both ports closed); it may be started again.
func (r *collectorReceiver) Stop() {
	r.mu.Lock()
	rcv := r.running
	r.running = nil
	r.mu.Unlock()
	if rcv != nil {
		if err := rcv.Shutdown(context.Background()); err != nil {
			r.t.Errorf("stopping the OTLP receiver: %v", err)
		}
	}
}

// FailWith makes the receiver answer every request with fail's error (nil
// from fail accepts the request); FailWith(nil) accepts everything again.
func (r *collectorReceiver) FailWith(fail func(plog.Logs) error) {
	r.mu.Lock()
	r.fail = fail
	r.mu.Unlock()
}

func (r *collectorReceiver) consume(_ context.Context, ld plog.Logs) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.fail != nil {
		if err := r.fail(ld); err != nil {
			return err
		}
	}
	if r.onAccept != nil {
		r.onAccept(ld)
	} else {
		keep := plog.NewLogs()
		ld.CopyTo(keep)
		r.accepted = append(r.accepted, keep)
	}
	r.records += ld.LogRecordCount()
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// Accepted returns every request the receiver accepted, in order.
func (r *collectorReceiver) Accepted() []plog.Logs {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]plog.Logs(nil), r.accepted...)
}

// Requests is how many requests reached the receiver's pipeline, refused
// ones included.
func (r *collectorReceiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// Records is how many log records the receiver accepted.
func (r *collectorReceiver) Records() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.records
}

// WaitRecords waits until at least n records were accepted.
func (r *collectorReceiver) WaitRecords(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, changed := r.records, r.changed
		r.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
