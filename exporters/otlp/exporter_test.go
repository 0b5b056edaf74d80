package otlp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/buffer"
	"github.com/obsadapter/obsadapter/record"
)

// syncBuffer is a log sink the sender goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func exportAsync(e exporters.Exporter, b record.Batch) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- e.Export(context.Background(), b) }()
	return ch
}

func waitFor(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return", what)
	}
	return nil
}

// TestReceiverAnswers: every class of answer an OTLP receiver gives, over
// each protocol. Retryable ones are sent again after the receiver's delay
// (or the backoff, retry.initial being an hour here), stepped by the fake
// clock; final ones drop the request with a permanent error.
func TestReceiverAnswers(t *testing.T) {
	const noDelay = -1 // the backoff: within [30m, 1h]
	cases := []struct {
		name      string
		grpc      bool
		answer    answer
		retried   bool
		delay     time.Duration // the wait before the retry (noDelay: the backoff)
		permanent bool
		errHas    string
	}{
		{name: "http 400 is final", answer: answer{status: 400, header: http.Header{"Content-Type": {"application/x-protobuf"}},
			body: rpcStatus(3, "attribute too long", -1)}, permanent: true, errHas: "attribute too long"},
		{name: "http 500 is final, as the spec says", answer: answer{status: 500, body: []byte("boom")}, permanent: true, errHas: "boom"},
		{name: "http 401 is final", answer: answer{status: 401}, permanent: true, errHas: "401"},
		{name: "http 429 waits Retry-After seconds", answer: answer{status: 429, header: http.Header{"Retry-After": {"7"}}}, retried: true, delay: 7 * time.Second},
		{name: "http 503 waits Retry-After date", answer: answer{status: 503,
			header: http.Header{"Retry-After": {baseTime.Truncate(time.Second).Add(90 * time.Second).Format(http.TimeFormat)}}}, retried: true, delay: 90 * time.Second},
		{name: "http 502 without Retry-After backs off", answer: answer{status: 502}, retried: true, delay: noDelay},
		{name: "http 504 Retry-After bounded by retry.max", answer: answer{status: 504, header: http.Header{"Retry-After": {"86400"}}},
			retried: true, delay: 2 * time.Hour},
		{name: "grpc UNAVAILABLE backs off", grpc: true, answer: answer{grpcCode: codeUnavailable, grpcMsg: "down"}, retried: true, delay: noDelay},
		{name: "grpc UNAVAILABLE with RetryInfo waits", grpc: true, answer: answer{grpcCode: codeUnavailable,
			grpcDetail: rpcStatus(codeUnavailable, "later", 3)}, retried: true, delay: 3 * time.Second},
		{name: "grpc RESOURCE_EXHAUSTED with RetryInfo waits", grpc: true, answer: answer{grpcCode: codeResourceExhausted,
			grpcDetail: rpcStatus(codeResourceExhausted, "slow down", 5)}, retried: true, delay: 5 * time.Second},
		{name: "grpc RESOURCE_EXHAUSTED without RetryInfo is final", grpc: true, answer: answer{grpcCode: codeResourceExhausted,
			grpcMsg: "too big"}, permanent: true, errHas: "RESOURCE_EXHAUSTED: too big"},
		{name: "grpc INVALID_ARGUMENT is final", grpc: true, answer: answer{grpcCode: 3, grpcMsg: "bad%20request"},
			permanent: true, errHas: "INVALID_ARGUMENT: bad request"},
		{name: "grpc DEADLINE_EXCEEDED is retried", grpc: true, answer: answer{grpcCode: codeDeadlineExceeded}, retried: true, delay: noDelay},
		{name: "grpc ABORTED is retried", grpc: true, answer: answer{grpcCode: codeAborted}, retried: true, delay: noDelay},
		{name: "grpc UNAUTHENTICATED is final", grpc: true, answer: answer{grpcCode: 16, grpcMsg: "no key"}, permanent: true, errHas: "UNAUTHENTICATED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := startFake(t, c.grpc)
			f.then(c.answer)
			clk := clocktest.New(baseTime.Truncate(time.Second)) // HTTP dates have whole seconds
			var logs syncBuffer
			protocol := ProtocolHTTP
			if c.grpc {
				protocol = ProtocolGRPC
			}
			cfg := testConfig(f.endpoint(), protocol)
			cfg.Retry = RetryConfig{Initial: time.Hour, Max: 2 * time.Hour}
			e := newTestExporter(t, cfg, Deps{Deps: exporters.Deps{Clock: clk, Logger: slog.New(slog.NewTextHandler(&logs, nil))}})
			ch := exportAsync(e, numbered(0, 5))
			if c.retried {
				if !clk.BlockUntil(1) {
					t.Fatal("the exporter never waited to retry")
				}
				d := clk.Deadlines()[0].Sub(clk.Now())
				if c.delay == noDelay && (d < 30*time.Minute || d > time.Hour) || c.delay != noDelay && d != c.delay {
					t.Fatalf("waited %s before the retry, want %s", d, c.delay)
				}
				clk.Advance(d)
			}
			err := waitFor(t, ch, "Export")
			if c.permanent {
				if !exporters.IsPermanent(err) || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("Export: %v, want a permanent error naming %q", err, c.errHas)
				}
				if e.count("failed") != 5 || f.Requests() != 1 {
					t.Errorf("failed %d, requests %d; want 5 and 1", e.count("failed"), f.Requests())
				}
				if n := strings.Count(logs.String(), "refused a request for good"); n != 1 {
					t.Errorf("%d log lines for the refusal, want 1:\n%s", n, logs.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("Export: %v", err)
			}
			if got := len(f.Records()); got != 5 || f.Requests() != 2 || e.count("acked") != 5 || e.count("retried") != 5 {
				t.Errorf("%d records in %d requests, acked %d retried %d; want 5 in 2, 5 and 5", got, f.Requests(), e.count("acked"), e.count("retried"))
			}
		})
	}
}

// TestPartialSuccess: rejected records are counted, the rest acknowledged,
// and the receiver's message logged at most once a minute.
func TestPartialSuccess(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "grpc"}[grpc], func(t *testing.T) {
			f := startFake(t, grpc)
			ps := answer{body: partialSuccess(2, "2 records too old")}
			f.then(ps, ps, ps)
			clk := clocktest.New(baseTime)
			var logs syncBuffer
			protocol := ProtocolHTTP
			if grpc {
				protocol = ProtocolGRPC
			}
			e := newTestExporter(t, testConfig(f.endpoint(), protocol), Deps{Deps: exporters.Deps{Clock: clk, Logger: slog.New(slog.NewTextHandler(&logs, nil))}})
			for i, advance := range []time.Duration{0, 30 * time.Second, time.Minute} {
				clk.Advance(advance)
				if err := e.Export(context.Background(), numbered(i*5, 5)); err != nil {
					t.Fatal(err)
				}
			}
			if e.count("rejected") != 6 || e.count("acked") != 9 {
				t.Errorf("rejected %d acked %d, want 6 and 9", e.count("rejected"), e.count("acked"))
			}
			if n := strings.Count(logs.String(), "2 records too old"); n != 2 {
				t.Errorf("the message was logged %d times, want 2 (not again within a minute):\n%s", n, logs.String())
			}
		})
	}
}

// TestRefusalsAreLoggedOnceAMinute: every refused request is counted, but
// a receiver that refuses everything does not flood the log.
func TestRefusalsAreLoggedOnceAMinute(t *testing.T) {
	f := startFake(t, false)
	refuse := answer{status: 400, body: []byte("schema mismatch")}
	f.then(refuse, refuse, refuse)
	clk := clocktest.New(baseTime)
	var logs syncBuffer
	e := newTestExporter(t, testConfig(f.endpoint(), ProtocolHTTP), Deps{Deps: exporters.Deps{Clock: clk, Logger: slog.New(slog.NewTextHandler(&logs, nil))}})
	for i, advance := range []time.Duration{0, 59 * time.Second, time.Second} {
		clk.Advance(advance)
		if err := e.Export(context.Background(), numbered(i*5, 5)); !exporters.IsPermanent(err) {
			t.Fatalf("Export %d: %v, want a permanent error", i, err)
		}
	}
	if e.count("failed") != 15 {
		t.Errorf("failed %d, want 15", e.count("failed"))
	}
	if n := strings.Count(logs.String(), "schema mismatch"); n != 2 {
		t.Errorf("logged %d times, want 2 (at 0s and 60s):\n%s", n, logs.String())
	}
}

// TestSuccessWithoutOTLPBody: a 200 whose body is not an OTLP answer (a
// proxy's text) is a success with nothing rejected.
func TestSuccessWithoutOTLPBody(t *testing.T) {
	f := startFake(t, false)
	f.then(answer{body: []byte("OK, thanks")})
	e := newTestExporter(t, testConfig(f.endpoint(), ProtocolHTTP), Deps{})
	if err := e.Export(context.Background(), numbered(0, 3)); err != nil {
		t.Fatal(err)
	}
	if e.count("acked") != 3 || e.count("rejected") != 0 {
		t.Errorf("acked %d rejected %d, want 3 and 0", e.count("acked"), e.count("rejected"))
	}
}

// TestRequests checks what goes on the wire: the path, headers (static and
// from a file), gzip, and the gRPC timeout.
func TestRequests(t *testing.T) {
	dir := t.TempDir()
	keyFile := dir + "/key"
	if err := writeFile(keyFile, " secret-key\n"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		grpc     bool
		gzip     bool
		wantHdrs map[string]string
	}{
		{"http plain", false, false, map[string]string{"Content-Type": "application/x-protobuf", "X-Tenant": "shop", "Api-Key": "secret-key"}},
		{"http gzip", false, true, map[string]string{"Content-Encoding": "gzip", "X-Tenant": "shop"}},
		{"grpc plain", true, false, map[string]string{"Content-Type": "application/grpc", "Te": "trailers", "Api-Key": "secret-key"}},
		{"grpc gzip", true, true, map[string]string{"Grpc-Encoding": "gzip", "X-Tenant": "shop"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := startFake(t, c.grpc)
			protocol := ProtocolHTTP
			if c.grpc {
				protocol = ProtocolGRPC
			}
			cfg := testConfig(f.endpoint(), protocol)
			cfg.Headers = map[string]string{"x-tenant": "shop"}
			cfg.HeaderFiles = map[string]string{"api-key": keyFile}
			if c.gzip {
				cfg.Compression = "gzip"
			}
			e := newTestExporter(t, cfg, Deps{Version: "1.2.3"})
			if err := e.Export(context.Background(), numbered(0, 3)); err != nil {
				t.Fatal(err)
			}
			if len(f.Records()) != 3 {
				t.Fatalf("%d records arrived", len(f.Records()))
			}
			h := f.headers[0]
			wantUA := "obsadapter/1.2.3"
			if c.grpc {
				wantUA += " grpc-go/" // gRPC's convention: the library after the application
			}
			if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, wantUA) || (!c.grpc && ua != wantUA) {
				t.Errorf("User-Agent %q, want %q", ua, wantUA)
			}
			if c.grpc {
				// The 2 s timeout, less what passed before the call, in grpc-go's unit.
				if d, err := grpcTimeout(h.Get("Grpc-Timeout")); err != nil || d <= time.Second || d > 2*time.Second {
					t.Errorf("Grpc-Timeout %q = %v (%v), want the 2 s timeout", h.Get("Grpc-Timeout"), d, err)
				}
			}
			for k, v := range c.wantHdrs {
				if h.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
				}
			}
		})
	}
}

// grpcTimeout decodes a grpc-timeout value: digits and a unit.
func grpcTimeout(v string) (time.Duration, error) {
	if len(v) < 2 {
		return 0, fmt.Errorf("too short")
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil {
		return 0, err
	}
	unit, ok := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second, 'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}[v[len(v)-1]]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", v[len(v)-1])
	}
	return time.Duration(n) * unit, nil
}

func TestHeaderFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/bad", "a\nb"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file, want string
	}{
		{"missing file", dir + "/none", "header_files.api-key: open"},
		{"value with a newline inside", dir + "/bad", "control character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1", ProtocolHTTP)
			cfg.HeaderFiles = map[string]string{"api-key": c.file}
			if _, err := New(cfg, Deps{}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want %q", err, c.want)
			}
		})
	}
}

// TestSpoolSurvivesRestart: records spooled while the receiver is down
// stay on disk across Close and New, and arrive once it is back.
func TestSpoolSurvivesRestart(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "grpc"}[grpc], func(t *testing.T) {
			f := startFake(t, grpc)
			f.setFail(true)
			protocol := ProtocolHTTP
			if grpc {
				protocol = ProtocolGRPC
			}
			cfg := testConfig(f.endpoint(), protocol)
			cfg.Buffer.Type = "file"
			cfg.ShutdownTimeout = 50 * time.Millisecond
			dir := t.TempDir()
			e, err := New(cfg, Deps{StateDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Export(context.Background(), numbered(0, 20)); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(f.Records()); n != 0 {
				t.Fatalf("%d records arrived while the receiver failed", n)
			}
			f.setFail(false)
			e2 := newTestExporter(t, cfg, Deps{StateDir: dir})
			deadline := time.After(10 * time.Second)
			for len(f.Records()) < 20 {
				select {
				case <-f.Changed():
				case <-deadline:
					t.Fatalf("%d of 20 records arrived after the restart", len(f.Records()))
				}
			}
			seen := map[int64]bool{}
			for _, r := range f.Records() {
				v, _ := r.Lookup("seq")
				seen[v.Int64()] = true
			}
			if len(seen) != 20 {
				t.Errorf("%d distinct records, want 20", len(seen))
			}
			if err := e2.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClosedExporterRefuses(t *testing.T) {
	f := startFake(t, false)
	e := newTestExporter(t, testConfig(f.endpoint(), ProtocolHTTP), Deps{})
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Export(context.Background(), numbered(0, 1)); !errors.Is(err, buffer.ErrClosed) {
		t.Fatalf("Export after Close: %v", err)
	}
}
