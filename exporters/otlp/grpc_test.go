package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// TestGzipCompressor: a request the encoder compressed goes through as it
// is; anything else (grpc-go's answers in the same process, an empty
// message) is compressed; both read back.
func TestGzipCompressor(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	plain := []byte("\x0a\x05hello") // a protobuf message: field 1, 5 bytes
	cases := []struct {
		name     string
		in       []byte
		want     []byte // what Decompress must give back
		passThru bool
	}{
		{"compressed by the encoder", gz(plain), plain, true},
		{"a protobuf message", plain, plain, false},
		{"an empty message", nil, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			w, err := gzipCompressor{}.Compress(&out)
			if err != nil {
				t.Fatal(err)
			}
			// In two writes, as grpc-go writes a message of several buffers.
			half := len(c.in) / 2
			if _, err := w.Write(c.in[:half]); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(c.in[half:]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if c.passThru != bytes.Equal(out.Bytes(), c.in) {
				t.Errorf("passed through: %v, want %v", !c.passThru, c.passThru)
			}
			r, err := gzipCompressor{}.Decompress(&out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("read back %q, want %q", got, c.want)
			}
		})
	}
}

// TestGRPCReleasesTheRequest: grpc-go writes a request from its own
// goroutine; send may hand the buffer back to the pool only once grpc-go
// has let go of it, which requestBuffer learns from grpc-go's Put.
func TestGRPCReleasesTheRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	plogotlp.RegisterGRPCServer(gs, &grpcLogs{})
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	c, err := newGRPCClient(testConfig("http://"+ln.Addr().String(), ProtocolGRPC), nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)

	for _, size := range []int{100, 256 << 10} {
		// A request of one unknown field of size bytes, which receivers skip.
		data := binary.AppendUvarint([]byte{15<<3 | 2}, uint64(size))
		data = append(data, make([]byte, size)...)
		if mem.IsBelowBufferPoolingThreshold(cap(data)) != (size == 100) {
			t.Fatalf("a request of %d bytes is on the wrong side of grpc-go's pooling threshold", len(data))
		}
		req := newRequestBuffer(data)
		var resp []byte
		if err := c.conn.Invoke(context.Background(), grpcPath, req, &resp); err != nil {
			t.Fatal(err)
		}
		if mem.IsBelowBufferPoolingThreshold(cap(data)) {
			continue // Marshal copied it
		}
		select {
		case <-req.done:
		case <-time.After(10 * time.Second): // a hang guard, not a timing
			t.Fatalf("grpc-go never released a request of %d bytes", len(data))
		}
	}
}
