package collector

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// queuedLine is one line waiting in a lineQueue.
type queuedLine struct {
	stream    int // index of the output it came from (exec: 0 stdout, 1 stderr)
	data      []byte
	truncated bool
}

// lineQueue is the bounded buffer of a source that cannot pause: its readers
// push, the source goroutine takes everything at once. When full it blocks
// the reader (on_full: block, so the writing process waits on its pipe) or
// drops the oldest line (drop_oldest), counting every drop.
type lineQueue struct {
	mu       sync.Mutex
	lines    []queuedLine
	bytes    int
	maxLines int
	maxBytes int
	dropOld  bool
	writers  int
	notify   chan struct{} // signalled on push and when the last writer is done
	space    chan struct{} // signalled when the consumer takes lines
	onDrop   func()
}

func newLineQueue(cfg BufferConfig, writers int, onDrop func()) *lineQueue {
	return &lineQueue{
		maxLines: cfg.MaxLines, maxBytes: cfg.MaxBytes, dropOld: cfg.OnFull == "drop_oldest", writers: writers,
		notify: make(chan struct{}, 1), space: make(chan struct{}, 1), onDrop: onDrop,
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// push copies the line in; ctx ends a blocked push (shutdown).
func (q *lineQueue) push(ctx context.Context, l queuedLine) {
	l.data = append([]byte(nil), l.data...)
	for {
		q.mu.Lock()
		full := len(q.lines) >= q.maxLines || q.bytes+len(l.data) > q.maxBytes && len(q.lines) > 0
		if full && q.dropOld {
			for full {
				q.bytes -= len(q.lines[0].data)
				q.lines = q.lines[1:]
				q.onDrop()
				full = len(q.lines) >= q.maxLines || q.bytes+len(l.data) > q.maxBytes && len(q.lines) > 0
			}
		}
		if !full {
			q.lines = append(q.lines, l)
			q.bytes += len(l.data)
			q.mu.Unlock()
			signal(q.notify)
			return
		}
		q.mu.Unlock()
		select {
		case <-q.space:
		case <-ctx.Done():
			return
		}
	}
}

// writerDone marks one reader finished; the queue ends when all are.
func (q *lineQueue) writerDone() {
	q.mu.Lock()
	q.writers--
	q.mu.Unlock()
	signal(q.notify)
}

// take returns every queued line, and whether this was the last take: all
// writers are done, so nothing can follow the lines returned.
func (q *lineQueue) take(dst []queuedLine) ([]queuedLine, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dst = append(dst[:0], q.lines...)
	clear(q.lines)
	q.lines = q.lines[:0]
	q.bytes = 0
	signal(q.space)
	return dst, q.writers == 0
}

func (q *lineQueue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.lines)
}

// readLines frames r into the queue until EOF or an error; the unterminated
// tail at EOF is a line too.
func readLines(ctx context.Context, r io.Reader, stream, maxLine int, q *lineQueue) error {
	defer q.writerDone()
	fr := newFramer(0, maxLine)
	for {
		for {
			line, _, truncated, ok := fr.next()
			if !ok {
				break
			}
			q.push(ctx, queuedLine{stream: stream, data: line, truncated: truncated})
		}
		_, err := fr.fill(r)
		if err != nil {
			if line, _, truncated, ok := fr.rest(); ok {
				q.push(ctx, queuedLine{stream: stream, data: line, truncated: truncated})
			}
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// lineSource parses what its readers queue: one stream per output.
type lineSource struct {
	cfg     SourceConfig
	deps    sourceDeps
	streams []*parsers.Stream
	batcher
}

func newLineSource(cfg SourceConfig, deps sourceDeps, streamNames ...string) *lineSource {
	s := &lineSource{cfg: cfg, deps: deps}
	s.batcher = newBatcher(cfg, deps, func(yield func(*parsers.Stream) bool) {
		for _, st := range s.streams {
			if !yield(st) {
				return
			}
		}
	}, nil)
	for _, name := range streamNames {
		st, err := parsers.NewStream(cfg.Config, parsers.Meta{Source: cfg.Name, Stream: name, Kubernetes: deps.kubernetes})
		if err != nil {
			panic("parsers.NewStream with a validated config: " + err.Error())
		}
		st.ReuseBlocks(deps.blocks)
		s.streams = append(s.streams, st)
	}
	return s
}

// consume parses queued lines until the queue ends (all readers at EOF) or
// ctx ends; then it parses what is still queued and flushes every stream.
func (s *lineSource) consume(ctx context.Context, q *lineQueue) {
	var lines []queuedLine
	for {
		var ended bool
		lines, ended = q.take(lines)
		now := s.deps.clock.Now()
		for _, l := range lines {
			s.commit(s.feed(s.streams[l.stream], l.data, record.Position{}, l.truncated, now))
		}
		for _, st := range s.streams {
			s.add(st.Flush(now))
		}
		s.deps.metrics.bufferLines.WithLabelValues(s.cfg.Name).Set(float64(q.depth()))
		s.flushChain(now, false)
		s.send()
		if ended {
			break
		}
		if ctx.Err() != nil {
			lines, _ = q.take(lines)
			for _, l := range lines {
				s.commit(s.feed(s.streams[l.stream], l.data, record.Position{}, l.truncated, now))
			}
			break
		}
		// Wake for the earliest held record's timeout, or the processors'
		// summaries, if any.
		earliest, _ := s.flushDeadline(now)
		for _, st := range s.streams {
			if d, ok := st.Deadline(); ok && (earliest.IsZero() || d.Before(earliest)) {
				earliest = d
			}
		}
		var deadline <-chan time.Time
		var t clock.Timer
		if !earliest.IsZero() {
			t = s.deps.clock.NewTimer(max(earliest.Sub(now), time.Millisecond))
			deadline = t.C()
		}
		select {
		case <-q.notify:
		case <-deadline:
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
	}
	now := s.deps.clock.Now()
	for _, st := range s.streams {
		s.add(st.FlushAll(now))
	}
	s.flushChain(now, true)
	s.send()
}

// stdinSource reads a pipe (or any reader) until EOF.
type stdinSource struct {
	cfg  SourceConfig
	deps sourceDeps
	in   io.Reader
}

func (s *stdinSource) name() string { return s.cfg.Name }

func (s *stdinSource) run(ctx context.Context) error {
	q := newLineQueue(s.cfg.Buffer, 1, func() {
		s.deps.metrics.recordsDropped.WithLabelValues(s.cfg.Name, "buffer_full").Inc()
	})
	counted := &countingReader{r: s.in, add: s.deps.metrics.bytesRead.WithLabelValues(s.cfg.Name).Add}
	go func() {
		if err := readLines(ctx, counted, 0, s.cfg.MaxLineBytes, q); err != nil {
			s.deps.metrics.sourceErrors.WithLabelValues(s.cfg.Name).Inc()
			s.deps.logger.Warn("reading stdin failed", "source", s.cfg.Name, "err", err)
		}
	}()
	newLineSource(s.cfg, s.deps, "").consume(ctx, q)
	return nil
}

type countingReader struct {
	r   io.Reader
	add func(float64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.add(float64(n))
	}
	return n, err
}

// execSource runs a command and reads its stdout and stderr as two streams,
// restarting it by policy with exponential backoff.
type execSource struct {
	cfg  SourceConfig
	deps sourceDeps
}

func (s *execSource) name() string { return s.cfg.Name }

func (s *execSource) run(ctx context.Context) error {
	ls := newLineSource(s.cfg, s.deps, "stdout", "stderr")
	backoff := s.cfg.RestartBackoff
	for {
		started := s.deps.clock.Now()
		err := s.runOnce(ctx, ls)
		ok := err == nil
		result := "success"
		if !ok {
			result = "failure"
		}
		s.deps.metrics.execExits.WithLabelValues(s.cfg.Name, result).Inc()
		s.deps.logger.Info("exec source process exited", "source", s.cfg.Name, "command", s.cfg.Command[0], "err", err)
		if ctx.Err() != nil || s.cfg.Restart == "never" || s.cfg.Restart == "on_failure" && ok {
			return nil
		}
		if s.deps.clock.Now().Sub(started) > 10*backoff { // it ran fine for a while: start over from the initial backoff
			backoff = s.cfg.RestartBackoff
		}
		if !clock.Sleep(ctx, s.deps.clock, backoff) {
			return nil
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// runOnce starts the process and reads it to the end. On shutdown the process
// gets SIGTERM and its remaining output is still read.
func (s *execSource) runOnce(ctx context.Context, ls *lineSource) error {
	cmd := exec.Command(s.cfg.Command[0], s.cfg.Command[1:]...)
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		s.deps.metrics.sourceErrors.WithLabelValues(s.cfg.Name).Inc()
		return err
	}
	q := newLineQueue(s.cfg.Buffer, 2, func() {
		s.deps.metrics.recordsDropped.WithLabelValues(s.cfg.Name, "buffer_full").Inc()
	})
	readCtx, cancelRead := context.WithCancel(context.Background())
	defer cancelRead()
	bytes := s.deps.metrics.bytesRead.WithLabelValues(s.cfg.Name).Add
	go readLines(readCtx, &countingReader{r: stdout, add: bytes}, 0, s.cfg.MaxLineBytes, q)
	go readLines(readCtx, &countingReader{r: stderr, add: bytes}, 1, s.cfg.MaxLineBytes, q)
	stop := context.AfterFunc(ctx, func() { cmd.Process.Signal(syscall.SIGTERM) })
	defer stop()
	ls.consume(context.Background(), q) // until both pipes reach EOF: the process's last words are kept
	return cmd.Wait()
}
