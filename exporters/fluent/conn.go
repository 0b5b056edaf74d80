package fluent

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
)

// target is one aggregator address with its health: after a failure it is
// skipped until downUntil, which grows exponentially (with jitter) with
// consecutive failures.
type target struct {
	addr      string
	failures  int
	downUntil time.Time
}

// sender owns the connection. Only the exporter's sender goroutine uses it.
type sender struct {
	cfg      Config
	tls      *tls.Config
	hostname string
	salt     []byte
	targets  []*target
	clock    clock.Clock
	jitter   func() float64
	metrics  *metrics

	conn net.Conn
	cur  int // index of the connected target
	rbuf []byte
}

func newSender(cfg Config, m *metrics, clk clock.Clock) (*sender, error) {
	s := &sender{cfg: cfg, metrics: m, clock: clk, jitter: rand.Float64}
	for _, a := range append([]string{cfg.Address}, cfg.Failover...) {
		s.targets = append(s.targets, &target{addr: a})
		m.up.WithLabelValues(a).Set(1)
	}
	if cfg.TLS.Enabled {
		tc, err := exporters.ClientTLS{CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			ServerName: cfg.TLS.ServerName, InsecureSkipVerify: cfg.TLS.InsecureSkipVerify}.Config()
		if err != nil {
			return nil, err
		}
		s.tls = tc
	}
	if cfg.SharedKey != "" {
		s.hostname = cfg.SelfHostname
		if s.hostname == "" {
			s.hostname, _ = os.Hostname()
		}
		// A hex salt, as Fluentd makes it: plain ASCII suits every receiver.
		b := make([]byte, 16)
		crand.Read(b)
		s.salt = []byte(hex.EncodeToString(b))
	}
	return s, nil
}

// fail records a failure of the target at stage and closes the connection
// if it is to that target.
func (s *sender) fail(t *target, stage string, err error) error {
	t.failures++
	t.downUntil = s.clock.Now().Add(exporters.Backoff(t.failures, s.cfg.Retry.Initial, s.cfg.Retry.Max, s.jitter()))
	s.metrics.connErrors.WithLabelValues(t.addr, stage).Inc()
	s.metrics.up.WithLabelValues(t.addr).Set(0)
	if s.conn != nil && s.targets[s.cur] == t {
		s.close()
	}
	return fmt.Errorf("%s %s: %w", t.addr, stage, err)
}

func (s *sender) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// connect makes sure a connection is open to the first healthy target in
// order; a failover connection is given up for a higher-priority target as
// soon as that one may be retried. When every target is down it waits for
// the earliest to become due.
func (s *sender) connect(ctx context.Context) error {
	var errs []error
	for {
		now := s.clock.Now()
		limit := len(s.targets)
		if s.conn != nil {
			limit = s.cur
		}
		var earliest time.Time
		for i := 0; i < limit; i++ {
			t := s.targets[i]
			if t.downUntil.After(now) {
				if earliest.IsZero() || t.downUntil.Before(earliest) {
					earliest = t.downUntil
				}
				continue
			}
			c, stage, err := s.dial(ctx, t)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				errs = append(errs, s.fail(t, stage, err))
				if t.downUntil.Before(earliest) || earliest.IsZero() {
					earliest = t.downUntil
				}
				continue
			}
			s.close()
			s.conn, s.cur = c, i
			// The failure count is not reset here: a receiver that accepts
			// connections but answers wrongly would otherwise be retried at
			// retry.initial forever. Only an acknowledged chunk resets it.
			s.metrics.up.WithLabelValues(t.addr).Set(1)
			return nil
		}
		if s.conn != nil {
			return nil
		}
		if len(errs) > 0 && ctx.Err() == nil {
			// Report the round's errors to the caller once, then wait.
			return errors.Join(errs...)
		}
		if !clock.Sleep(ctx, s.clock, earliest.Sub(now)) {
			return ctx.Err()
		}
	}
}

func (s *sender) dial(ctx context.Context, t *target) (net.Conn, string, error) {
	d := net.Dialer{Timeout: s.cfg.SendTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, "dial", err
	}
	if s.tls != nil {
		tc := s.tls
		if tc.ServerName == "" {
			tc = tc.Clone()
			tc.ServerName, _, _ = net.SplitHostPort(t.addr)
		}
		tconn := tls.Client(c, tc)
		hctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
		err := tconn.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, "tls", err
		}
		c = tconn
	}
	s.rbuf = s.rbuf[:0]
	if s.cfg.SharedKey != "" {
		if err := s.handshake(ctx, c); err != nil {
			c.Close()
			return nil, "handshake", err
		}
	}
	return c, "", nil
}

// handshake answers HELO with PING and checks the server's PONG digest, so
// a server that does not know the key is not trusted with records either.
func (s *sender) handshake(ctx context.Context, c net.Conn) error {
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(wallDeadline(s.cfg.SendTimeout))
	defer c.SetDeadline(time.Time{})
	b, err := s.read(c)
	if err != nil {
		return fmt.Errorf("reading HELO: %w", err)
	}
	helo, _, err := wire.ReadHelo(b)
	if err != nil {
		return err
	}
	key := []byte(s.cfg.SharedKey)
	ping := wire.Ping{Hostname: []byte(s.hostname), Salt: s.salt,
		Digest: []byte(wire.Digest(s.salt, []byte(s.hostname), helo.Nonce, key)), Username: []byte(s.cfg.Username)}
	if len(helo.Auth) > 0 {
		ping.PasswordDigest = []byte(wire.Digest(helo.Auth, []byte(s.cfg.Username), []byte(s.cfg.Password)))
	}
	if _, err := c.Write(wire.AppendPing(nil, ping)); err != nil {
		return fmt.Errorf("writing PING: %w", err)
	}
	if b, err = s.read(c); err != nil {
		return fmt.Errorf("reading PONG: %w", err)
	}
	pong, _, err := wire.ReadPong(b)
	if err != nil {
		return err
	}
	if !pong.OK {
		return fmt.Errorf("refused: %s", pong.Reason)
	}
	if pong.Digest != wire.Digest(s.salt, []byte(pong.Hostname), helo.Nonce, key) {
		return errors.New("server digest does not match: the server does not know the shared key")
	}
	return nil
}

// read returns the next msgpack message from c.
func (s *sender) read(c net.Conn) ([]byte, error) {
	for {
		if n, err := wire.Split(s.rbuf); err != nil {
			return nil, err
		} else if n > 0 {
			m := s.rbuf[:n]
			s.rbuf = append(s.rbuf[:0:0], s.rbuf[n:]...)
			return m, nil
		}
		if cap(s.rbuf)-len(s.rbuf) < 512 {
			s.rbuf = append(s.rbuf, make([]byte, 4096)...)[:len(s.rbuf)]
		}
		n, err := c.Read(s.rbuf[len(s.rbuf):cap(s.rbuf)])
		s.rbuf = s.rbuf[:len(s.rbuf)+n]
		if err != nil && n == 0 {
			return nil, err
		}
	}
}

// send writes one chunk and waits for its ack on the same connection.
func (s *sender) send(ctx context.Context, c *chunk) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	t, conn := s.targets[s.cur], s.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn.SetWriteDeadline(wallDeadline(s.cfg.SendTimeout))
	if _, err := conn.Write(c.Data); err != nil {
		return s.fail(t, "send", err)
	}
	s.metrics.records.WithLabelValues("sent").Add(float64(c.Records))
	conn.SetReadDeadline(wallDeadline(s.cfg.AckTimeout))
	b, err := s.read(conn)
	if err != nil {
		return s.fail(t, "ack", err)
	}
	id, _, err := wire.ReadAck(b)
	if err != nil {
		return s.fail(t, "ack", err)
	}
	if string(id) != c.ID {
		return s.fail(t, "ack", fmt.Errorf("ack %q does not match chunk %q", id, c.ID))
	}
	t.failures = 0
	return nil
}

// wallDeadline is a socket deadline d from now. Sockets time out by the
// kernel's wall clock, so it is read from the real clock, never a test's.
func wallDeadline(d time.Duration) time.Time { return clock.Real.Now().Add(d) }
