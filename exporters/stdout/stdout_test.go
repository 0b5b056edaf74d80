package stdout

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

func TestExportWritesNDJSON(t *testing.T) {
	var out bytes.Buffer
	e := New(&out)
	ts := time.Date(2026, 11, 23, 20, 31, 2, 0, time.UTC)
	batch := record.Batch{
		{ObservedTime: ts, Message: "one", Source: "app"},
		{ObservedTime: ts, Message: "two", Severity: record.SeverityWarn},
	}
	if err := e.Export(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	want := `{"observed_time":"2026-11-23T20:31:02Z","message":"one","source":"app"}` + "\n" +
		`{"observed_time":"2026-11-23T20:31:02Z","level":"warn","severity":13,"message":"two"}` + "\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

type failingWriter struct{ fail bool }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.fail {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

func TestExportReportsWriteErrors(t *testing.T) {
	w := &failingWriter{fail: true}
	e := New(w)
	if err := e.Export(context.Background(), record.Batch{{Message: "x"}}); err == nil {
		t.Fatal("a failed write was reported as safe")
	}
	w.fail = false
	if err := e.Export(context.Background(), record.Batch{{Message: "x"}}); err != nil {
		t.Fatalf("the retry after the writer recovered failed: %v", err)
	}
}
