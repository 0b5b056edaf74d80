package e2e

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// forwardSink is a forward-protocol receiver that does next to nothing:
// it reads each message, counts its entries by the "size" option (as
// Fluentd counts them) and answers the chunk. The benchmarks compare
// exporters against it and against otlpe2e's OTLP sink, which is as light:
// a receiver decoding every record in the benchmark's process competes
// with the adapter for the two cores and inflates the adapter's CPU time
// by as much as half, by how much depending on the receiver, not on the
// exporter.
type forwardSink struct {
	ln      net.Listener
	entries atomic.Int64
	wg      sync.WaitGroup
}

func startForwardSink(tb testing.TB) *forwardSink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &forwardSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := s.serve(c); err != nil {
					tb.Errorf("forward sink: %v", err)
				}
			}()
		}
	}()
	tb.Cleanup(func() { ln.Close() })
	return s
}

func (s *forwardSink) Addr() string { return s.ln.Addr().String() }

// serve reads [tag, entries, option] messages until the sender closes.
func (s *forwardSink) serve(c net.Conn) error {
	defer c.Close()
	r := msgp.NewReaderSize(c, 256<<10)
	w := msgp.NewWriter(c)
	var packed []byte
	for {
		n, err := r.ReadArrayHeader()
		if err != nil {
			return nil // closed
		}
		if err := r.Skip(); err != nil { // the tag
			return err
		}
		if packed, err = r.ReadBytes(packed[:0]); err != nil {
			return err // the exporter sends PackedForward as bin
		}
		chunk, entries := "", int64(0)
		if n > 2 {
			m, err := r.ReadMapHeader()
			if err != nil {
				return err
			}
			for range m {
				k, err := r.ReadString()
				if err != nil {
					return err
				}
				switch k {
				case "chunk":
					chunk, err = r.ReadString()
				case "size": // the number of entries, as Fluentd counts them
					entries, err = r.ReadInt64()
				default:
					err = r.Skip()
				}
				if err != nil {
					return err
				}
			}
		}
		s.entries.Add(entries)
		if chunk != "" {
			w.WriteMapHeader(1)
			w.WriteString("ack")
			w.WriteString(chunk)
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}

// WaitEntries waits until n entries arrived, or the timeout.
func (s *forwardSink) WaitEntries(n int64, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if s.entries.Load() >= n {
			return true
		}
	}
	return s.entries.Load() >= n
}
