package otlp

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/exporters"
)

// grpcLogs is a LogsService on grpc-go, the gRPC the collector runs, that
// answers with the queued errors first: the client must
// read grpc-go's trailers, messages and status details as they are.
type grpcLogs struct {
	plogotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	errs     []error
	rejected int64
	records  int
}

func (s *grpcLogs) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return plogotlp.NewExportResponse(), err
	}
	s.records += req.Logs().LogRecordCount()
	resp := plogotlp.NewExportResponse()
	if s.rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(s.rejected)
		resp.PartialSuccess().SetErrorMessage("too old")
	}
	return resp, nil
}

func TestGRPCInterop(t *testing.T) {
	withRetryInfo := func(c codes.Code, d time.Duration) error {
		st, err := grpcstatus.New(c, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	cases := []struct {
		name      string
		err       error
		rejected  int64
		delay     time.Duration // 0: no retry
		permanent bool
		gzip      bool
	}{
		{name: "success"},
		{name: "partial success", rejected: 2},
		// grpc-go answers a compressed request with a compressed answer.
		{name: "gzip, partial success", rejected: 2, gzip: true},
		{name: "RESOURCE_EXHAUSTED with RetryInfo", err: withRetryInfo(codes.ResourceExhausted, 4*time.Second), delay: 4 * time.Second},
		{name: "UNAVAILABLE with RetryInfo", err: withRetryInfo(codes.Unavailable, 1500*time.Millisecond), delay: 1500 * time.Millisecond},
		{name: "RESOURCE_EXHAUSTED alone is final", err: grpcstatus.Error(codes.ResourceExhausted, "quota"), permanent: true},
		{name: "INVALID_ARGUMENT is final", err: grpcstatus.Error(codes.InvalidArgument, "bad"), permanent: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := &grpcLogs{rejected: c.rejected}
			if c.err != nil {
				srv.errs = []error{c.err}
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			gs := grpc.NewServer()
			plogotlp.RegisterGRPCServer(gs, srv)
			go gs.Serve(ln)
			t.Cleanup(gs.Stop)
			clk := clocktest.New(baseTime)
			cfg := testConfig("http://"+ln.Addr().String(), ProtocolGRPC)
			cfg.Retry = RetryConfig{Initial: time.Hour, Max: 2 * time.Hour}
			if c.gzip {
				cfg.Compression = "gzip"
			}
			e := newTestExporter(t, cfg, Deps{Deps: exporters.Deps{Clock: clk}})
			ch := exportAsync(e, numbered(0, 5))
			if c.delay > 0 {
				if !clk.BlockUntil(1) {
					t.Fatal("no retry")
				}
				if d := clk.Deadlines()[0].Sub(clk.Now()); d != c.delay {
					t.Fatalf("waited %s, want the RetryInfo's %s", d, c.delay)
				}
				clk.Advance(c.delay)
			}
			err = waitFor(t, ch, "Export")
			if c.permanent != exporters.IsPermanent(err) || !c.permanent && err != nil {
				t.Fatalf("Export: %v (want permanent: %v)", err, c.permanent)
			}
			if c.permanent {
				return
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.records != 5 || e.count("rejected") != int(c.rejected) {
				t.Errorf("%d records arrived, %d counted rejected; want 5 and %d", srv.records, e.count("rejected"), c.rejected)
			}
		})
	}
}
