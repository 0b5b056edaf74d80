package otlp

import (
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/exportertest"
	"github.com/obsadapter/obsadapter/record"
)

// TestConformance runs the exporters' shared suite against the fake
// receiver over each protocol, with each kind of buffer: the receiver fails
// by answering UNAVAILABLE (503) and hangs by withholding its answer.
func TestConformance(t *testing.T) {
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		for _, kind := range []string{"memory", "file"} {
			t.Run("protocol="+protocol+"/buffer="+kind, func(t *testing.T) {
				exportertest.Run(t, func(t *testing.T) *exportertest.Harness {
					f := startFake(t, protocol == ProtocolGRPC)
					cfg := testConfig(f.endpoint(), protocol)
					cfg.Timeout = 500 * time.Millisecond // a withheld answer is given up soon
					cfg.Batch = BatchConfig{MaxRecords: 10, MaxBytes: 1024}
					cfg.Buffer.Type, cfg.Buffer.MaxBytes = kind, 64<<10
					stateDir := ""
					if kind == "file" {
						stateDir = t.TempDir()
					}
					e := newTestExporter(t, cfg, Deps{StateDir: stateDir})
					return &exportertest.Harness{
						Exporter:  e.Exporter,
						Delivered: f.Records,
						Changed:   f.Changed,
						Fail:      f.setFail,
						Hang:      f.setHang,
						Undeliverable: func() record.Batch {
							b := exportertest.Batch(0, 1)
							b[0].Message = strings.Repeat("x", 128<<10) // beyond buffer.max_bytes
							return b
						},
						Ordered: true,
						Durable: kind == "file",
					}
				})
			})
		}
	}
}
