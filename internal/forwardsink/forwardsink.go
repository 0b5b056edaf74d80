// Package forwardsink is a forward-protocol receiver that does next to
// nothing: it reads each message, counts its entries by the "size" option
// (as Fluentd counts them) and answers the chunk. Benchmarks measure the
// adapter against it (e2e's forward-sink job, bench/processors.sh): a
// receiver decoding every record competes with the adapter for the cores
// and inflates the adapter's CPU time by as much as half, by how much
// depending on the receiver, not on the exporter.
package forwardsink

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/tinylib/msgp/msgp"
)

// A Sink counts the entries it receives and acknowledges every chunk.
type Sink struct {
	ln      net.Listener
	entries atomic.Int64
	wg      sync.WaitGroup
}

// Listen starts a sink on addr (such as "127.0.0.1:0"); a connection's
// error goes to onErr. Close stops it.
func Listen(addr string, onErr func(error)) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln}
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
					onErr(err)
				}
			}()
		}
	}()
	return s, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Entries is how many entries arrived.
func (s *Sink) Entries() int64 { return s.entries.Load() }

// Close stops accepting; connections end when their senders close them.
func (s *Sink) Close() error { return s.ln.Close() }

// WaitEntries waits until n entries arrived, or the timeout.
func (s *Sink) WaitEntries(n int64, timeout time.Duration) bool {
	deadline := clock.Real.NewTimer(timeout)
	defer deadline.Stop()
	poll := clock.Real.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for s.entries.Load() < n {
		select {
		case <-poll.C():
		case <-deadline.C():
			return s.entries.Load() >= n
		}
	}
	return true
}

// serve reads [tag, entries, option] messages until the sender closes.
func (s *Sink) serve(c net.Conn) error {
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
		if chunk != "" {
			w.WriteMapHeader(1)
			w.WriteString("ack")
			w.WriteString(chunk)
			if err := w.Flush(); err != nil {
				return err
			}
		}
		// Counted once acknowledged: a count the benchmark waits for
		// means every ack of it is sent.
		s.entries.Add(entries)
	}
}
