package collector

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Idle connections cannot pile up: the listener keeps at most
// maxConnections open and closes the next ones at once (counted), a
// scrape still gets through when a slot frees, and the server closes idle
// keep-alive connections and slow clients on timeouts fit for a scrape
// target.
func TestHTTPConnectionLimits(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var rejected atomic.Int64
	srv, ln := scrapeServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), raw, func() { rejected.Add(1) })
	go srv.Serve(ln)
	defer srv.Close()
	if srv.IdleTimeout <= 0 || srv.IdleTimeout > time.Minute || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.ReadHeaderTimeout <= 0 {
		t.Fatalf("timeouts idle %s read %s write %s header %s", srv.IdleTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.ReadHeaderTimeout)
	}

	// Fill every slot with idle connections, then 10 more.
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range maxConnections {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	for i := range 10 {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("connection %d beyond the cap: read %v, want EOF (closed at once)", i, err)
		}
		c.Close()
	}
	if n := rejected.Load(); n != 10 {
		t.Errorf("rejected %d, want 10", n)
	}
	// A slot freed: a scrape gets through.
	idle[0].Close()
	idle = idle[1:]
	client := &http.Client{Timeout: 5 * time.Second}
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err = client.Get("http://" + raw.Addr().String() + "/metrics")
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("scrape after a slot freed: %v", err)
	}
	resp.Body.Close()
}
