package collector

import (
	"github.com/obsadapter/obsadapter/clock"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/obsadapter/obsadapter/exporters"
	"github.com/obsadapter/obsadapter/record"
)

// stepExporter is a Pipeliner whose waits return what the test says, when
// it says. Batches are named by their first record's offset. It logs every
// call, so tests can check the order the runner makes them in.
type stepExporter struct {
	mu          sync.Mutex
	events      []string
	results     map[int64]chan error
	beginErr    map[int64]error // returned once by Begin
	exportErr   error           // returned by every Export
	outstanding int             // begun, wait not returned
	maxOut      int
}

var _ exporters.Pipeliner = (*stepExporter)(nil)

func newStepExporter() *stepExporter {
	return &stepExporter{results: map[int64]chan error{}, beginErr: map[int64]error{}}
}

func (s *stepExporter) Name() string                { return "step" }
func (s *stepExporter) Close(context.Context) error { return nil }

func (s *stepExporter) log(format string, a ...any) {
	s.events = append(s.events, fmt.Sprintf(format, a...))
}

func (s *stepExporter) Export(_ context.Context, b record.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log("export %d", b[0].Pos.Offset)
	return s.exportErr
}

func (s *stepExporter) Begin(_ context.Context, b record.Batch) (func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := b[0].Pos.Offset
	if err := s.beginErr[id]; err != nil {
		delete(s.beginErr, id)
		s.log("begin %d failed", id)
		return nil, err
	}
	s.log("begin %d", id)
	ch := s.result(id)
	s.outstanding++
	s.maxOut = max(s.maxOut, s.outstanding)
	return func(ctx context.Context) error {
		var err error
		select {
		case err = <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.outstanding--
		s.log("wait %d", id)
		return err
	}, nil
}

// result is the channel batch id's wait returns from; mu held.
func (s *stepExporter) result(id int64) chan error {
	if s.results[id] == nil {
		s.results[id] = make(chan error, 1)
	}
	return s.results[id]
}

func (s *stepExporter) finish(id int64, err error) {
	s.mu.Lock()
	ch := s.result(id)
	s.mu.Unlock()
	ch <- err
}

func (s *stepExporter) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func (s *stepExporter) logged(event string) bool { return slices.Contains(s.calls(), event) }

// runnerRig feeds one runner batches of one record each; batch i carries
// the mark "offset i" of one file.
type runnerRig struct {
	r     *runner
	track *fileTrack
	done  chan struct{}
	start func() // starts the runner (once)
	stop  func() // ends the export context, closes the queue and waits for the runner
}

func newRunnerRig(t *testing.T, exp exporters.Exporter) *runnerRig {
	t.Helper()
	rig := newIdleRunnerRig(t, exp)
	rig.start()
	return rig
}

// newIdleRunnerRig is a rig whose runner has not started, so a test can
// queue batches first: a runner that finds its queue empty settles what it
// has begun, which a loaded machine can make happen between two sends.
func newIdleRunnerRig(t *testing.T, exp exporters.Exporter) *runnerRig {
	t.Helper()
	m := newSelfMetrics(prometheus.NewRegistry())
	r := &runner{exp: exp, queue: make(chan *batch, 32), metrics: m, logger: slog.New(slog.DiscardHandler),
		minBackoff: time.Millisecond, maxBackoff: time.Millisecond, clock: clock.Real}
	ctx, cancel := context.WithCancel(context.Background())
	rig := &runnerRig{r: r, track: &fileTrack{source: "s"}, done: make(chan struct{})}
	rig.start = sync.OnceFunc(func() { go func() { r.run(ctx); close(rig.done) }() })
	rig.stop = sync.OnceFunc(func() { rig.start(); cancel(); close(r.queue); <-rig.done })
	t.Cleanup(rig.stop)
	return rig
}

func (rig *runnerRig) send(ids ...int64) {
	for _, id := range ids {
		b := &batch{records: record.Batch{{Message: "m", Pos: record.Position{Offset: id}}}, source: "s"}
		b.marks = []markRef{{file: rig.track, seq: rig.track.push(id)}}
		b.remaining.Store(1)
		rig.r.queue <- b
	}
}

func (rig *runnerRig) acked() int64 { return rig.track.snapshot().Acked }

func (rig *runnerRig) count(result string) float64 {
	return testutil.ToFloat64(rig.r.metrics.exporterRecords.WithLabelValues("step", result))
}

// TestPipelinedRunnerWindow: the runner begins up to maxInFlight batches
// before the first is safe, begins the next only when the oldest is
// settled, settles them in order, and the checkpoint follows only what is
// safe.
func TestPipelinedRunnerWindow(t *testing.T) {
	exp := newStepExporter()
	rig := newIdleRunnerRig(t, exp)
	n := int64(maxInFlight + 3)
	for i := int64(1); i <= n; i++ {
		rig.send(i)
	}
	rig.start()
	waitUntil(t, "a full window", func() bool { return exp.logged(fmt.Sprintf("begin %d", maxInFlight)) })
	if exp.logged(fmt.Sprintf("begin %d", maxInFlight+1)) {
		t.Fatalf("more than %d batches begun before one was safe: %v", maxInFlight, exp.calls())
	}
	// Later batches become safe first: the checkpoint must wait for batch 1.
	exp.finish(3, nil)
	exp.finish(2, nil)
	if got := rig.acked(); got != 0 {
		t.Fatalf("checkpoint at %d before batch 1 is safe", got)
	}
	exp.finish(1, nil)
	waitUntil(t, "batches 1-3 acknowledged", func() bool { return rig.acked() == 3 })
	for i := int64(4); i <= n; i++ {
		exp.finish(i, nil)
	}
	waitUntil(t, "every batch acknowledged", func() bool { return rig.acked() == n })

	var begins, waits []string
	for _, e := range exp.calls() {
		if e[0] == 'b' {
			begins = append(begins, e)
		} else {
			waits = append(waits, e)
		}
	}
	for i := range n {
		if want := fmt.Sprintf("begin %d", i+1); begins[i] != want {
			t.Errorf("begin #%d is %q, want %q", i+1, begins[i], want)
		}
		if want := fmt.Sprintf("wait %d", i+1); waits[i] != want {
			t.Errorf("settled #%d is %q, want %q", i+1, waits[i], want)
		}
	}
	if exp.maxOut != maxInFlight {
		t.Errorf("at most %d batches were in flight, want %d", exp.maxOut, maxInFlight)
	}
	if got := rig.count("sent"); got != float64(n) {
		t.Errorf("sent = %v, want %d", got, n)
	}
}

// TestPipelinedRunnerSettles: what happens to a batch after its wait or its
// Begin reports a problem.
func TestPipelinedRunnerSettles(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*stepExporter)
		batches   int64
		results   map[int64]error // what each batch's wait returns
		want      []string        // the exporter's calls, in order
		wantAcked int64
		counts    map[string]float64
	}{
		{
			name:    "failed wait is retried with Export",
			batches: 3,
			results: map[int64]error{1: nil, 2: errors.New("connection reset"), 3: nil},
			want:    []string{"begin 1", "begin 2", "begin 3", "wait 1", "wait 2", "export 2", "wait 3"},
			// the batch is safe once the retry succeeds
			wantAcked: 3, counts: map[string]float64{"sent": 3, "retried": 1},
		},
		{
			name:      "permanent failure is counted and acknowledged",
			batches:   3,
			results:   map[int64]error{1: nil, 2: exporters.Permanent(errors.New("too large")), 3: nil},
			want:      []string{"begin 1", "begin 2", "begin 3", "wait 1", "wait 2", "wait 3"},
			wantAcked: 3, counts: map[string]float64{"sent": 2, "dropped": 1},
		},
		{
			name:    "failed Begin settles the earlier batches before the retry",
			setup:   func(s *stepExporter) { s.beginErr[3] = errors.New("closed") },
			batches: 4,
			// batch 3's Begin fails: 1 and 2 are settled, then 3 is exported, then 4 begins
			results:   map[int64]error{1: nil, 2: nil, 4: nil},
			want:      []string{"begin 1", "begin 2", "begin 3 failed", "wait 1", "wait 2", "export 3", "begin 4", "wait 4"},
			wantAcked: 4, counts: map[string]float64{"sent": 4, "retried": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := newStepExporter()
			if tt.setup != nil {
				tt.setup(exp)
			}
			// Every batch is queued before the runner starts: a runner that
			// finds its queue empty settles what it has begun, so starting it
			// first let a loaded machine put "wait 1" before "begin 2".
			rig := newIdleRunnerRig(t, exp)
			ids := slices.Sorted(func(yield func(int64) bool) {
				for id := range tt.results {
					if !yield(id) {
						return
					}
				}
			})
			for id := range tt.batches {
				rig.send(id + 1)
			}
			rig.start()
			for _, id := range ids {
				exp.finish(id, tt.results[id])
			}
			waitUntil(t, "the checkpoint", func() bool { return rig.acked() == tt.wantAcked })
			waitUntil(t, "the last call", func() bool { return len(exp.calls()) >= len(tt.want) })
			if got := exp.calls(); !slices.Equal(got, tt.want) {
				t.Errorf("calls\n got %v\nwant %v", got, tt.want)
			}
			for result, want := range tt.counts {
				if got := rig.count(result); got != want {
					t.Errorf("%s = %v, want %v", result, got, want)
				}
			}
		})
	}
}

// TestPipelinedRunnerQueueRunsDry: a batch is settled as soon as it is safe,
// without waiting for another batch to arrive.
func TestPipelinedRunnerQueueRunsDry(t *testing.T) {
	exp := newStepExporter()
	rig := newRunnerRig(t, exp)
	rig.send(1)
	exp.finish(1, nil)
	waitUntil(t, "batch 1 acknowledged", func() bool { return rig.acked() == 1 })
}

// TestPipelinedRunnerShutdown: when the export context ends (the drain
// deadline), batches still in flight are given up: counted as failed and
// undelivered, and the checkpoint does not pass them.
func TestPipelinedRunnerShutdown(t *testing.T) {
	exp := newStepExporter()
	exp.exportErr = errors.New("down")
	rig := newRunnerRig(t, exp)
	rig.send(1, 2, 3, 4, 5, 6)
	exp.finish(1, nil)
	waitUntil(t, "batch 1 acknowledged", func() bool { return rig.acked() == 1 })
	waitUntil(t, "a full window", func() bool { return exp.logged(fmt.Sprintf("begin %d", maxInFlight+1)) })
	rig.stop()
	if got := rig.acked(); got != 1 {
		t.Errorf("checkpoint at %d, want 1", got)
	}
	if got := rig.r.undelivered.Load(); got != 5 {
		t.Errorf("undelivered = %d, want 5", got)
	}
	if got := rig.count("failed"); got != 5 {
		t.Errorf("failed = %v, want 5", got)
	}
	if snap := rig.track.snapshot(); snap.InFlight != 5 {
		t.Errorf("%d marks pending, want 5", snap.InFlight)
	}
}

// TestBatchArrayRecycled: a batch's array goes back to its source only once
// every exporter is done with it, emptied of the records it held.
func TestBatchArrayRecycled(t *testing.T) {
	spare := make(chan record.Batch, 1)
	recs := make(record.Batch, 2, 4)
	recs[0].Message, recs[1].Message = "a", "b"
	b := &batch{records: recs, recycle: spare}
	b.remaining.Store(2)
	b.exporterDone(true)
	if len(spare) != 0 || b.records[0].Message != "a" {
		t.Fatal("recycled while an exporter still works on it")
	}
	b.exporterDone(true)
	got := <-spare
	if len(got) != 0 || cap(got) != 4 || &got[:1][0] != &recs[0] {
		t.Fatalf("got len %d cap %d, want the same array, empty", len(got), cap(got))
	}
	for i, r := range got[:cap(got)] {
		if r.Message != "" {
			t.Errorf("record %d still holds %q", i, r.Message)
		}
	}
}
