package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
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
	// Another "gzip" registered after ours (an import of grpc-go's) would
	// compress the encoder's gzip again, and the receiver would refuse it.
	if _, ours := encoding.GetCompressor(gzipName).(gzipCompressor); !ours {
		t.Fatalf("grpc-go's %q compressor is %T, not gzipCompressor", gzipName, encoding.GetCompressor(gzipName))
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

func TestGRPCHost(t *testing.T) {
	cases := []struct{ endpoint, want string }{
		{"http://collector:4317", "collector:4317"},
		{"http://collector", "collector:80"},
		{"https://collector/ignored/path", "collector:443"},
		{"collector", "collector:443"}, // no scheme: TLS
		{"http://[::1]", "[::1]:80"},
		{"http://[::1]:4317", "[::1]:4317"},
	}
	for _, c := range cases {
		if got := grpcHost(testConfig(c.endpoint, ProtocolGRPC)); got != c.want {
			t.Errorf("%s: %s, want %s", c.endpoint, got, c.want)
		}
	}
}

// rawH2 is an HTTP/2 server that speaks no gRPC: once the first DATA frame
// of a stream arrives it calls act, to break the call as a proxy or a
// dying receiver would.
func rawH2(t *testing.T, act func(fr *http2.Framer, c net.Conn, stream uint32)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
				fr.WriteSettings()
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					switch f := f.(type) {
					case *http2.SettingsFrame:
						if !f.IsAck() {
							fr.WriteSettingsAck()
						}
					case *http2.DataFrame:
						act(fr, c, f.StreamID)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestGRPCBrokenCalls: a call the connection or a proxy breaks is retried,
// and send returns at once. grpc-go never releases a request it was
// writing when the connection died, so waiting for that would hold every
// such send until its timeout.
func TestGRPCBrokenCalls(t *testing.T) {
	cases := []struct {
		name string
		act  func(fr *http2.Framer, c net.Conn, stream uint32)
	}{
		{"connection lost mid-request", func(_ *http2.Framer, c net.Conn, _ uint32) { c.Close() }},
		{"stream reset with INTERNAL", func(fr *http2.Framer, _ net.Conn, stream uint32) {
			fr.WriteRSTStream(stream, http2.ErrCodeInternal)
			time.Sleep(time.Second)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl, err := newGRPCClient(testConfig("http://"+rawH2(t, c.act), ProtocolGRPC), nil, "test")
			if err != nil {
				t.Fatal(err)
			}
			defer cl.close()
			// 1 MiB: more than the 64 KiB window, so grpc-go is mid-request.
			data := binary.AppendUvarint([]byte{15<<3 | 2}, 1<<20)
			data = append(data, make([]byte, 1<<20)...)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err = cl.send(ctx, data)
			var se *sendError
			if !errors.As(err, &se) || !se.retryable {
				t.Fatalf("send: %v, want a retryable error", err)
			}
			if ctx.Err() != nil {
				t.Fatal("send waited out its timeout")
			}
		})
	}
}
