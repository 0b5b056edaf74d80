package fluent

import (
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/exportertest"
	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
	"github.com/obsadapter/obsadapter/record"
)

// TestConformance runs the exporters' shared suite against the forward
// receiver, with each kind of buffer: the peer fails by going down (every
// connection reset, as a killed Fluentd) and hangs by withholding acks.
func TestConformance(t *testing.T) {
	for _, kind := range []string{"memory", "file"} {
		t.Run("buffer="+kind, func(t *testing.T) {
			exportertest.Run(t, func(t *testing.T) *exportertest.Harness {
				s := forwardtest.Start(t, forwardtest.Options{})
				cfg := testConfig(s.Addr())
				cfg.AckTimeout = 500 * time.Millisecond // a withheld ack is given up soon
				cfg.Batch = BatchConfig{MaxRecords: 10, MaxBytes: 1024}
				cfg.Buffer.Type, cfg.Buffer.MaxBytes = kind, 64<<10
				stateDir := ""
				if kind == "file" {
					stateDir = t.TempDir()
				}
				e := newTestExporter(t, cfg, stateDir)
				return &exportertest.Harness{
					Exporter:  e.Exporter,
					Delivered: s.Records,
					Changed:   s.Changed,
					Fail: func(on bool) {
						if !on {
							if err := s.Restart(); err != nil {
								t.Error(err)
							}
							return
						}
						s.Stop()
					},
					Hang: s.WithholdAcks,
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
