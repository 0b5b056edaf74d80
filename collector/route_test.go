package collector

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// routeExporter records what each Export was given (messages, and whether
// it was the source batch's own array) and can be held shut like an
// aggregator that is down.
type routeExporter struct {
	name string
	gate chan struct{} // nil: open
	mu   sync.Mutex
	got  []string
	// owned counts batches given as the source's own array (no copy).
	owned   int
	sources map[*record.Record]bool // first elements of the source batches
}

func (e *routeExporter) Name() string                { return e.name }
func (e *routeExporter) Close(context.Context) error { return nil }
func (e *routeExporter) Export(ctx context.Context, b record.Batch) error {
	if e.gate != nil {
		select {
		case <-e.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(b) > 0 && e.sources[&b[0]] {
		e.owned++
	}
	for _, r := range b {
		e.got = append(e.got, r.Message)
	}
	return nil
}

func (e *routeExporter) messages() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// routePipeliner is a routeExporter the runner drives through Begin.
type routePipeliner struct{ *routeExporter }

func (p routePipeliner) Begin(ctx context.Context, b record.Batch) (func(context.Context) error, error) {
	err := p.Export(ctx, b)
	return func(context.Context) error { return err }, nil
}

// TestPipelineRoutes: each exporter gets exactly the records routed to it,
// in order; a batch without routes (or whose every record goes to an
// exporter) is handed over as it is, not copied; a batch with nothing for
// an exporter that is down is acknowledged without it, so its checkpoint
// marks advance.
func TestPipelineRoutes(t *testing.T) {
	const a, b, c = 1 << 0, 1 << 1, 1 << 2
	type sent struct {
		msgs   []string
		routes []uint64 // nil: no route processor
	}
	tests := []struct {
		name      string
		pipelined bool
		batches   []sent
		want      [3][]string // per exporter a, b, c
		wantOwned [3]int      // batches handed over uncopied
	}{
		{
			name:      "no routes: every exporter gets the batch itself",
			batches:   []sent{{msgs: []string{"1", "2"}}, {msgs: []string{"3"}}},
			want:      [3][]string{{"1", "2", "3"}, {"1", "2", "3"}, {"1", "2", "3"}},
			wantOwned: [3]int{2, 2, 2},
		},
		{
			name: "mixed routes: sub-batches in order",
			batches: []sent{
				{msgs: []string{"1", "2", "3", "4"}, routes: []uint64{a | b | c, a, b | c, a | c}},
				{msgs: []string{"5", "6"}, routes: []uint64{c, a | c}},
			},
			want:      [3][]string{{"1", "2", "4", "6"}, {"1", "3"}, {"1", "3", "4", "5", "6"}},
			wantOwned: [3]int{0, 0, 1}, // c gets all of the second batch
		},
		{
			name:      "pipelined runners route the same way",
			pipelined: true,
			batches: []sent{
				{msgs: []string{"1", "2", "3"}, routes: []uint64{a, b, c}},
				{msgs: []string{"4", "5"}, routes: []uint64{a | b | c, a | b | c}},
			},
			want:      [3][]string{{"1", "4", "5"}, {"2", "4", "5"}, {"3", "4", "5"}},
			wantOwned: [3]int{1, 1, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sources := map[*record.Record]bool{}
			var exps []exporters.Exporter
			var recs []*routeExporter
			for _, n := range []string{"a", "b", "c"} {
				e := &routeExporter{name: n, sources: sources}
				recs = append(recs, e)
				if tt.pipelined {
					exps = append(exps, routePipeliner{e})
				} else {
					exps = append(exps, e)
				}
			}
			p := newPipeline(PipelineConfig{BatchRecords: 100, QueueBatches: 4}, exps, newSelfMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), clock.Real)
			track := &fileTrack{source: "s"}
			var batches []*batch
			for i, s := range tt.batches {
				rb := make(record.Batch, len(s.msgs))
				for j, m := range s.msgs {
					rb[j].Message = m
				}
				sources[&rb[0]] = true
				bt := &batch{records: rb, source: "s"}
				bt.marks = []markRef{{file: track, seq: track.push(int64(i + 1))}}
				if s.routes != nil {
					bt.setRoutes(s.routes)
				}
				batches = append(batches, bt)
			}
			done := make(chan struct{})
			go func() { p.run(context.Background()); close(done) }()
			for _, bt := range batches {
				p.in <- bt
			}
			close(p.in)
			<-done
			for i, e := range recs {
				if got := e.messages(); !slices.Equal(got, tt.want[i]) {
					t.Errorf("exporter %s got %q, want %q", e.name, got, tt.want[i])
				}
				if e.owned != tt.wantOwned[i] {
					t.Errorf("exporter %s got %d batches uncopied, want %d", e.name, e.owned, tt.wantOwned[i])
				}
			}
			if got := track.snapshot().Acked; got != int64(len(batches)) {
				t.Errorf("checkpoint at %d, want %d", got, len(batches))
			}
		})
	}
}

// TestRouteAroundExporterDown: while one exporter is down, batches whose
// records are all routed elsewhere are acknowledged (their checkpoint
// advances); the first batch that holds a record for it waits for it.
func TestRouteAroundExporterDown(t *testing.T) {
	up := &routeExporter{name: "up"}
	down := &routeExporter{name: "down", gate: make(chan struct{})}
	p := newPipeline(PipelineConfig{BatchRecords: 100, QueueBatches: 4}, []exporters.Exporter{up, down}, newSelfMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), clock.Real)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	track := &fileTrack{source: "s"}
	send := func(offset int64, routes ...uint64) {
		bt := &batch{records: make(record.Batch, len(routes)), source: "s"}
		bt.marks = []markRef{{file: track, seq: track.push(offset)}}
		bt.setRoutes(routes)
		p.in <- bt
	}
	send(10, 1, 1) // both records to "up" only
	send(20)       // every record dropped: marks alone
	waitUntil(t, "the checkpoint past the batches down has nothing of", func() bool { return track.snapshot().Acked == 20 })
	send(30, 1, 2) // one record for "down"
	send(40, 1)
	waitUntil(t, "up's records", func() bool { return len(up.messages()) == 4 })
	if got := track.snapshot().Acked; got != 20 {
		t.Fatalf("checkpoint at %d passed a record the down exporter has not taken", got)
	}
	close(down.gate)
	waitUntil(t, "the checkpoint once down is back", func() bool { return track.snapshot().Acked == 40 })
	close(p.in)
}
