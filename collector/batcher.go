package collector

import (
	"iter"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// spareBatches bounds the finished batches' arrays a source keeps for
// reuse.
const spareBatches = 4

// batcher is how every source type hands records on: it fills a batch up to
// batch_records, seals it with the checkpoint marks of the files whose
// lines it holds (file and pod sources), counts its streams' counters once
// per batch, and blocks on the pipeline while it is full: for files, the
// file is the buffer.
type batcher struct {
	source, format string
	deps           sourceDeps
	recs           record.Batch
	spare          chan record.Batch // full-size arrays of finished batches
	stats          map[*parsers.Stream]parsers.Stats
	// marks adds the checkpoint marks of the files in the batch and reports
	// whether there were any: a batch of marks alone still advances them.
	// Nil for sources without files.
	marks func(*batch) bool
	// streams are the source's live streams, for their counters.
	streams iter.Seq[*parsers.Stream]
	// retired are the streams' filled blocks, for the next batch sent to
	// carry back to the pool once it and the batches before it are done.
	retired  parsers.Blocks
	giveBack *blockRelease
	shaping  shaping
	// checkLines: the chain's redact checks a record's line and skips
	// what lies in it, so streams keep their lines on their records (set
	// with the chain).
	checkLines bool
}

func newBatcher(cfg SourceConfig, deps sourceDeps, streams iter.Seq[*parsers.Stream], marks func(*batch) bool) batcher {
	return batcher{
		source: cfg.Name, format: cfg.Format, deps: deps, streams: streams, marks: marks,
		stats:      map[*parsers.Stream]parsers.Stats{},
		recs:       make(record.Batch, 0, min(deps.batchRecords, 256)),
		shaping:    shaping{chain: deps.chain, next: deps.nextChain},
		giveBack:   newBlockRelease(deps.blocks),
		checkLines: deps.chain.ChecksLines(),
	}
}

// add puts records in the batch and sends it once full. Every source type
// hands its records on here, so this is where the live tap sees them.
func (b *batcher) add(recs []record.Record) {
	if len(recs) == 0 {
		return
	}
	from := len(b.recs)
	b.recs = append(b.recs, recs...)
	b.commit(from)
}

// feed parses a line straight into the batch: the hot path writes each
// record once. The caller commits, after any bookkeeping the marks need.
func (b *batcher) feed(st *parsers.Stream, line []byte, end record.Position, truncated bool, now time.Time) (from int) {
	from = len(b.recs)
	st.CheckLines(b.checkLines)
	b.recs = st.FeedAppend(b.recs, line, end, truncated, now)
	return from
}

// commit takes the records appended to the batch since index from and
// sends the batch once full.
func (b *batcher) commit(from int) {
	// Tap stage "parsed": the records as the parsers made them.
	b.deps.tap.offer(tapParsed, b.recs[from:])
	if len(b.recs) >= b.deps.batchRecords {
		b.send()
	}
}

// send seals the batch, passes it through the processors and hands it to
// the pipeline. A batch whose records were all dropped still goes when it
// carries checkpoint marks: those lines were handled.
func (b *batcher) send() {
	out := &batch{source: b.source}
	marked := b.marks != nil && b.marks(out)
	for st := range b.streams {
		b.count(st)
		st.TakeRetired(&b.retired)
	}
	full := len(b.recs) >= b.deps.batchRecords // before the processors: read as a backlog
	b.shape(out)
	if len(b.recs) == 0 && !marked {
		return
	}
	if b.giveBack != nil {
		out.blocks, b.retired = b.retired, parsers.Blocks{}
		out.release, out.seq = b.giveBack, b.giveBack.number()
	}
	// Tap stage "processed": what the exporters get.
	b.deps.tap.offer(tapProcessed, b.recs)
	b.deps.status.note(b.recs, b.deps.exposeSamples) // once per batch, not per line
	// A full batch means a backlog, so the next one fills too: it gets its
	// whole size at once, from a finished batch when one is back, rather
	// than growing (and copying) four times. Those arrays were a third of
	// all allocation when reading a backlog. A trickle keeps small batches.
	if b.spare == nil {
		b.spare = make(chan record.Batch, spareBatches)
	}
	if cap(b.recs) >= b.deps.batchRecords {
		out.recycle = b.spare
	}
	if !full {
		b.recs = make(record.Batch, 0, min(b.deps.batchRecords, 256))
	} else {
		select {
		case b.recs = <-b.spare:
		default:
			b.recs = make(record.Batch, 0, b.deps.batchRecords)
		}
	}
	b.deps.status.setSending(true)
	b.deps.out <- out
	b.deps.status.setSending(false)
}

// count adds what a stream did since the last batch to the metrics, and
// publishes its learned layouts.
func (b *batcher) count(st *parsers.Stream) {
	cur, prev := st.Stats(), b.stats[st]
	if cur.Lines != prev.Lines {
		b.deps.status.setLayouts(st.Path(), st.Layouts())
	}
	m := b.deps.metrics
	m.linesRead.WithLabelValues(b.source).Add(float64(cur.Lines - prev.Lines))
	if d := cur.ParseFailures - prev.ParseFailures; d > 0 {
		m.parseFailures.WithLabelValues(b.source, b.format).Add(float64(d))
	}
	if d := cur.Multiline - prev.Multiline; d > 0 {
		m.multiline.WithLabelValues(b.source).Add(float64(d))
	}
	b.stats[st] = cur
}

// release counts a stream one last time and lets go of it (a file closed).
func (b *batcher) release(st *parsers.Stream) {
	b.count(st)
	delete(b.stats, st)
	b.deps.status.dropLayouts(st.Path())
}
