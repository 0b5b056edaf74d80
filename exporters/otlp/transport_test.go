package otlp

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// writesConn records the Writes made to it.
type writesConn struct {
	net.Conn
	writes [][]byte
}

func (c *writesConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// TestBodyConnWritesABodyAtOnce: HTTP/1.1 copies a body of known length
// through io.LimitReader into the connection; bodyConn writes what is left
// of a trackedBody with one write per buffer (one writev on a socket), not
// in 32 KiB pieces, and anything else as io.Copy would.
func TestBodyConnWritesABodyAtOnce(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // 160 KB
	prefix := []byte{0, 0, 2, 0x71, 0}
	bs := &bodies{}
	b := bs.add(net.Buffers{prefix, data})
	head := make([]byte, 3000) // what bufio.Writer.ReadFrom reads into its buffer first
	if n, err := io.ReadFull(b, head); n != len(head) || err != nil {
		t.Fatal(n, err)
	}
	fc := &writesConn{}
	lr := &io.LimitedReader{R: b, N: int64(len(prefix) + len(data) - len(head))}
	n, err := bodyConn{fc}.ReadFrom(lr)
	if err != nil || n != int64(len(prefix)+len(data)-len(head)) || lr.N != 0 {
		t.Fatalf("ReadFrom = %d, %v; %d left", n, err, lr.N)
	}
	if len(fc.writes) != 1 {
		t.Errorf("%d writes, want 1 (the part of data not read yet)", len(fc.writes))
	}
	if got := append(head, bytes.Join(fc.writes, nil)...); !bytes.Equal(got, append(bytes.Clone(prefix), data...)) {
		t.Error("the bytes written are not the body")
	}
	if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after the body: Read = %d, %v; want EOF", n, err)
	}

	// Another reader, or a limit short of the body, is copied as it is.
	for _, r := range []io.Reader{
		&io.LimitedReader{R: strings.NewReader("plain body"), N: 5},
		&io.LimitedReader{R: bs.add(net.Buffers{[]byte("plain body")}), N: 5},
		strings.NewReader("plain"),
	} {
		fc := &writesConn{}
		if n, err := (bodyConn{fc}).ReadFrom(r); n != 5 || err != nil || string(bytes.Join(fc.writes, nil)) != "plain" {
			t.Errorf("ReadFrom(%T) = %d, %v, wrote %q", r, n, err, bytes.Join(fc.writes, nil))
		}
	}
}
