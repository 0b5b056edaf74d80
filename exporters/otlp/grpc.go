package otlp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/obsadapter/obsadapter/exporters"
)

// grpcClient is OTLP/gRPC on grpc-go. net/http's HTTP/2 client writes and
// flushes one 16 KiB DATA frame per system call; grpc-go's writer batches
// frames up to its write buffer, which cost a quarter of the adapter's CPU
// on the sidecar job. The request goes through as the encoder made it (see
// rawCodec), so the spool and the HTTP path share one encoding.
type grpcClient struct {
	conn *grpc.ClientConn
	md   metadata.MD
}

// The gRPC method every OTLP logs receiver serves.
const grpcPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

// grpcWriteBuffer is how much grpc-go gathers before a write. 64 KiB,
// shared (released while idle), and a 16 KiB read buffer (answers and
// window updates are small) peaked about 1.5 MiB lower than 256 KiB and
// grpc-go's 32 KiB read buffer, for the same CPU (7 interleaved runs).
const grpcWriteBuffer = 64 << 10

func newGRPCClient(cfg Config, headers map[string]string, version string) (*grpcClient, error) {
	creds := insecure.NewCredentials()
	if cfg.usesTLS() {
		tc, err := exporters.ClientTLS(cfg.TLS).Config()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(tc)
	}
	// passthrough: the system resolver at each dial, as for OTLP/HTTP.
	// No proxy: gRPC connects directly, as docs/otlp.md says (grpc-go
	// would take HTTPS_PROXY). The answer's size keeps grpc-go's 4 MiB
	// limit: a larger one would fail a request the receiver accepted.
	conn, err := grpc.NewClient("passthrough:///"+grpcHost(cfg),
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("obsadapter/"+version),
		grpc.WithWriteBufferSize(grpcWriteBuffer),
		grpc.WithNoProxy(),
		grpc.WithSharedWriteBuffer(true),
		grpc.WithReadBufferSize(16<<10),
		// Reconnect on the exporter's schedule, not grpc-go's (up to 120 s,
		// during which every call fails fast with UNAVAILABLE).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: cfg.Retry.Initial, Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.Retry.Max},
			MinConnectTimeout: cfg.Timeout,
		}),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})),
	)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	md := metadata.MD{}
	for k, v := range headers { // checked by checkHeader
		md.Set(k, v)
	}
	return &grpcClient{conn: conn, md: md}, nil
}

// grpcHost is the endpoint's host:port; without a port, its scheme's (80,
// or 443 with TLS), as for OTLP/HTTP.
func grpcHost(cfg Config) string {
	host := cfg.target()
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i] // the service's path is fixed; a path in the endpoint means nothing to gRPC
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "80"
		if cfg.usesTLS() {
			port = "443"
		}
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return host
}

func (c *grpcClient) close() { c.conn.Close() }

// send is one unary call of LogsService/Export; ctx carries the timeout,
// which grpc-go sends as grpc-timeout.
func (c *grpcClient) send(ctx context.Context, data []byte) (outcome, error) {
	if len(c.md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, c.md)
	}
	req := newRequestBuffer(data)
	var resp []byte
	var opts []grpc.CallOption
	if isGzip(data) {
		opts = append(opts, grpc.UseCompressor(gzipName))
	}
	err := c.conn.Invoke(ctx, grpcPath, req, &resp, opts...)
	if err == nil {
		req.wait(ctx)
		o, _ := parseResponse(resp)
		return o, nil
	}
	res := grpcError(err)
	var se *sendError
	if errors.As(res, &se) && !se.retryable {
		// Only success and a final refusal release the item (to the pool).
		// After a retryable error it stays for the next attempt, and a lost
		// connection never releases what it had not written yet: no wait.
		req.wait(ctx)
	}
	return outcome{}, res
}

// grpcError sorts a failed call: retryable (with the receiver's RetryInfo
// delay) or final, as docs/otlp.md's table says.
func grpcError(err error) error {
	st := grpcstatus.Convert(err)
	code := int(st.Code())
	err = fmt.Errorf("gRPC %s: %s", codeName(code), strings.ToValidUTF8(st.Message(), "\uFFFD"))
	var delay time.Duration
	hasDelay := false
	if raw, merr := proto.Marshal(st.Proto()); merr == nil {
		if s, ok := parseStatus(raw); ok {
			delay, hasDelay = s.retryDelay, s.hasRetryDelay
		}
	}
	switch code {
	case codeCanceled, codeDeadlineExceeded, codeAborted, codeOutOfRange, codeUnavailable, codeDataLoss:
		return retryable(err, delay)
	case codeResourceExhausted:
		if hasDelay {
			return retryable(err, delay)
		}
	case codeInternal:
		// grpc-go's own INTERNAL for a broken answer, not the receiver's:
		// retried as the net/http client retried it.
		for _, p := range []string{"stream terminated by RST_STREAM", "server closed the stream without sending trailers", "malformed header"} {
			if strings.HasPrefix(st.Message(), p) {
				return retryable(err, 0)
			}
		}
	}
	return permanent(err)
}

// requestBuffer is a request handed to grpc-go without a copy. The
// transport writes it from its own goroutine and may still hold it after
// Invoke returns (an early answer), but data goes back to the builder's
// pool after send: wait returns once grpc-go has let go of it.
type requestBuffer struct {
	data []byte
	once sync.Once
	done chan struct{}
}

func newRequestBuffer(data []byte) *requestBuffer {
	return &requestBuffer{data: data, done: make(chan struct{})}
}

func (r *requestBuffer) Get(int) *[]byte { panic("otlp: requestBuffer is not a pool") }
func (r *requestBuffer) Put(*[]byte)     { r.once.Do(func() { close(r.done) }) }

// wait returns once grpc-go has released the request, or when ctx ends.
func (r *requestBuffer) wait(ctx context.Context) {
	if mem.IsBelowBufferPoolingThreshold(cap(r.data)) {
		return // copied, see rawCodec.Marshal
	}
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

// rawCodec passes encoded messages through: the request is already
// protobuf, and the response is parsed by parseResponse.
type rawCodec struct{}

// Name is empty so that the content type is plain application/grpc, as
// the OpenTelemetry exporters send it; a name would be appended ("+proto").
func (rawCodec) Name() string { return "" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	r, ok := v.(*requestBuffer)
	if !ok {
		return nil, fmt.Errorf("otlp: cannot marshal %T", v)
	}
	if mem.IsBelowBufferPoolingThreshold(cap(r.data)) {
		// grpc-go would not tell when it is done with a small buffer.
		return mem.BufferSlice{mem.SliceBuffer(append([]byte(nil), r.data...))}, nil
	}
	return mem.BufferSlice{mem.NewBuffer(&r.data, r)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("otlp: cannot unmarshal into %T", v)
	}
	*p = data.Materialize()
	return nil
}

// gzipName is the compressor a compressed request is sent with. The
// encoder compresses (the spool keeps requests compressed), so this
// "gzip" passes a gzip stream through and compresses anything else: a
// protobuf message never starts with 0x1f (field 3, wire type 7 does not
// exist), so the first byte tells them apart. It replaces grpc-go's own
// "gzip" in the process, which the binary does not link anyway.
const gzipName = "gzip"

func init() { encoding.RegisterCompressor(gzipCompressor{}) }

type gzipCompressor struct{}

func (gzipCompressor) Name() string { return gzipName }

func (gzipCompressor) Compress(w io.Writer) (io.WriteCloser, error) {
	return &gzipOrPass{w: w}, nil
}

func (gzipCompressor) Decompress(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }

type gzipOrPass struct {
	w       io.Writer
	gz      *gzip.Writer // nil while passing through or before the first byte
	started bool
}

func (g *gzipOrPass) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !g.started {
		g.started = true
		if p[0] != 0x1f {
			g.gz, _ = gzip.NewWriterLevel(g.w, gzip.BestSpeed)
		}
	}
	if g.gz != nil {
		return g.gz.Write(p)
	}
	return g.w.Write(p)
}

func (g *gzipOrPass) Close() error {
	if !g.started {
		g.gz, _ = gzip.NewWriterLevel(g.w, gzip.BestSpeed) // an empty message, compressed
	}
	if g.gz != nil {
		return g.gz.Close()
	}
	return nil
}
