package prometheus

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/exporters/exportertest"
)

// TestConformance runs the exporters' shared suite. The "peer" is the
// registry: a record is delivered once obsadapter_records_total counts it.
// There is nothing to fail or hang.
func TestConformance(t *testing.T) {
	exportertest.Run(t, func(t *testing.T) *exportertest.Harness {
		reg := prometheus.NewRegistry()
		e, err := New(DefaultConfig(), exporters.Deps{Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close(context.Background()) })
		return &exportertest.Harness{
			Exporter: e,
			Count: func() int {
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatal(err)
				}
				n := 0.0
				for _, mf := range mfs {
					if mf.GetName() == nameRecords {
						for _, m := range mf.GetMetric() {
							n += m.GetCounter().GetValue()
						}
					}
				}
				return int(n)
			},
		}
	})
}
