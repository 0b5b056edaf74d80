package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/obsadapter/obsadapter/exporters/exportertest"
	"github.com/obsadapter/obsadapter/record"
)

// peer stands in for the process's stdout: it keeps what is written and can
// fail like a broken pipe. A hung stdout cannot be interrupted, so the
// harness has no Hang.
type peer struct {
	mu   sync.Mutex
	out  bytes.Buffer
	fail bool
}

func (p *peer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return 0, errors.New("broken pipe")
	}
	return p.out.Write(b)
}

func (p *peer) records(t *testing.T) []record.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []record.Record
	for _, line := range bytes.Split(p.out.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r record.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func TestConformance(t *testing.T) {
	exportertest.Run(t, func(t *testing.T) *exportertest.Harness {
		p := &peer{}
		e := New(p)
		t.Cleanup(func() { e.Close(context.Background()) })
		return &exportertest.Harness{
			Exporter:  e,
			Delivered: func() []record.Record { return p.records(t) },
			Fail:      func(on bool) { p.mu.Lock(); p.fail = on; p.mu.Unlock() },
			Ordered:   true,
		}
	})
}
