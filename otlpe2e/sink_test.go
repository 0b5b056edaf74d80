package otlpe2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// sink is an OTLP receiver that does next to nothing, over gRPC and HTTP:
// it reads each request, counts its log records by walking the protobuf
// (resource_logs → scope_logs → log_records, each skipped by its length)
// and answers success. It is the counterpart of the adapter's internal/forwardsink: the
// collector's receiver decodes every record into pdata in the benchmark's
// own process, and on two shared cores that inflates the adapter's CPU time
// by as much as half, by the receiver's weight rather than the exporter's.
type sink struct {
	records atomic.Int64
	grpcLn  net.Listener
	httpLn  net.Listener
	bufs    sync.Pool
}

func startSink(tb testing.TB) *sink {
	tb.Helper()
	s := &sink{bufs: sync.Pool{New: func() any { return new([]byte) }}}
	var err error
	if s.grpcLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	if s.httpLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	gs := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, st grpc.ServerStream) error {
		// rawCodec.Unmarshal counts the request in grpc-go's own buffers.
		if err := st.RecvMsg(s); err != nil {
			return err
		}
		resp := []byte{} // an empty ExportLogsServiceResponse: all accepted
		return st.SendMsg(&resp)
	}))
	go gs.Serve(s.grpcLn)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := s.bufs.Get().(*[]byte)
		defer s.bufs.Put(buf)
		b, err := readAll(r.Body, (*buf)[:0])
		*buf = b
		if err == nil {
			err = s.count(b)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	})}
	go hs.Serve(s.httpLn)
	tb.Cleanup(func() {
		gs.Stop()
		hs.Close()
	})
	return s
}

func (s *sink) endpoint(protocol string) string {
	if protocol == "grpc" {
		return "http://" + s.grpcLn.Addr().String()
	}
	return "http://" + s.httpLn.Addr().String() + "/v1/logs"
}

// readAll is io.ReadAll into a reused buffer.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// count adds the log records of an ExportLogsServiceRequest.
func (s *sink) count(req []byte) error {
	n := 0
	err := eachField(req, 1, func(rl []byte) error { // resource_logs
		return eachField(rl, 2, func(sl []byte) error { // scope_logs
			return eachField(sl, 2, func([]byte) error { n++; return nil }) // log_records
		})
	})
	s.records.Add(int64(n))
	return err
}

// eachField calls f with the bytes of every length-delimited field num of
// msg, skipping the others.
func eachField(msg []byte, num protowire.Number, f func([]byte) error) error {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return protowire.ParseError(l)
		}
		msg = msg[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				return protowire.ParseError(l)
			}
			if err := f(v); err != nil {
				return err
			}
			msg = msg[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, msg)
		if l < 0 {
			return protowire.ParseError(l)
		}
		msg = msg[l:]
	}
	return nil
}

// WaitRecords waits until n records arrived, or the timeout.
func (s *sink) WaitRecords(n int64, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if s.records.Load() >= n {
			return true
		}
	}
	return s.records.Load() >= n
}

// rawCodec counts a request where grpc-go received it (into a pooled
// buffer when it arrived in pieces) and sends the empty answer as it is.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	s, ok := v.(*sink)
	if !ok {
		return errors.New("sink: not a *sink")
	}
	if len(data) == 1 {
		return s.count(data[0].ReadOnlyData())
	}
	buf := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(buf)
	*buf = (*buf)[:0]
	for _, b := range data {
		*buf = append(*buf, b.ReadOnlyData()...)
	}
	return s.count(*buf)
}
