package otlpe2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorsConfig is the adapter of the error tests: one file source whose
// last line does not wait for continuation lines (multiline off), small
// requests (batch.max_records 10), quick retries.
func errorsConfig(dir, log, protocol, endpoint string) string {
	return fmt.Sprintf(`state_dir: %q
checkpoint_interval: 100ms
sources:
  - {name: app, type: file, include: [%q], start_at: beginning, poll_interval: 100ms, multiline: "off"}
procinfo: {enabled: false}
`, filepath.Join(dir, "state"), log) + otlpSection(protocol, endpoint, "    batch: {max_records: 10}\n")
}

// TestOTLPReceiverRefuses makes the collector's receiver refuse requests as
// a collector whose pipeline refuses data does, over gRPC and HTTP: a
// permanent refusal (INVALID_ARGUMENT, HTTP 400) is counted, logged and
// dropped, and the checkpoint passes it; throttling (RESOURCE_EXHAUSTED with
// RetryInfo, HTTP 429 with Retry-After) is retried no sooner than the
// receiver asked; UNAVAILABLE (HTTP 503) is retried until accepted.
func TestOTLPReceiverRefuses(t *testing.T) {
	tests := []struct {
		name     string
		refuse   error // the answer to the first `times` requests
		times    int
		dropped  bool          // the refused records are dropped for good
		minDelay time.Duration // the least time between the first two requests
	}{
		{"invalid argument is dropped", status.Error(codes.InvalidArgument, "log record too large"), 1, true, 0},
		// retry.max is 1s, retry.initial 100ms: a retry after 1s is the receiver's
		{"throttling honours the delay asked", throttled(time.Second), 1, false, 950 * time.Millisecond},
		{"unavailable is retried", status.Error(codes.Unavailable, "pipeline full"), 3, false, 0},
	}
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := startReceiver(t)
					var mu sync.Mutex
					var at []time.Time // when each request reached the receiver's pipeline
					r.FailWith(func(plog.Logs) error {
						mu.Lock()
						defer mu.Unlock()
						at = append(at, time.Now())
						if len(at) <= tt.times {
							return tt.refuse
						}
						return nil
					})
					dir := t.TempDir()
					log := filepath.Join(dir, "app.log")
					writeNumbered(t, log, "app", 0, 10) // one request
					a := startAdapter(t, dir, errorsConfig(dir, log, proto.name, proto.endpoint(r)))
					if tt.dropped {
						waitFor(t, "the refused request to be dropped", func() bool { return a.metric(`obsadapter_otlp_records_total{result="failed"}`) == 10 })
					}
					writeNumbered(t, log, "app", 10, 20)
					want := 20
					if tt.dropped {
						want = 10
					}
					if !r.WaitRecords(want, time.Minute) {
						t.Fatalf("%d of %d records accepted", r.Records(), want)
					}
					size := fileSize(t, log)
					waitFor(t, "the checkpoint to reach the end of the file", func() bool { return a.ackedOffsets()[log] == size })

					mu.Lock()
					if len(at) >= 2 && at[1].Sub(at[0]) < tt.minDelay {
						t.Errorf("retried after %s, the receiver asked for %s", at[1].Sub(at[0]), tt.minDelay)
					}
					mu.Unlock()
					wantCounts := map[string]float64{
						`obsadapter_otlp_requests_total{result="retryable"}`: float64(tt.times),
						`obsadapter_otlp_requests_total{result="permanent"}`: 0,
						`obsadapter_otlp_records_total{result="failed"}`:     0,
						`obsadapter_otlp_records_total{result="acked"}`:      20,
					}
					if tt.dropped {
						wantCounts[`obsadapter_otlp_requests_total{result="retryable"}`] = 0
						wantCounts[`obsadapter_otlp_requests_total{result="permanent"}`] = 1
						wantCounts[`obsadapter_otlp_records_total{result="failed"}`] = 10
						wantCounts[`obsadapter_otlp_records_total{result="acked"}`] = 10
						wantCounts[`obsadapter_exporter_records_total{exporter="otlp",result="dropped"}`] = 10
					}
					for series, want := range wantCounts {
						if got := a.metric(series); got != want {
							t.Errorf("%s = %v, want %v", series, got, want)
						}
					}
					a.stop()
					if tt.dropped {
						if !containsLine(a.stderrText(), "refused a request for good") || !containsLine(a.stderrText(), "log record too large") {
							t.Error("the adapter did not log the refusal with the receiver's message")
						}
					}
					first := 0
					if tt.dropped {
						first = 10
					}
					checkRange(t, r, "app", first, 20)
				})
			}
		})
	}
}

// checkRange checks that exactly records [from, to) of source arrived, once.
func checkRange(t *testing.T, r *collectorReceiver, source string, from, to int) {
	t.Helper()
	count := map[string]int{}
	for _, g := range flatten(r.Accepted()) {
		count[g.rec.Body().AsString()]++
	}
	for i := from; i < to; i++ {
		body := fmt.Sprintf("%s record %d", source, i)
		if count[body] != 1 {
			t.Errorf("%q arrived %d times, want once", body, count[body])
		}
		delete(count, body)
	}
	if len(count) > 0 {
		t.Errorf("records arrived that should not have: %v", count)
	}
}

// partialReceiver is a small OTLP receiver, over gRPC and HTTP, that
// accepts every request but answers it with a partial success rejecting
// two of its records, or its only one (the collector's own receiver never
// answers so).
type partialReceiver struct {
	plogotlp.UnimplementedGRPCServer
	GRPCAddr, HTTPAddr string

	mu       sync.Mutex
	requests int
	records  int
	rejected int
}

const partialMessage = "2 log records older than the retention period"

func (p *partialReceiver) answer(req plogotlp.ExportRequest) plogotlp.ExportResponse {
	n := req.Logs().LogRecordCount()
	p.mu.Lock()
	p.requests++
	p.records += n
	p.rejected += min(2, n)
	p.mu.Unlock()
	resp := plogotlp.NewExportResponse()
	resp.PartialSuccess().SetRejectedLogRecords(int64(min(2, n)))
	resp.PartialSuccess().SetErrorMessage(partialMessage)
	return resp
}

// Export is the gRPC LogsService's method.
func (p *partialReceiver) Export(_ context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	return p.answer(req), nil
}

func (p *partialReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := plogotlp.NewExportRequest()
	if err == nil {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, err := p.answer(req).MarshalProto()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func startPartialReceiver(t *testing.T) *partialReceiver {
	p := &partialReceiver{}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.GRPCAddr, p.HTTPAddr = gl.Addr().String(), hl.Addr().String()
	gs := grpc.NewServer()
	plogotlp.RegisterGRPCServer(gs, p)
	mux := http.NewServeMux()
	mux.Handle("POST /v1/logs", p)
	hs := &http.Server{Handler: mux}
	go gs.Serve(gl)
	go hs.Serve(hl)
	t.Cleanup(func() { gs.Stop(); hs.Close() })
	return p
}

func (p *partialReceiver) counts() (requests, records, rejected int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.records, p.rejected
}

// TestOTLPPartialSuccess answers every request with a partial success, over
// gRPC and HTTP: the batch is done (the checkpoint passes it), the rejected
// records are counted, and the receiver's message is logged once however
// many requests it answered so within the interval.
func TestOTLPPartialSuccess(t *testing.T) {
	for _, proto := range protocols {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			p := startPartialReceiver(t)
			addr := p.GRPCAddr
			if proto.name != "grpc" {
				addr = p.HTTPAddr
			}
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			writeNumbered(t, log, "app", 0, 50) // 5 requests of 10
			a := startAdapter(t, dir, errorsConfig(dir, log, proto.name, "http://"+addr))
			size := fileSize(t, log)
			waitFor(t, "the checkpoint to reach the end of the file", func() bool { return a.ackedOffsets()[log] == size })
			requests, records, rejected := p.counts()
			if records != 50 || requests < 5 {
				t.Fatalf("the receiver got %d records in %d requests, want 50 in at least 5", records, requests)
			}
			for series, want := range map[string]float64{
				`obsadapter_otlp_records_total{result="rejected"}`: float64(rejected),
				`obsadapter_otlp_records_total{result="acked"}`:    float64(50 - rejected),
				`obsadapter_otlp_requests_total{result="success"}`: float64(requests),
			} {
				if got := a.metric(series); got != want {
					t.Errorf("%s = %v, want %v", series, got, want)
				}
			}
			a.stop()
			if n := strings.Count(a.stderrText(), partialMessage); n != 1 {
				t.Errorf("the receiver's message was logged %d times for %d partial successes, want once:\n%s", n, requests, a.stderrText())
			}
		})
	}
}
