package collector

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/record"
	"github.com/prometheus/client_golang/prometheus"
)

// The live tap: `GET /api/v1/tap` streams the records flowing through the
// adapter as NDJSON, for a person debugging a pipeline (`obsadapter tap`).
// Sources offer their records to the hub at two stages; a subscriber gets
// copies of the ones its filter selects. The pipeline never waits for a
// tap: a subscriber whose queue is full misses records, which are counted
// and announced in the stream.

// tapStage is where in the pipeline records are offered.
type tapStage uint8

const (
	tapParsed    tapStage = iota // as parsed, before processors
	tapProcessed                 // after processors: what the exporters get
)

func (s tapStage) String() string {
	if s == tapProcessed {
		return "processed"
	}
	return "parsed"
}

const (
	// maxTaps bounds concurrent subscribers; each also holds one of the
	// listener's connections.
	maxTaps = 4
	// tapQueueBytes bounds the encoded records waiting for one subscriber
	// (it may be exceeded by the last record let in). Beyond it, records
	// are dropped for that subscriber.
	tapQueueBytes = 1 << 20
	// tapFlushInterval is how often the stream is flushed to the client,
	// its write deadline extended and a note of drops written.
	tapFlushInterval = 250 * time.Millisecond
	// tapWriteTimeout is how long one flush may wait for a client that does
	// not read: then the tap ends, the pipeline never having waited.
	tapWriteTimeout = 10 * time.Second
	// tapShutdownGrace is how long a tap has at shutdown to write its end
	// note before a write blocked on a client that does not read is cut.
	tapShutdownGrace   = time.Second
	tapDefaultDuration = time.Minute
	tapMaxDuration     = 10 * time.Minute
)

// Values of http.tap: which clients may open a tap.
const (
	tapLoopback = "loopback" // only clients on a loopback address: kubectl exec, the adapter's own host
	tapAny      = "any"      // any client the web config admits
	tapOff      = "off"
)

// tapHub hands offered records to the subscribers.
type tapHub struct {
	// subs is the current subscribers, replaced whole when one comes or
	// goes; nil when there are none, so that an offer then costs one
	// atomic load.
	subs atomic.Pointer[[]*tapSub]
	mu   sync.Mutex // serialises changes to subs and closed
	// closed is set at shutdown: no new subscriber, the current ones end.
	closed bool

	sent, dropped prometheus.Counter
	active        prometheus.Gauge
}

func newTapHub(reg prometheus.Registerer) *tapHub {
	h := &tapHub{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_tap_records_sent_total", Help: "Records written to live tap clients (GET /api/v1/tap, obsadapter tap).",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "obsadapter_tap_records_dropped_total", Help: "Records a live tap missed because its queue was full (the client read slower than records flowed); the pipeline never waits for a tap.",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "obsadapter_tap_subscribers", Help: "Live taps open now (at most 4).",
		}),
	}
	reg.MustRegister(h.sent, h.dropped, h.active)
	return h
}

// tapFilter selects the records a subscriber gets.
type tapFilter struct {
	stage    tapStage
	source   string       // "" for every source
	minLevel record.Level // LevelNone for every record, with a level or not
}

func (f *tapFilter) match(r *record.Record) bool {
	return (f.source == "" || r.Source == f.source) && (f.minLevel == record.LevelNone || r.Level() >= f.minLevel)
}

// tapSub is one subscriber: a bounded queue of encoded records that offers
// fill and its handler empties.
type tapSub struct {
	filter tapFilter
	mu     sync.Mutex
	queue  []byte // NDJSON lines waiting to be written
	// missed counts records dropped since the handler last looked.
	missed uint64
	ready  chan struct{} // holds a token while queue has lines
	done   chan struct{} // closed when the hub closes
}

// errTooManyTaps and errTapClosed are why subscribe refuses.
var (
	errTooManyTaps = fmt.Errorf("%d taps are already open; try again when one ends", maxTaps)
	errTapClosed   = errors.New("the adapter is shutting down")
)

func (h *tapHub) subscribe(f tapFilter) (*tapSub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errTapClosed
	}
	var cur []*tapSub
	if p := h.subs.Load(); p != nil {
		cur = *p
	}
	if len(cur) >= maxTaps {
		return nil, errTooManyTaps
	}
	s := &tapSub{filter: f, ready: make(chan struct{}, 1), done: make(chan struct{})}
	next := append(slices.Clone(cur), s)
	h.subs.Store(&next)
	h.active.Set(float64(len(next)))
	return s, nil
}

func (h *tapHub) unsubscribe(s *tapSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.subs.Load()
	if p == nil {
		return
	}
	next := slices.DeleteFunc(slices.Clone(*p), func(x *tapSub) bool { return x == s })
	if len(next) == 0 {
		h.subs.Store(nil)
	} else {
		h.subs.Store(&next)
	}
	h.active.Set(float64(len(next)))
}

// close ends every subscriber and refuses new ones: the HTTP server's
// shutdown would otherwise wait for taps that stream for minutes.
func (h *tapHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	if p := h.subs.Load(); p != nil {
		for _, s := range *p {
			close(s.done)
		}
	}
}

// offer hands records at a stage to the subscribers that want them. It
// never blocks and keeps no reference to recs (the pipeline reuses batch
// arrays): each subscriber gets its own encoded copy. With no subscriber it
// costs one atomic load. A nil hub (sources built by tests alone) takes
// nothing.
func (h *tapHub) offer(stage tapStage, recs []record.Record) {
	if h == nil {
		return
	}
	p := h.subs.Load()
	if p == nil {
		return
	}
	for _, s := range *p {
		if s.filter.stage == stage {
			if n := s.take(recs); n > 0 {
				h.dropped.Add(float64(n))
			}
		}
	}
}

// take queues the records the filter selects and returns how many it
// dropped because the queue was full.
func (s *tapSub) take(recs []record.Record) (dropped int) {
	queued := false
	s.mu.Lock()
	for i := range recs {
		r := &recs[i]
		if !s.filter.match(r) {
			continue
		}
		if len(s.queue) >= tapQueueBytes {
			dropped++
			continue
		}
		s.queue = append(r.AppendJSON(s.queue), '\n')
		queued = true
	}
	s.missed += uint64(dropped)
	s.mu.Unlock()
	if queued {
		select {
		case s.ready <- struct{}{}:
		default: // a token is already there
		}
	}
	return dropped
}

// swap hands the queued lines to the handler in exchange for its emptied
// buffer, so the two buffers alternate without allocating.
func (s *tapSub) swap(empty []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.queue
	s.queue = empty[:0]
	return out
}

// takeMissed returns the records dropped since the last call.
func (s *tapSub) takeMissed() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.missed
	s.missed = 0
	return n
}

// tapRequest is a parsed GET /api/v1/tap.
type tapRequest struct {
	filter   tapFilter
	duration time.Duration
	limit    int // 0: no limit
}

// parseTapRequest reads the query; sources are the names that exist. Any
// problem is a message for a 400.
func parseTapRequest(q url.Values, sources []string) (tapRequest, error) {
	req := tapRequest{duration: tapDefaultDuration}
	for k, v := range q {
		if len(v) != 1 {
			return req, fmt.Errorf("%s: give it once", k)
		}
		val := v[0]
		switch k {
		case "source":
			if !slices.Contains(sources, val) {
				return req, fmt.Errorf("source: no source named %q; the sources are: %s", val, strings.Join(sources, ", "))
			}
			req.filter.source = val
		case "level":
			l, ok := record.LevelFromString(strings.ToLower(val))
			if !ok {
				return req, fmt.Errorf("level: %q is not one of trace, debug, info, warn, error, fatal", val)
			}
			req.filter.minLevel = l
		case "stage":
			switch val {
			case "parsed":
				req.filter.stage = tapParsed
			case "processed":
				req.filter.stage = tapProcessed
			default:
				return req, fmt.Errorf("stage: %q is not parsed or processed", val)
			}
		case "duration":
			d, err := time.ParseDuration(val)
			if err != nil {
				return req, fmt.Errorf("duration: %q is not a duration such as 30s or 5m", val)
			}
			if d <= 0 || d > tapMaxDuration {
				return req, fmt.Errorf("duration: %s is outside (0, %s]; a tap lasts at most %s", d, tapMaxDuration, tapMaxDuration)
			}
			req.duration = d
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return req, fmt.Errorf("limit: %q is not a positive number of records", val)
			}
			req.limit = n
		default:
			return req, fmt.Errorf("unknown parameter %q; the parameters are source, level, stage, duration and limit", k)
		}
	}
	return req, nil
}

// tapNote is a line of the stream that is not a record. Records start with
// {"time" or {"observed_time", notes with {"tap". A "dropped" note has
// Count, the records missed since the last note; the "end" note, the last
// line of a stream that ended as asked, has the others.
type tapNote struct {
	Tap     string `json:"tap"` // "dropped" or "end"
	Count   uint64 `json:"count"`
	Reason  string `json:"reason"`  // duration, limit or shutdown
	Records int    `json:"records"` // records written in all
	Dropped uint64 `json:"dropped"` // records missed in all
}

func appendNote(dst []byte, n tapNote) []byte {
	dst = append(dst, `{"tap":`...)
	dst = record.AppendJSONString(dst, n.Tap)
	if n.Tap == "dropped" {
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendUint(dst, n.Count, 10)
	} else {
		dst = append(dst, `,"reason":`...)
		dst = record.AppendJSONString(dst, n.Reason)
		dst = append(dst, `,"records":`...)
		dst = strconv.AppendInt(dst, int64(n.Records), 10)
		dst = append(dst, `,"dropped":`...)
		dst = strconv.AppendUint(dst, n.Dropped, 10)
	}
	return append(dst, "}\n"...)
}

// tapAllowed tells whether http.tap lets this client in.
func tapAllowed(mode, remoteAddr string) bool {
	switch mode {
	case tapAny:
		return true
	case tapLoopback:
		host, _, err := net.SplitHostPort(remoteAddr)
		if err != nil {
			return false
		}
		a, err := netip.ParseAddr(host)
		return err == nil && a.Unmap().IsLoopback()
	}
	return false
}

// tapHandler serves GET /api/v1/tap.
func (c *Collector) tapHandler(w http.ResponseWriter, r *http.Request) {
	mode := c.cfg.HTTP.Tap
	if !tapAllowed(mode, r.RemoteAddr) {
		msg := "the tap is off (http.tap: off)"
		if mode == tapLoopback {
			msg = "the tap answers only clients on a loopback address (http.tap: loopback); run obsadapter tap inside the pod (kubectl exec) or set http.tap: any"
		}
		http.Error(w, msg, http.StatusForbidden)
		return
	}
	c.mu.Lock()
	names := make([]string, 0, len(c.sources))
	for _, s := range c.sources {
		names = append(names, s.cfg.Name)
	}
	c.mu.Unlock()
	req, err := parseTapRequest(r.URL.Query(), names)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodHead {
		// The GET pattern also routes HEAD, which has no body to stream to.
		w.Header().Set("Content-Type", "application/x-ndjson")
		return
	}
	sub, err := c.tap.subscribe(req.filter)
	if err != nil {
		code := http.StatusTooManyRequests
		if errors.Is(err, errTapClosed) {
			code = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), code)
		return
	}
	defer c.tap.unsubscribe(sub)
	c.tap.stream(w, r, sub, req, c.opts.Clock)
}

// stream writes the subscriber's records until the duration or limit is
// reached, the hub closes or the client goes away. It is the only place
// that waits on the client, and it holds no lock while it does.
func (h *tapHub) stream(w http.ResponseWriter, r *http.Request, sub *tapSub, req tapRequest, clk clock.Clock) {
	rc := http.NewResponseController(w)
	// The server's write timeout counts from the request; a tap outlives
	// it, so every flush moves the deadline on instead.
	extend := func() error {
		err := rc.SetWriteDeadline(clk.Now().Add(tapWriteTimeout))
		if errors.Is(err, http.ErrNotSupported) {
			return nil
		}
		return err
	}
	if extend() != nil {
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	defer cutAtShutdown(rc, sub, clk)()
	end := clk.NewTimer(req.duration)
	defer end.Stop()
	tick := clk.NewTicker(tapFlushInterval)
	defer tick.Stop()

	var buf []byte // lines handed over by swap
	var out []byte // notes
	written := 0
	var missed uint64
	reason := ""
	for reason == "" {
		select {
		case <-r.Context().Done():
			return // the client went away; nobody reads an end note
		case <-sub.done:
			reason = "shutdown"
		case <-end.C():
			reason = "duration"
		case <-sub.ready:
			buf = sub.swap(buf)
			lines := buf
			if req.limit > 0 {
				lines = firstLines(buf, req.limit-written)
			}
			n := bytes.Count(lines, []byte{'\n'})
			if writeChunks(w, lines, extend) != nil {
				return
			}
			written += n
			h.sent.Add(float64(n))
			if req.limit > 0 && written >= req.limit {
				reason = "limit"
			}
		case <-tick.C():
			if n := sub.takeMissed(); n > 0 {
				missed += n
				out = appendNote(out[:0], tapNote{Tap: "dropped", Count: n})
				if _, err := w.Write(out); err != nil {
					return
				}
			}
			if extend() != nil || rc.Flush() != nil {
				return
			}
		}
	}
	missed += sub.takeMissed()
	if extend() != nil {
		return
	}
	w.Write(appendNote(out[:0], tapNote{Tap: "end", Reason: reason, Records: written, Dropped: missed}))
	rc.Flush()
}

// cutAtShutdown watches for the hub's close while a stream runs: a handler
// blocked writing to a client that does not read would otherwise hold the
// HTTP server's shutdown until its write deadline. After tapShutdownGrace
// the write is cut by a deadline in the past. The returned function ends
// the watch and waits for it, so the deadline is never set once the
// handler has returned and the connection may serve another request.
func cutAtShutdown(rc *http.ResponseController, sub *tapSub, clk clock.Clock) (stop func()) {
	finished, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-finished:
			return
		case <-sub.done:
		}
		grace := clk.NewTimer(tapShutdownGrace)
		defer grace.Stop()
		select {
		case <-finished:
		case <-grace.C():
			rc.SetWriteDeadline(time.Unix(1, 0))
		}
	}()
	return func() { close(finished); <-watched }
}

// tapWriteChunk is how much of the stream one write deadline covers, so
// that a client reading slowly but steadily keeps its tap (and misses
// records) while one that stopped loses it.
const tapWriteChunk = 64 << 10

// writeChunks writes b, moving the write deadline on before each chunk.
func writeChunks(w http.ResponseWriter, b []byte, extend func() error) error {
	for len(b) > 0 {
		n := min(len(b), tapWriteChunk)
		if err := extend(); err != nil {
			return err
		}
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// firstLines is the first n lines of b.
func firstLines(b []byte, n int) []byte {
	end := 0
	for range n {
		i := bytes.IndexByte(b[end:], '\n')
		if i < 0 {
			return b
		}
		end += i + 1
	}
	return b[:end]
}
