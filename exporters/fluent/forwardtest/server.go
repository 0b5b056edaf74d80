// Package forwardtest is a Fluentd forward-protocol v1 receiver for tests. It
// answers as Fluentd 1.17 in_forward does (checked against real captures in
// the project's shared fixtures): it accepts Message, Forward, PackedForward
// and CompressedPackedForward (bin or str entries, multi-member gzip), every
// msgpack width, integer and EventTime times and Fluent Bit's [time, meta]
// pairs; it acks a "chunk" option with {"ack": chunk} as str, byte for byte;
// with a shared key it greets with HELO and answers PING with PONG. Tests
// steer it: delay or withhold acks, refuse connections, drop a connection
// in the middle of a message, stop and restart on the same port.
package forwardtest

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
	"github.com/obsadapter/obsadapter/record"
)

// Options configure a Server.
type Options struct {
	// Addr to listen on; "" picks a free loopback port.
	Addr string
	// SharedKey turns on Fluentd's <security> handshake.
	SharedKey string
	// SelfHostname is the server's name in PONG (default "fluentd-receiver").
	SelfHostname string
	// Users enables user auth: username to password.
	Users map[string]string
	// Nonce and Auth make the HELO salts; nil means 16 random bytes each.
	// Tests that reproduce captured answers set them.
	Nonce, Auth func() []byte
	// TLS, when set, serves TLS.
	TLS *tls.Config
	// CountOnly keeps counts but not the messages (for benchmarks).
	CountOnly bool
}

// Server is a running receiver. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	tb   testing.TB

	mu       sync.Mutex
	addr     string
	ln       net.Listener
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
	msgs     []Message
	entries  int
	acks     int
	accepted int
	authFail int
	errs     []error
	refuse   bool
	withhold bool
	delay    time.Duration
	dropNext int
	changed  chan struct{} // closed and replaced whenever counts change
}

// Start listens and serves until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("forwardtest: %v", err)
	}
	s.tb = tb
	tb.Cleanup(s.Close)
	return s
}

// New starts a server outside a test (benchmark drivers, tools); Close it.
func New(opts Options) (*Server, error) {
	if opts.SelfHostname == "" {
		opts.SelfHostname = "fluentd-receiver"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s := &Server{opts: opts, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	if err := s.listen(opts.Addr); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	s.mu.Lock()
	s.ln, s.addr = ln, ln.Addr().String()
	s.mu.Unlock()
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

// Addr is host:port; it stays the same across Restart.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Stop closes the listener and resets every connection, like a killed
// Fluentd: senders see refused connections until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	for c := range s.conns {
		reset(c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.wg.Wait()
}

// Restart stops the server if it runs and listens again on the same port.
func (s *Server) Restart() error {
	s.Stop()
	return s.listen(s.Addr())
}

// Close stops the server for good.
func (s *Server) Close() { s.Stop() }

// Refuse makes the server accept and at once reset new connections.
func (s *Server) Refuse(on bool) { s.set(func() { s.refuse = on }) }

// WithholdAcks keeps records but sends no acks while on.
func (s *Server) WithholdAcks(on bool) { s.set(func() { s.withhold = on }) }

// SetDelay delays every ack by d.
func (s *Server) SetDelay(d time.Duration) { s.set(func() { s.delay = d }) }

// DropNext makes the next n data messages reset their connection as soon as
// their first bytes arrive, before they are complete: nothing is kept or
// acked, as when a receiver dies mid-chunk.
func (s *Server) DropNext(n int) { s.set(func() { s.dropNext = n }) }

func (s *Server) set(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
}

// Messages returns the messages received so far (not with CountOnly).
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Entries returns every entry received so far, in arrival order.
func (s *Server) Entries() []Entry {
	var out []Entry
	for _, m := range s.Messages() {
		out = append(out, m.Entries...)
	}
	return out
}

// Records decodes every entry as a unified record; an entry that is not one
// fails the test.
func (s *Server) Records() []record.Record {
	var out []record.Record
	for i, e := range s.Entries() {
		r, err := e.Record()
		if err != nil {
			if s.tb != nil {
				s.tb.Errorf("forwardtest: entry %d: %v", i, err)
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// Stats are the server's counters.
type Stats struct {
	Entries, Messages, Acks, Connections, AuthFailures int
	Errors                                             []error
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Entries: s.entries, Messages: len(s.msgs), Acks: s.acks, Connections: s.accepted,
		AuthFailures: s.authFail, Errors: append([]error(nil), s.errs...)}
}

// Changed returns a channel closed at the next change of the counters, so
// tests wait for progress without sleeping.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WaitEntries waits until at least n entries arrived or timeout passes, and
// reports whether they did.
func (s *Server) WaitEntries(n int, timeout time.Duration) bool {
	deadline := clock.Real.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ch := s.Changed()
		if s.Stats().Entries >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C():
			return s.Stats().Entries >= n
		}
	}
}

// notify must be called with mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ln != ln {
			s.mu.Unlock()
			reset(c)
			return
		}
		s.accepted++
		refuse := s.refuse
		if !refuse {
			s.conns[c] = struct{}{}
			s.wg.Add(1)
		}
		s.notify()
		s.mu.Unlock()
		if refuse {
			reset(c)
			continue
		}
		go s.serve(c)
	}
}

// reset closes like Fluentd's in_forward, whose SO_LINGER 0 sends RST.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	} else if tc, ok := c.(*tls.Conn); ok {
		if nc, ok := tc.NetConn().(*net.TCPConn); ok {
			nc.SetLinger(0)
		}
	}
	c.Close()
}

func (s *Server) fail(err error) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.notify()
	s.mu.Unlock()
}

// conn reads a byte stream and splits it into msgpack messages, however the
// sender's writes were cut (Fluentd writes a message in several pieces).
type conn struct {
	c   net.Conn
	buf []byte
	off int
}

// next returns the next complete message; arriving is called after each read
// that added bytes, so a test can drop the connection mid-message.
func (c *conn) next(arriving func() bool) ([]byte, error) {
	for {
		if n, err := Split(c.buf[c.off:]); err != nil {
			return nil, err
		} else if n > 0 {
			m := c.buf[c.off : c.off+n]
			c.off += n
			return m, nil
		}
		if c.off > 0 {
			c.buf = append(c.buf[:0], c.buf[c.off:]...)
			c.off = 0
		}
		if cap(c.buf)-len(c.buf) < 32<<10 {
			c.buf = append(c.buf, make([]byte, 64<<10)...)[:len(c.buf)]
		}
		n, err := c.c.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if n > 0 && arriving != nil && !arriving() {
			return nil, errDropped
		}
		if err != nil {
			if err == io.EOF && len(c.buf) > c.off {
				return nil, fmt.Errorf("connection closed inside a message (%d bytes pending)", len(c.buf)-c.off)
			}
			return nil, err
		}
	}
}

var errDropped = errors.New("dropped on request")

func (s *Server) serve(nc net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		reset(nc)
	}()
	c := &conn{c: nc}
	if s.opts.SharedKey != "" {
		if err := s.handshake(c); err != nil {
			if !isClosed(err) {
				s.fail(err)
			}
			return
		}
	}
	for {
		b, err := c.next(s.arriving)
		if err != nil {
			// Heartbeat connections close without a byte: not an error.
			if !isClosed(err) && !errors.Is(err, errDropped) {
				s.fail(err)
			}
			return
		}
		if !s.opts.CountOnly {
			b = append([]byte(nil), b...) // entries keep pointing into it
		}
		m, err := DecodeMessage(b)
		if err == nil && m.metadataTime() {
			// Fluentd 1.17 raises NoMethodError on [time, metadata] and
			// resets without an ack; so does this receiver, so a sender
			// that emits Fluent Bit's shape fails here as it would there.
			err = errors.New("entry time is [time, metadata], which Fluentd rejects")
		}
		if err != nil {
			// Fluentd logs and resets the connection on undecodable data.
			s.fail(fmt.Errorf("decoding a message: %w", err))
			return
		}
		if err := s.receive(nc, m); err != nil {
			return
		}
	}
}

// arriving runs when bytes of a data message arrive; false drops the
// connection.
func (s *Server) arriving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropNext > 0 {
		s.dropNext--
		s.notify()
		return false
	}
	return true
}

func (s *Server) receive(nc net.Conn, m Message) error {
	s.mu.Lock()
	s.entries += len(m.Entries)
	if s.opts.CountOnly {
		m.Entries = nil
	}
	s.msgs = append(s.msgs, m)
	withhold, delay := s.withhold, s.delay
	s.notify()
	s.mu.Unlock()
	if m.Chunk == nil || withhold {
		return nil
	}
	if delay > 0 {
		t := clock.Real.NewTimer(delay)
		<-t.C()
	}
	if _, err := nc.Write(wire.AppendAck(nil, m.Chunk)); err != nil {
		return err
	}
	s.mu.Lock()
	s.acks++
	s.notify()
	s.mu.Unlock()
	return nil
}

func isClosed(err error) bool {
	// Any socket error (reset, closed by Stop) ends the connection; only
	// protocol errors are worth reporting.
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &op)
}

func salt(f func() []byte) []byte {
	if f != nil {
		return f()
	}
	b := make([]byte, 16)
	rand.Read(b)
	return b
}

// handshake does Fluentd's <security> exchange: HELO at once on accept, then
// PING → PONG. A wrong key gets PONG false with Fluentd's reason and a reset.
func (s *Server) handshake(c *conn) error {
	helo := wire.Helo{Nonce: salt(s.opts.Nonce), Auth: salt(s.opts.Auth), Keepalive: true}
	if _, err := c.c.Write(wire.AppendHelo(nil, helo)); err != nil {
		return err
	}
	b, err := c.next(nil)
	if err != nil {
		return err
	}
	ping, _, err := wire.ReadPing(b)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	key := []byte(s.opts.SharedKey)
	var reason string
	switch {
	case string(ping.Digest) != wire.Digest(ping.Salt, ping.Hostname, helo.Nonce, key):
		reason = "shared_key mismatch"
	case s.opts.Users != nil:
		pw, ok := s.opts.Users[string(ping.Username)]
		if !ok || string(ping.PasswordDigest) != wire.Digest(helo.Auth, ping.Username, []byte(pw)) {
			reason = "username/password mismatch"
		}
	}
	if reason != "" {
		s.mu.Lock()
		s.authFail++
		s.notify()
		s.mu.Unlock()
		_, err := c.c.Write(wire.AppendPong(nil, wire.Pong{Reason: reason}))
		return errors.Join(err, io.EOF) // counted above; closing is the answer
	}
	pong := wire.Pong{OK: true, Hostname: s.opts.SelfHostname,
		Digest: wire.Digest(ping.Salt, []byte(s.opts.SelfHostname), helo.Nonce, key)}
	_, err = c.c.Write(wire.AppendPong(nil, pong))
	return err
}
