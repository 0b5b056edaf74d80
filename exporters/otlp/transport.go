package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
)

// outcome is what the receiver made of a request that it answered with
// success: how many records it rejected (partial success), and why.
type outcome struct {
	rejected int64
	message  string
}

// sendError is a request that failed. Retryable ones are sent again after
// the backoff, or after delay when the receiver named one (Retry-After,
// RetryInfo); the others are dropped.
type sendError struct {
	retryable bool
	delay     time.Duration
	err       error
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

func retryable(err error, delay time.Duration) error {
	return &sendError{retryable: true, delay: delay, err: err}
}
func permanent(err error) error { return &sendError{err: err} }

// client sends one encoded request (gzip-compressed or not) within ctx's
// deadline and reads the receiver's answer: httpClient for OTLP/HTTP,
// grpcClient for OTLP/gRPC.
type client interface {
	send(ctx context.Context, data []byte) (outcome, error)
	close()
}

func newClient(cfg Config, headers map[string]string, version string, clk clock.Clock) (client, error) {
	if cfg.Protocol == ProtocolGRPC {
		return newGRPCClient(cfg, headers, version)
	}
	return newHTTPClient(cfg, headers, version, clk)
}

// httpClient posts requests to /v1/logs.
type httpClient struct {
	tmpl  *http.Request // a request to the URL posted to, with the headers every request has; cloned for each
	hc    *http.Client
	clock clock.Clock
}

// maxResponse bounds what is read of an answer: an ExportLogsServiceResponse
// or an error status is small; anything larger is cut.
const maxResponse = 64 << 10

func newHTTPClient(cfg Config, headers map[string]string, version string, clk clock.Clock) (*httpClient, error) {
	c := &httpClient{clock: clk}
	useTLS := cfg.usesTLS()
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return bodyConn{c}, nil
		},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		// The request is compressed (or not) by the encoder; the answer is
		// small, and asking for it compressed only adds work.
		DisableCompression: true,
	}
	if useTLS {
		tc, err := exporters.ClientTLS(cfg.TLS).Config()
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	// HTTP_PROXY and the like apply to OTLP/HTTP as to any HTTP client.
	tr.Proxy = http.ProxyFromEnvironment
	tr.ForceAttemptHTTP2 = true // over TLS; plain http stays HTTP/1.1
	tmpl, err := http.NewRequest(http.MethodPost, cfg.target(), nil)
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	for k, v := range headers {
		tmpl.Header.Set(k, v)
	}
	tmpl.Header.Set("User-Agent", "obsadapter/"+version)
	tmpl.Header.Set("Content-Type", "application/x-protobuf")
	c.tmpl = tmpl
	c.hc = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, nil
}

func (c *httpClient) close() { c.hc.CloseIdleConnections() }

// newRequest posts data without copying it (a request is often hundreds
// of KiB); GetBody lets the transport send it again on a fresh connection.
//
// The transport may still read a body after Do returns (HTTP/2 writes it
// from its own goroutine), but data goes back to the builder's pool once
// the request is answered. So the caller defers bodies.wait, which returns
// once the transport has closed every body it was given.
func (c *httpClient) newRequest(ctx context.Context, data []byte) (*http.Request, *bodies) {
	bs := &bodies{}
	body := func() *trackedBody { return bs.add(net.Buffers{data}) }
	req := c.tmpl.Clone(ctx) // not NewRequest: that parses the URL and sets the headers again
	req.Body = body()
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return body(), nil }
	return req, bs
}

// bodies are the request bodies handed to the transport for one request.
type bodies struct {
	mu  sync.Mutex
	all []*trackedBody
}

// trackedBody is a request body: the buffers not yet read, which WriteTo
// writes at once (one writev on a plain connection; see bodyConn).
type trackedBody struct {
	bufs   net.Buffers
	once   sync.Once
	closed chan struct{}
}

func (b *trackedBody) Read(p []byte) (int, error)         { return b.bufs.Read(p) }
func (b *trackedBody) WriteTo(w io.Writer) (int64, error) { return b.bufs.WriteTo(w) }

func (b *trackedBody) len() int64 {
	n := 0
	for _, p := range b.bufs {
		n += len(p)
	}
	return int64(n)
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

func (bs *bodies) add(bufs net.Buffers) *trackedBody {
	b := &trackedBody{bufs: bufs, closed: make(chan struct{})}
	bs.mu.Lock()
	bs.all = append(bs.all, b)
	bs.mu.Unlock()
	return b
}

// bodyConn is a plain connection of the transport. HTTP/1.1 copies a body
// of known length through io.LimitReader, which hides the body's WriteTo,
// into the connection's ReadFrom: in 32 KiB writes, each waking the
// receiver, for requests of a few MiB. bodyConn's ReadFrom recognises a
// whole trackedBody behind the limit and writes what is left of it in one
// writev. (Over TLS the transport writes to a tls.Conn instead, in records
// of 16 KiB anyway.)
type bodyConn struct{ net.Conn }

func (c bodyConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if b, ok := lr.R.(*trackedBody); ok && b.len() <= lr.N {
			n, err := b.WriteTo(c.Conn)
			lr.N -= n
			return n, err
		}
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r) // the struct hides ReadFrom: no recursion
}

// wait returns once every body is closed, or when ctx (the request's
// timeout) ends: the transport closes them as soon as it has answered.
func (bs *bodies) wait(ctx context.Context) {
	bs.mu.Lock()
	all := bs.all
	bs.mu.Unlock()
	for _, b := range all {
		select {
		case <-b.closed:
		case <-ctx.Done():
			return
		}
	}
}

// send is OTLP/HTTP: retryable are 429, 502, 503 and 504 (with
// Retry-After) and failures to connect or to read the answer; every other
// answer but 2xx is final, as the specification says.
func (c *httpClient) send(ctx context.Context, data []byte) (outcome, error) {
	req, bodies := c.newRequest(ctx, data)
	defer bodies.wait(ctx)
	if isGzip(data) {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return outcome{}, retryable(err, 0)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		if readErr != nil {
			// The records arrived, but what the receiver made of them is
			// unknown; sending again may duplicate, not lose.
			return outcome{}, retryable(fmt.Errorf("reading the answer: %w", readErr), 0)
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			if body, err = gunzipLimited(body); err != nil {
				return outcome{}, nil // success all the same; only the partial success detail is lost
			}
		}
		o, _ := parseResponse(body)
		return o, nil
	}
	msg := httpErrorMessage(resp, body)
	err = fmt.Errorf("%s: %s", resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return outcome{}, retryable(err, c.retryAfter(resp.Header.Get("Retry-After")))
	}
	return outcome{}, permanent(err)
}

// httpErrorMessage is the receiver's reason: the message of the
// google.rpc.Status an OTLP receiver answers with, else the text it sent.
func httpErrorMessage(resp *http.Response, body []byte) string {
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf") {
		if st, ok := parseStatus(body); ok && st.message != "" {
			return st.message
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	if s == "" {
		return "no reason given"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// retryAfter parses Retry-After: seconds, or an HTTP date.
func (c *httpClient) retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(c.clock.Now()), 0)
	}
	return 0
}

// gRPC status codes the exporter tells apart.
const (
	codeOK                = 0
	codeCanceled          = 1
	codeDeadlineExceeded  = 4
	codeResourceExhausted = 8
	codeAborted           = 10
	codeOutOfRange        = 11
	codeInternal          = 13
	codeUnavailable       = 14
	codeDataLoss          = 15
)

var codeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

func codeName(c int) string {
	if c >= 0 && c < len(codeNames) {
		return codeNames[c]
	}
	return "code " + strconv.Itoa(c)
}

func gunzipLimited(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, maxResponse))
}
