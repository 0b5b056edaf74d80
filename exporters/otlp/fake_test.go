package otlp

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/obsadapter/obsadapter/record"
)

// answer is what the fake receiver answers one request with. The zero
// answer is success.
type answer struct {
	status     int // HTTP: the status code (0: 200)
	header     http.Header
	body       []byte // HTTP: the body; gRPC: the response message
	grpcCode   int
	grpcMsg    string
	grpcDetail []byte // grpc-status-details-bin, a google.rpc.Status
}

// fakeReceiver is a stand-in for an OTLP receiver over HTTP or gRPC (h2c),
// for the error cases and the conformance suite; the real collector
// receiver is tested in the separate test module.
type fakeReceiver struct {
	t    *testing.T
	srv  *httptest.Server
	grpc bool

	mu       sync.Mutex
	got      []decoded
	requests int
	headers  []http.Header
	changed  chan struct{}
	fail     bool
	hang     chan struct{} // closed to release hung requests
	script   []answer      // answers for the next requests, then success
	discard  bool          // benchmarks: take requests without decoding them
}

func startFake(t *testing.T, grpc bool) *fakeReceiver { return startFakeTLS(t, grpc, nil) }

// startFakeTLS serves over TLS (HTTP/1.1 and HTTP/2 by ALPN) when tc is set.
func startFakeTLS(t *testing.T, grpc bool, tc *tls.Config) *fakeReceiver {
	f := &fakeReceiver{t: t, grpc: grpc, changed: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	if tc != nil {
		f.srv.TLS = tc
		f.srv.EnableHTTP2 = true
		f.srv.StartTLS()
	} else {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		f.srv.Config.Protocols = &p
		f.srv.Start()
	}
	t.Cleanup(func() {
		f.setHang(false)
		f.srv.Close()
	})
	return f
}

// endpoint is what the exporter's config names.
func (f *fakeReceiver) endpoint() string { return f.srv.URL }

func (f *fakeReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.requests++
	f.headers = append(f.headers, r.Header.Clone())
	hang, fail := f.hang, f.fail
	var a answer
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if fail {
		a = answer{status: http.StatusServiceUnavailable, grpcCode: codeUnavailable, grpcMsg: "down"}
	}
	if f.grpc {
		f.serveGRPC(w, r, body, a)
		return
	}
	if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "wrong path or content type", http.StatusNotFound)
		return
	}
	if a.status != 0 && a.status != http.StatusOK {
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.WriteHeader(a.status)
		w.Write(a.body)
		return
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		body = gunzip(f.t, body)
	}
	f.accept(body)
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(a.body)
}

func (f *fakeReceiver) serveGRPC(w http.ResponseWriter, r *http.Request, body []byte, a answer) {
	if r.ProtoMajor != 2 || r.URL.Path != grpcPath || r.Header.Get("Content-Type") != "application/grpc" {
		http.Error(w, fmt.Sprintf("not gRPC: %d %s %q", r.ProtoMajor, r.URL.Path, r.Header.Get("Content-Type")), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin")
	if a.grpcCode == codeOK {
		if len(body) < 5 || int(binary.BigEndian.Uint32(body[1:])) != len(body)-5 {
			a = answer{grpcCode: 13, grpcMsg: "bad frame"}
		} else {
			msg := body[5:]
			if body[0] == 1 {
				msg = gunzip(f.t, msg)
			}
			f.accept(msg)
			w.Write(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(a.body))))
			w.Write(a.body)
		}
	}
	w.Header().Set("Grpc-Status", strconv.Itoa(a.grpcCode))
	if a.grpcMsg != "" {
		w.Header().Set("Grpc-Message", a.grpcMsg)
	}
	if a.grpcDetail != nil {
		w.Header().Set("Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(a.grpcDetail))
	}
}

func (f *fakeReceiver) accept(msg []byte) {
	if f.discard {
		return
	}
	ds, _, err := decodeRequest(msg)
	if err != nil {
		f.t.Errorf("fake receiver: %v", err)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, ds...)
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeReceiver) Records() []record.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return records(f.got)
}

func (f *fakeReceiver) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

func (f *fakeReceiver) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeReceiver) setFail(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = on
}

func (f *fakeReceiver) setHang(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case on && f.hang == nil:
		f.hang = make(chan struct{})
	case !on && f.hang != nil:
		close(f.hang)
		f.hang = nil
	}
}

// then queues answers for the next requests.
func (f *fakeReceiver) then(as ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, as...)
}

// The protobuf answers a receiver sends, encoded for the tests.

func partialSuccess(rejected int64, msg string) []byte {
	var ps []byte
	ps = binary.AppendUvarint(append(ps, 1<<3|0), uint64(rejected))
	ps = appendStringField(ps, 2<<3|2, msg)
	return appendBytesField(nil, 1<<3|2, ps)
}

func rpcStatus(code int, msg string, retryDelaySeconds int64) []byte {
	var b []byte
	b = binary.AppendUvarint(append(b, 1<<3|0), uint64(code))
	b = appendStringField(b, 2<<3|2, msg)
	if retryDelaySeconds >= 0 {
		var dur, info, anyMsg []byte
		dur = binary.AppendUvarint(append(dur, 1<<3|0), uint64(retryDelaySeconds))
		info = appendBytesField(nil, 1<<3|2, dur)
		anyMsg = appendStringField(anyMsg, 1<<3|2, retryInfoType)
		anyMsg = appendBytesField(anyMsg, 2<<3|2, info)
		b = appendBytesField(b, 3<<3|2, anyMsg)
	}
	return b
}

func gzipped(t testing.TB, p []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(p)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
