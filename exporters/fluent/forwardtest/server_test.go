package forwardtest

import (
	"net"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/internal/wire"
)

// TestHeartbeatConnections: Fluentd's transport heartbeats connect and close
// without a byte, or (with <security>) after the handshake only. Neither is
// an error.
func TestHeartbeatConnections(t *testing.T) {
	for _, key := range []string{"", "k"} {
		t.Run("key="+key, func(t *testing.T) {
			s := Start(t, Options{SharedKey: key})
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if key != "" {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 256)
				n, err := c.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				helo, _, err := wire.ReadHelo(buf[:n])
				if err != nil {
					t.Fatal(err)
				}
				salt := []byte("0123456789abcdef0123456789abcdef")
				ping := wire.Ping{Hostname: []byte("hb"), Salt: salt,
					Digest: []byte(wire.Digest(salt, []byte("hb"), helo.Nonce, []byte(key)))}
				if _, err := c.Write(wire.AppendPing(nil, ping)); err != nil {
					t.Fatal(err)
				}
				n, err = c.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				if pong, _, err := wire.ReadPong(buf[:n]); err != nil || !pong.OK {
					t.Fatalf("PONG %+v %v", pong, err)
				}
			}
			// Stop closes the listener: wait until the connection was accepted,
			// or a quick close races the accept loop.
			deadline := time.After(5 * time.Second)
			for {
				ch := s.Changed()
				if s.Stats().Connections == 1 {
					break
				}
				select {
				case <-ch:
				case <-deadline:
					t.Fatal("the connection was never accepted")
				}
			}
			c.Close()
			s.Stop() // waits for the connection's goroutine
			if st := s.Stats(); len(st.Errors) != 0 || st.Connections != 1 || st.AuthFailures != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
