package forwardsink

import (
	"net"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// TestSink: a message's entries are counted by its size option once its
// chunk is acknowledged; a message without options is counted as none.
func TestSink(t *testing.T) {
	s, err := Listen("127.0.0.1:0", func(err error) { t.Errorf("sink: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, r := msgp.NewWriter(c), msgp.NewReader(c)
	send := func(chunk string, size int64) {
		w.WriteArrayHeader(3)
		w.WriteString("app")
		w.WriteBytes([]byte{0x92, 0x01, 0x80}) // entries, not decoded
		w.WriteMapHeader(2)
		w.WriteString("chunk")
		w.WriteString(chunk)
		w.WriteString("size")
		w.WriteInt64(size)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := r.ReadMapHeader(); err != nil || n != 1 {
			t.Fatalf("ack header: %d, %v", n, err)
		}
		if k, _ := r.ReadString(); k != "ack" {
			t.Fatalf("ack key %q", k)
		}
		if v, _ := r.ReadString(); v != chunk {
			t.Fatalf("ack %q, want %q", v, chunk)
		}
	}
	send("c1", 3)
	send("c2", 4)
	w.WriteArrayHeader(2) // no options: no ack, no count
	w.WriteString("app")
	w.WriteBytes(nil)
	w.Flush()
	if !s.WaitEntries(7, 10*time.Second) || s.Entries() != 7 {
		t.Fatalf("%d entries, want 7", s.Entries())
	}
}
