// Package stdout writes records as NDJSON, one unified record per line.
package stdout

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// Exporter writes each batch as NDJSON and flushes it: a batch is safe once
// its bytes are handed to the writer (the container runtime captures them).
type Exporter struct {
	out io.Writer
	w   *bufio.Writer
	buf []byte
}

var _ exporters.Exporter = (*Exporter)(nil)

// New writes to w (the process's stdout in the daemon).
func New(w io.Writer) *Exporter {
	return &Exporter{out: w, w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 4096)}
}

func (e *Exporter) Name() string { return "stdout" }

// Export writes the batch. A write error leaves the batch unsafe so the
// pipeline retries it; a partial batch may then be written twice, which
// at-least-once delivery allows.
func (e *Exporter) Export(_ context.Context, batch record.Batch) error {
	for i := range batch {
		e.buf = batch[i].AppendJSON(e.buf[:0])
		e.buf = append(e.buf, '\n')
		if _, err := e.w.Write(e.buf); err != nil {
			return e.fail(err)
		}
	}
	if err := e.w.Flush(); err != nil {
		return e.fail(err)
	}
	return nil
}

// fail drops what could not be written (bufio's error is sticky); the retry
// writes the whole batch again.
func (e *Exporter) fail(err error) error {
	e.w.Reset(e.out)
	return fmt.Errorf("stdout: %w", err)
}

func (e *Exporter) Close(context.Context) error { return e.w.Flush() }
