package collector

import (
	"errors"
	"io"
	"iter"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// Reading: a file is read from where it stopped to its end (within a
// per-pass budget), its lines fed to its stream, and the records put in
// the batch with the offset they account for.

// perFileReadBudget bounds how much one file is read in one pass, so many
// busy files share the source fairly and batches keep flowing.
const perFileReadBudget = 4 << 20

// readFile reads the file from where it stopped to its current end (within
// the per-pass budget) and feeds every complete line to its stream. After
// each read it checks that the file still starts with the bytes read from
// it: a file truncated and regrown past the offset since the last scan (or
// while the pass was blocked on a full pipeline) would otherwise hand over
// the middle of its new content as the rest of the old.
func (s *fileSource) readFile(tf *tailedFile, now time.Time) {
	start := tf.fr.pos
	defer func() {
		if tf.fr.pos-start >= perFileReadBudget {
			s.moreToRead = true
			tf.unread = true
		}
	}()
	for tf.fr.pos-start < perFileReadBudget {
		for {
			line, end, truncated, ok := tf.fr.next()
			if !ok {
				break
			}
			s.feed(tf, line, end, truncated, now)
		}
		n, err := tf.fr.fill(tf.f)
		if n > 0 && s.rewritten(tf) {
			tf.fr.unfill(n)
			s.noteRead(tf, start, now)
			s.readFile(s.truncated(tf, now), now)
			return
		}
		s.growFingerprint(tf, n)
		if n == 0 || err != nil {
			if err != nil && !errors.Is(err, io.EOF) {
				s.sourceError("read", tf.track.pathNow(), err)
			}
			break
		}
	}
	s.noteRead(tf, start, now)
	tf.fr.release() // at its end: an idle file keeps no read buffer
}

func (s *fileSource) noteRead(tf *tailedFile, start int64, now time.Time) {
	if n := tf.fr.pos - start; n > 0 {
		s.deps.metrics.bytesRead.WithLabelValues(s.cfg.Name).Add(float64(n))
		tf.track.read.Store(tf.fr.pos)
		tf.track.size.Store(max(tf.track.size.Load(), tf.fr.pos))
		tf.idleSince = now
		tf.compacted = false
	}
}

// growFingerprint extends the file's fingerprint with its first bytes as
// they are read, so it describes what was read: a copy of this file can be
// recognised even if it was made between two scans, and a truncation
// followed by new content is seen even past the old offset.
func (s *fileSource) growFingerprint(tf *tailedFile, n int) {
	fp := tf.fp
	end := tf.fr.pos
	if n == 0 || len(fp) >= fingerprintSize || int64(len(fp)) >= end {
		return
	}
	if int64(len(fp)) < end-int64(n) { // started past a prefix taken when the file was shorter
		s.setFP(tf, readPrefix(tf.f))
		return
	}
	take := int(min(end, fingerprintSize)) - len(fp)
	start := tf.fr.end - int(end-int64(len(fp)))
	s.setFP(tf, append(append(make([]byte, 0, len(fp)+take), fp...), tf.fr.buf[start:start+take]...))
}

func (s *fileSource) feed(tf *tailedFile, line []byte, end int64, truncated bool, now time.Time) {
	from := s.batcher.feed(tf.stream, line, record.Position{File: tf.track.id, Offset: end}, truncated, now)
	s.account(tf, end)
	s.batcher.commit(from)
}

// add hands records flushed out of a stream (timeouts, EOF) to the batch.
func (s *fileSource) add(tf *tailedFile, recs []record.Record) {
	if len(recs) == 0 {
		return
	}
	tf.compacted = false
	s.take(tf, tf.fr.last, recs)
}

// take puts a file's records in the batch and accounts the file up to read,
// or up to where the record its stream still holds begins.
func (s *fileSource) take(tf *tailedFile, read int64, recs []record.Record) {
	s.account(tf, read)
	s.batcher.add(recs)
}

// account notes that a file's lines up to read are in the batch, or up to
// where the record its stream still holds begins.
func (s *fileSource) account(tf *tailedFile, read int64) {
	tf.accounted = read
	tf.uncounted = true
	if r, held := tf.stream.Resume(); held {
		tf.accounted = r.Offset
	}
	if !tf.inBatch {
		tf.inBatch = true
		s.touched = append(s.touched, tf)
	}
}

// markFiles seals a batch: each file with lines in it gets a mark at the
// offset below which all its lines are in this batch or earlier ones.
func (s *fileSource) markFiles(b *batch) bool {
	for _, tf := range s.touched {
		b.marks = append(b.marks, markRef{file: tf.track, seq: tf.track.push(tf.accounted)})
		tf.inBatch = false
	}
	marked := len(s.touched) > 0
	s.touched = s.touched[:0]
	return marked
}

// liveStreams are the streams whose counters moved since the batcher last
// counted them: with thousands of idle files, the others are skipped.
func (s *fileSource) liveStreams() iter.Seq[*parsers.Stream] {
	return func(yield func(*parsers.Stream) bool) {
		for _, tf := range s.files {
			if !tf.uncounted {
				continue
			}
			tf.uncounted = false
			if !yield(tf.stream) {
				return
			}
		}
	}
}
