package collector

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// sourceStatus is what a source publishes for the sources API and the
// checkpoint writer, updated at the end of each of its passes.
type sourceStatus struct {
	name, typ string

	mu     sync.Mutex
	tracks []*fileTrack
	// awaiting are checkpoint entries of files not opened yet: kept until
	// they are.
	awaiting []checkpointEntry
	changes  atomic.Uint64 // bumped by every change its checkpoint entries show
	formats  map[string]uint64
	samples  []string                        // the last lines that fell through to plain text (http.expose_samples)
	layouts  map[string][]parsers.LayoutInfo // per path ("" for stdin and exec): learned header layouts
	ended    bool
	problem  string // why the source reads nothing, for the API and readiness

	// for /healthz: a file source that is neither passing nor waiting on the
	// pipeline is wedged.
	lastPass time.Time
	sending  bool
}

// note counts the records' formats and keeps the last plain-text lines as
// samples when the user allowed it (they are log content).
func (st *sourceStatus) note(recs []record.Record, samples bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	// Records of a batch come in runs of one format: one map update a run.
	run := 0
	for i := range recs {
		run++
		if i+1 == len(recs) || recs[i+1].Format != recs[i].Format {
			st.formats[recs[i].Format] += uint64(run)
			run = 0
		}
		if samples && recs[i].Format == "plain" {
			if len(st.samples) == maxSamples {
				copy(st.samples, st.samples[1:])
				st.samples = st.samples[:maxSamples-1]
			}
			// A clone: the message shares its memory with many other records.
			st.samples = append(st.samples, strings.Clone(recs[i].Message))
		}
	}
}

// setLayouts records the header layouts a stream has learned.
func (st *sourceStatus) setLayouts(path string, l []parsers.LayoutInfo) {
	if len(l) == 0 {
		return
	}
	st.mu.Lock()
	if st.layouts == nil {
		st.layouts = map[string][]parsers.LayoutInfo{}
	}
	if _, known := st.layouts[path]; !known && len(st.layouts) >= maxLayoutFiles {
		st.mu.Unlock()
		return
	}
	st.layouts[path] = l
	st.mu.Unlock()
}

// dropLayouts forgets a stream's layouts once its file is let go, so
// short-lived files do not pile up.
func (st *sourceStatus) dropLayouts(path string) {
	st.mu.Lock()
	delete(st.layouts, path)
	st.mu.Unlock()
}

// setProblem records (or, with "", clears) why the source reads nothing.
func (st *sourceStatus) setProblem(p string) {
	st.mu.Lock()
	st.problem = p
	st.mu.Unlock()
}

func newSourceStatus(name, typ string) *sourceStatus {
	return &sourceStatus{name: name, typ: typ, formats: map[string]uint64{}}
}

const maxSamples = 5

// maxLayoutFiles bounds the files whose learned layouts the sources API
// lists: with thousands of files they would cost more than the files.
const maxLayoutFiles = 100

func (st *sourceStatus) setSending(v bool) {
	st.mu.Lock()
	st.sending = v
	st.mu.Unlock()
}
