package e2e

import (
	"testing"

	"github.com/obsadapter/obsadapter/internal/forwardsink"
)

// startForwardSink starts a forward receiver that only counts and acks
// (internal/forwardsink): the benchmarks compare exporters against it and
// against otlpe2e's OTLP sink, which is as light.
func startForwardSink(tb testing.TB) *forwardsink.Sink {
	tb.Helper()
	s, err := forwardsink.Listen("127.0.0.1:0", func(err error) { tb.Errorf("forward sink: %v", err) })
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
