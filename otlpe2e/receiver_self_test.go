package otlpe2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestReceiverHarness checks the harness the other tests rely on, with the
// collector's own client types: what it accepts over gRPC and HTTP is what
// was sent, a stopped receiver refuses connections and a restarted one
// accepts again, and each failure the error tests use reaches the client as
// the status the OTLP specification gives it.
func TestReceiverHarness(t *testing.T) {
	r := startReceiver(t)
	conn, err := grpc.NewClient(r.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := plogotlp.NewGRPCClient(conn)
	sendGRPC := func(body string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := client.Export(ctx, plogotlp.NewExportRequestFromLogs(oneLog(body)))
		return err
	}
	sendHTTP := func(body string) (*http.Response, error) {
		data, err := plogotlp.NewExportRequestFromLogs(oneLog(body)).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post("http://"+r.HTTPAddr+"/v1/logs", "application/x-protobuf", bytes.NewReader(data))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}

	if err := sendGRPC("over grpc"); err != nil {
		t.Fatalf("gRPC export: %v", err)
	}
	if resp, err := sendHTTP("over http"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTP export: %v %v", resp, err)
	}
	if !r.WaitRecords(2, 5*time.Second) {
		t.Fatalf("%d records accepted, want 2", r.Records())
	}
	var bodies []string
	for _, ld := range r.Accepted() {
		bodies = append(bodies, ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
	}
	if len(bodies) != 2 || bodies[0] != "over grpc" || bodies[1] != "over http" {
		t.Fatalf("accepted bodies %q", bodies)
	}

	r.Stop()
	if _, err := sendHTTP("while stopped"); err == nil {
		t.Fatal("the stopped receiver accepted an HTTP request")
	}
	if err := r.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if resp, err := sendHTTP("after restart"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("HTTP export after the restart: %v %v", resp, err)
	}

	for _, tt := range []struct {
		name       string
		err        error
		grpcCode   codes.Code
		httpStatus int
		retryAfter string
	}{
		{"invalid argument", status.Error(codes.InvalidArgument, "bad record"), codes.InvalidArgument, 400, ""},
		{"throttled", throttled(3 * time.Second), codes.ResourceExhausted, 429, "3"},
		{"unavailable", status.Error(codes.Unavailable, "try later"), codes.Unavailable, 503, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r.FailWith(func(plog.Logs) error { return tt.err })
			defer r.FailWith(nil)
			before := r.Records()
			if err := sendGRPC("refused"); status.Code(err) != tt.grpcCode {
				t.Errorf("gRPC: %v, want code %s", err, tt.grpcCode)
			}
			resp, err := sendHTTP("refused")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.httpStatus || resp.Header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("HTTP: %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), tt.httpStatus, tt.retryAfter)
			}
			if r.Records() != before {
				t.Error("a refused request was recorded as accepted")
			}
		})
	}
}

// throttled is the error of a receiver that is over its limits and asks the
// client to come back after d: RESOURCE_EXHAUSTED with RetryInfo, which the
// HTTP side turns into 429 with Retry-After.
func throttled(d time.Duration) error {
	st, err := status.New(codes.ResourceExhausted, "over the limit").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func oneLog(body string) plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(body)
	return ld
}
