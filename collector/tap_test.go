package collector

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/clock"
	"github.com/obsadapter/obsadapter/clock/clocktest"
	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func tapRec(source string, sev record.Severity, msg string) record.Record {
	return record.Record{ObservedTime: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), Severity: sev, Message: msg, Source: source}
}

// queuedMessages empties a subscriber's queue and returns the messages in it.
func queuedMessages(t *testing.T, s *tapSub) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(s.swap(nil))))
	for sc.Scan() {
		var r record.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("queued line is not a record: %s", sc.Text())
		}
		out = append(out, r.Message)
	}
	return out
}

func TestTapFilters(t *testing.T) {
	recs := []record.Record{
		tapRec("app", 0, "app none"),
		tapRec("app", record.SeverityDebug, "app debug"),
		tapRec("app", record.SeverityWarn, "app warn"),
		tapRec("app", record.SeverityError+2, "app error3"),
		tapRec("db", record.SeverityInfo, "db info"),
		tapRec("db", record.SeverityFatal, "db fatal"),
	}
	tests := []struct {
		name   string
		filter tapFilter
		offer  tapStage
		want   []string
	}{
		{"everything", tapFilter{}, tapParsed, []string{"app none", "app debug", "app warn", "app error3", "db info", "db fatal"}},
		{"one source", tapFilter{source: "db"}, tapParsed, []string{"db info", "db fatal"}},
		{"at or above warn, records without a level left out", tapFilter{minLevel: record.LevelWarn}, tapParsed, []string{"app warn", "app error3", "db fatal"}},
		{"source and level", tapFilter{source: "app", minLevel: record.LevelError}, tapParsed, []string{"app error3"}},
		{"trace keeps every record with a level", tapFilter{minLevel: record.LevelTrace}, tapParsed, []string{"app debug", "app warn", "app error3", "db info", "db fatal"}},
		{"a processed tap ignores parsed offers", tapFilter{stage: tapProcessed}, tapParsed, nil},
		{"a parsed tap ignores processed offers", tapFilter{stage: tapParsed}, tapProcessed, nil},
		{"a processed tap takes processed offers", tapFilter{stage: tapProcessed, source: "db"}, tapProcessed, []string{"db info", "db fatal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTapHub(prometheus.NewRegistry())
			s, err := h.subscribe(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			h.offer(tt.offer, recs)
			got := queuedMessages(t, s)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// A subscriber that never reads holds at most its queue's bound; the rest is
// dropped, counted, and remembered for the stream's note, and offers go on
// returning at once.
func TestTapQueueBoundedDropsCounted(t *testing.T) {
	h := newTapHub(prometheus.NewRegistry())
	stalled, _ := h.subscribe(tapFilter{})
	other, _ := h.subscribe(tapFilter{source: "quiet"})
	msg := strings.Repeat("x", 1000)
	batch := make([]record.Record, 100)
	for i := range batch {
		batch[i] = tapRec("app", record.SeverityInfo, msg)
	}
	const batches = 50 // 5000 records of about 1.1 KB: far beyond 1 MiB
	for range batches {
		h.offer(tapParsed, batch)
	}
	lineLen := len(batch[0].AppendJSON(nil)) + 1
	queued := len(stalled.swap(nil))
	if queued > tapQueueBytes+lineLen || queued < tapQueueBytes {
		t.Fatalf("queue holds %d bytes, want the bound %d (plus at most one record of %d)", queued, tapQueueBytes, lineLen)
	}
	dropped := batches*len(batch) - queued/lineLen
	if got := testutil.ToFloat64(h.dropped); got != float64(dropped) {
		t.Errorf("obsadapter_tap_records_dropped_total = %v, want %d", got, dropped)
	}
	if got := stalled.takeMissed(); got != uint64(dropped) {
		t.Errorf("missed = %d, want %d", got, dropped)
	}
	if got := stalled.takeMissed(); got != 0 {
		t.Errorf("missed again = %d, want 0 once taken", got)
	}
	if n := len(other.swap(nil)); n != 0 || other.takeMissed() != 0 {
		t.Errorf("a subscriber whose filter matches nothing queued %d bytes", n)
	}
}

// The pipeline reuses its batch arrays: what a subscriber queued must not
// change when the offered records do afterwards.
func TestTapOfferKeepsNoReference(t *testing.T) {
	h := newTapHub(prometheus.NewRegistry())
	s, _ := h.subscribe(tapFilter{})
	recs := []record.Record{tapRec("app", record.SeverityInfo, "original")}
	h.offer(tapParsed, recs)
	recs[0].Message = "overwritten by the next batch"
	if got := queuedMessages(t, s); len(got) != 1 || got[0] != "original" {
		t.Fatalf("queued %q, want [original]", got)
	}
}

// With nobody tapping, an offer costs an atomic load and allocates nothing,
// also after the last subscriber left, and a nil hub takes nothing.
func TestTapOfferWithoutSubscribersAllocatesNothing(t *testing.T) {
	recs := []record.Record{tapRec("app", record.SeverityInfo, "m"), tapRec("app", record.SeverityError, "n")}
	h := newTapHub(prometheus.NewRegistry())
	s, _ := h.subscribe(tapFilter{})
	h.unsubscribe(s)
	tests := []struct {
		name string
		hub  *tapHub
	}{
		{"never subscribed", newTapHub(prometheus.NewRegistry())},
		{"after the last unsubscribed", h},
		{"nil hub", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.hub != nil && tt.hub.subs.Load() != nil {
				t.Fatal("subscriber list not empty")
			}
			if n := testing.AllocsPerRun(100, func() { tt.hub.offer(tapParsed, recs) }); n != 0 {
				t.Fatalf("offer allocates %v times per call", n)
			}
		})
	}
}

func BenchmarkTapOffer(b *testing.B) {
	recs := make([]record.Record, 1024) // one full batch
	for i := range recs {
		recs[i] = tapRec("app", record.SeverityInfo, "GET /api/v1/orders 200 12ms")
	}
	for _, bb := range []struct {
		name    string
		filter  *tapFilter
		reading bool // the queue is emptied after each offer, else it stays full
	}{
		{"no subscriber", nil, false},
		{"subscriber of another source", &tapFilter{source: "db"}, false},
		{"stalled subscriber of every record", &tapFilter{}, false},
		{"reading subscriber of every record", &tapFilter{}, true},
	} {
		b.Run(bb.name, func(b *testing.B) {
			h := newTapHub(prometheus.NewRegistry())
			var s *tapSub
			if bb.filter != nil {
				s, _ = h.subscribe(*bb.filter)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.offer(tapParsed, recs)
				if bb.reading {
					s.queue = s.queue[:0]
				}
			}
		})
	}
}

func TestTapSubscribeBounded(t *testing.T) {
	h := newTapHub(prometheus.NewRegistry())
	var subs []*tapSub
	for range maxTaps {
		s, err := h.subscribe(tapFilter{})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if got := testutil.ToFloat64(h.active); got != maxTaps {
		t.Errorf("obsadapter_tap_subscribers = %v, want %d", got, maxTaps)
	}
	if _, err := h.subscribe(tapFilter{}); err != errTooManyTaps {
		t.Fatalf("subscriber %d: err %v, want errTooManyTaps", maxTaps+1, err)
	}
	h.unsubscribe(subs[0])
	if _, err := h.subscribe(tapFilter{}); err != nil {
		t.Fatalf("after one left: %v", err)
	}
	h.close()
	for i, s := range subs[1:] {
		select {
		case <-s.done:
		default:
			t.Errorf("subscriber %d not told of the close", i+1)
		}
	}
	if _, err := h.subscribe(tapFilter{}); err != errTapClosed {
		t.Fatalf("after close: err %v, want errTapClosed", err)
	}
}

func TestParseTapRequest(t *testing.T) {
	sources := []string{"app", "db"}
	tests := []struct {
		name, query string
		want        tapRequest
		wantErr     string
	}{
		{name: "defaults", query: "", want: tapRequest{duration: time.Minute}},
		{name: "everything", query: "source=db&level=WARN&stage=processed&duration=90s&limit=5",
			want: tapRequest{filter: tapFilter{stage: tapProcessed, source: "db", minLevel: record.LevelWarn}, duration: 90 * time.Second, limit: 5}},
		{name: "the longest tap", query: "duration=10m", want: tapRequest{duration: 10 * time.Minute}},
		{name: "too long", query: "duration=10m1s", wantErr: "a tap lasts at most 10m0s"},
		{name: "zero duration", query: "duration=0s", wantErr: "outside"},
		{name: "not a duration", query: "duration=soon", wantErr: "not a duration"},
		{name: "unknown source", query: "source=web", wantErr: `no source named "web"; the sources are: app, db`},
		{name: "unknown level", query: "level=loud", wantErr: "not one of trace"},
		{name: "unknown stage", query: "stage=exported", wantErr: "not parsed or processed"},
		{name: "zero limit", query: "limit=0", wantErr: "not a positive number"},
		{name: "negative limit", query: "limit=-3", wantErr: "not a positive number"},
		{name: "repeated parameter", query: "source=app&source=db", wantErr: "give it once"},
		{name: "unknown parameter", query: "sourse=app", wantErr: `unknown parameter "sourse"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := http.NewRequest("GET", "/api/v1/tap?"+tt.query, nil)
			got, err := parseTapRequest(q.URL.Query(), sources)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTapAllowed(t *testing.T) {
	tests := []struct {
		name, mode, remote string
		want               bool
	}{
		{"loopback v4", tapLoopback, "127.0.0.1:5000", true},
		{"loopback v4 range", tapLoopback, "127.8.0.1:5000", true},
		{"loopback v6", tapLoopback, "[::1]:5000", true},
		{"v4-mapped loopback", tapLoopback, "[::ffff:127.0.0.1]:5000", true},
		{"pod address under loopback", tapLoopback, "10.1.2.3:5000", false},
		{"malformed address", tapLoopback, "somewhere", false},
		{"any admits a pod address", tapAny, "10.1.2.3:5000", true},
		{"off refuses loopback", tapOff, "127.0.0.1:5000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tapAllowed(tt.mode, tt.remote); got != tt.want {
				t.Fatalf("tapAllowed(%s, %s) = %v", tt.mode, tt.remote, got)
			}
		})
	}
}

// tapRig is a collector with just what the tap handler needs, served by a
// real HTTP server so that flushes and write deadlines are real.
type tapRig struct {
	t   *testing.T
	c   *Collector
	clk *clocktest.Fake
	srv *httptest.Server
}

func newTapRig(t *testing.T, mode string) *tapRig {
	t.Helper()
	// Deadlines are set on real sockets, so the fake clock starts at the
	// real time.
	clk := clocktest.New(time.Now())
	cfg := DefaultConfig()
	cfg.HTTP.Tap = mode
	c := &Collector{cfg: cfg, opts: Options{Clock: clk}, tap: newTapHub(prometheus.NewRegistry()),
		sources: []*runningSource{{cfg: SourceConfig{Name: "app"}}, {cfg: SourceConfig{Name: "db"}}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/tap", c.tapHandler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &tapRig{t: t, c: c, clk: clk, srv: srv}
}

// open starts a tap and waits until its handler is in its loop (its
// duration timer and flush ticker exist), so offers reach it.
func (r *tapRig) open(t *testing.T, ctx context.Context, query string) *bufio.Scanner {
	t.Helper()
	before := r.clk.Waiters()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.srv.URL+"/api/v1/tap?"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	if !r.clk.BlockUntil(before + 2) {
		t.Fatal("the handler never started its timers")
	}
	return bufio.NewScanner(resp.Body)
}

// waitSent waits until the handler has written n records, so that what a
// test does next (the end of the duration, a shutdown) comes after them.
func (r *tapRig) waitSent(n int) {
	waitUntil(r.t, fmt.Sprintf("%d records written", n), func() bool { return testutil.ToFloat64(r.c.tap.sent) >= float64(n) })
}

// readUntilEnd collects the stream's record messages and notes up to its end.
func readUntilEnd(t *testing.T, sc *bufio.Scanner) (msgs []string, notes []tapNote) {
	t.Helper()
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), `{"tap":`) {
			var n tapNote
			if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
				t.Fatalf("bad note %s", sc.Text())
			}
			notes = append(notes, n)
			if n.Tap == "end" {
				return msgs, notes
			}
			continue
		}
		var rec record.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line is neither a record nor a note: %s", sc.Text())
		}
		msgs = append(msgs, rec.Message)
	}
	t.Fatalf("stream ended without an end note (%v) after %q", sc.Err(), msgs)
	return nil, nil
}

func TestTapHandlerEnds(t *testing.T) {
	batch := func(n int, source string) []record.Record {
		var recs []record.Record
		for i := range n {
			recs = append(recs, tapRec(source, record.SeverityInfo, fmt.Sprintf("%s %d", source, i)))
		}
		return recs
	}
	tests := []struct {
		name    string
		query   string
		act     func(r *tapRig)
		want    []string
		wantEnd tapNote
	}{
		{
			name:  "after limit records",
			query: "limit=3",
			act:   func(r *tapRig) { r.c.tap.offer(tapParsed, batch(5, "app")) },
			want:  []string{"app 0", "app 1", "app 2"}, wantEnd: tapNote{Tap: "end", Reason: "limit", Records: 3},
		},
		{
			name:  "limit counted across offers, filtered",
			query: "limit=4&source=db&stage=processed",
			act: func(r *tapRig) {
				for range 3 {
					r.c.tap.offer(tapProcessed, batch(1, "app"))
					r.c.tap.offer(tapParsed, batch(1, "db"))
					r.c.tap.offer(tapProcessed, batch(2, "db"))
				}
			},
			want: []string{"db 0", "db 1", "db 0", "db 1"}, wantEnd: tapNote{Tap: "end", Reason: "limit", Records: 4},
		},
		{
			name:  "after the duration",
			query: "duration=5s",
			act: func(r *tapRig) {
				r.c.tap.offer(tapParsed, batch(2, "app"))
				r.waitSent(2)
				r.clk.Advance(5 * time.Second)
			},
			want: []string{"app 0", "app 1"}, wantEnd: tapNote{Tap: "end", Reason: "duration", Records: 2},
		},
		{
			name:    "after a minute by default",
			query:   "",
			act:     func(r *tapRig) { r.clk.Advance(time.Minute) },
			wantEnd: tapNote{Tap: "end", Reason: "duration"},
		},
		{
			name:  "at shutdown",
			query: "",
			act: func(r *tapRig) {
				r.c.tap.offer(tapParsed, batch(1, "app"))
				r.waitSent(1)
				r.c.tap.close()
			},
			want: []string{"app 0"}, wantEnd: tapNote{Tap: "end", Reason: "shutdown", Records: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTapRig(t, tapLoopback)
			sc := r.open(t, context.Background(), tt.query)
			tt.act(r)
			msgs, notes := readUntilEnd(t, sc)
			if strings.Join(msgs, "|") != strings.Join(tt.want, "|") {
				t.Errorf("records %q, want %q", msgs, tt.want)
			}
			if end := notes[len(notes)-1]; end != tt.wantEnd {
				t.Errorf("end note %+v, want %+v", end, tt.wantEnd)
			}
			waitUntil(t, "the subscriber to leave", func() bool { return r.c.tap.subs.Load() == nil })
			if got := testutil.ToFloat64(r.c.tap.sent); got != float64(len(tt.want)) {
				t.Errorf("obsadapter_tap_records_sent_total = %v, want %d", got, len(tt.want))
			}
		})
	}
}

// Records beyond the queue are dropped, and the stream says so on the next
// flush and in its end note, so the reader knows it saw a sample.
func TestTapHandlerNotesDrops(t *testing.T) {
	r := newTapRig(t, tapLoopback)
	sc := r.open(t, context.Background(), "duration=10s")
	recs := make([]record.Record, 3000) // about 3 MB in one offer: the queue takes 1 MiB
	for i := range recs {
		recs[i] = tapRec("app", record.SeverityInfo, fmt.Sprintf("%04d %s", i, strings.Repeat("y", 1000)))
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	r.c.tap.offer(tapParsed, recs)
	dropped := uint64(testutil.ToFloat64(r.c.tap.dropped))
	if dropped == 0 {
		t.Fatal("nothing dropped")
	}
	var msgs []string
	var note, end tapNote
	// next reads records until a note comes.
	next := func() tapNote {
		for l := range lines {
			if !strings.HasPrefix(l, `{"tap":`) {
				var rec record.Record
				json.Unmarshal([]byte(l), &rec)
				msgs = append(msgs, rec.Message)
				continue
			}
			var n tapNote
			if err := json.Unmarshal([]byte(l), &n); err != nil {
				t.Fatalf("bad note %s", l)
			}
			return n
		}
		t.Fatal("the stream ended without a note")
		return tapNote{}
	}
	r.clk.Advance(tapFlushInterval)
	if note = next(); note != (tapNote{Tap: "dropped", Count: dropped}) {
		t.Fatalf("note %+v, want %d dropped", note, dropped)
	}
	r.clk.Advance(10 * time.Second)
	if end = next(); end != (tapNote{Tap: "end", Reason: "duration", Records: len(msgs), Dropped: dropped}) {
		t.Errorf("end note %+v after %d records and %d dropped", end, len(msgs), dropped)
	}
	if uint64(len(msgs))+dropped != uint64(len(recs)) {
		t.Errorf("%d records written and %d dropped of %d offered", len(msgs), dropped, len(recs))
	}
	for i, m := range msgs { // the first ones, in order
		if m != recs[i].Message {
			t.Fatalf("record %d is %.10q, want %.10q", i, m, recs[i].Message)
		}
	}
}

// A client that goes away ends its tap and frees its slot.
func TestTapHandlerClientGone(t *testing.T) {
	r := newTapRig(t, tapLoopback)
	ctx, cancel := context.WithCancel(context.Background())
	r.open(t, ctx, "")
	if got := testutil.ToFloat64(r.c.tap.active); got != 1 {
		t.Fatalf("obsadapter_tap_subscribers = %v, want 1", got)
	}
	cancel()
	waitUntil(t, "the subscriber to leave", func() bool { return r.c.tap.subs.Load() == nil })
	if got := testutil.ToFloat64(r.c.tap.active); got != 0 {
		t.Fatalf("obsadapter_tap_subscribers = %v, want 0", got)
	}
}

func TestTapHandlerRefuses(t *testing.T) {
	tests := []struct {
		name, method, mode, remote, query string
		taps                              int // open before the request
		wantCode                          int
		wantBody                          string
	}{
		{"bad parameter", "GET", tapLoopback, "127.0.0.1:4000", "duration=1h", 0, 400, "at most 10m0s"},
		{"unknown source", "GET", tapLoopback, "127.0.0.1:4000", "source=web", 0, 400, `no source named "web"`},
		{"a fifth tap", "GET", tapLoopback, "127.0.0.1:4000", "", maxTaps, 429, "4 taps are already open"},
		{"a remote client under loopback", "GET", tapLoopback, "10.0.0.7:4000", "", 0, 403, "http.tap: any"},
		{"the tap off", "GET", tapOff, "127.0.0.1:4000", "", 0, 403, "http.tap: off"},
		{"HEAD answers without streaming", "HEAD", tapLoopback, "127.0.0.1:4000", "", 0, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTapRig(t, tt.mode)
			for range tt.taps {
				if _, err := r.c.tap.subscribe(tapFilter{}); err != nil {
					t.Fatal(err)
				}
			}
			req := httptest.NewRequest(tt.method, "/api/v1/tap?"+tt.query, nil)
			req.RemoteAddr = tt.remote
			w := httptest.NewRecorder()
			r.c.tapHandler(w, req)
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("got %d %q, want %d mentioning %q", w.Code, w.Body.String(), tt.wantCode, tt.wantBody)
			}
			if n := r.c.tap.subs.Load(); tt.taps == 0 && n != nil {
				t.Fatal("a refused request left a subscriber")
			}
		})
	}
}

// A client that stops reading never holds up offers: they return while the
// handler is stuck writing to its full socket, and what it misses is
// counted. The stuck tap ends once a write has waited tapWriteTimeout, or
// at shutdown after tapShutdownGrace.
func TestTapStalledClient(t *testing.T) {
	tests := []struct {
		name   string
		end    func(r *tapRig)
		within time.Duration // of real time for the tap to end
	}{
		{
			// The fake clock never ticks, so the write deadline set when
			// the tap began ends it, tapWriteTimeout of real time later.
			name:   "the write deadline ends it",
			end:    func(*tapRig) {},
			within: tapWriteTimeout + 5*time.Second,
		},
		{
			name: "shutdown cuts it after the grace",
			end: func(r *tapRig) {
				before := r.clk.Waiters()
				r.c.tap.close()
				if !r.clk.BlockUntil(before + 1) {
					t.Fatal("no grace timer after close")
				}
				r.clk.Advance(tapShutdownGrace)
			},
			within: tapWriteTimeout / 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTapRig(t, tapLoopback)
			conn, err := net.Dial("tcp", r.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.(*net.TCPConn).SetReadBuffer(4 << 10)
			before := r.clk.Waiters()
			started := time.Now()
			fmt.Fprintf(conn, "GET /api/v1/tap?duration=10m HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
			if !r.clk.BlockUntil(before + 2) {
				t.Fatal("the handler never started")
			}
			sub := (*r.c.tap.subs.Load())[0]
			queued := func() int { sub.mu.Lock(); defer sub.mu.Unlock(); return len(sub.queue) }
			recs := make([]record.Record, 100)
			for i := range recs {
				recs[i] = tapRec("app", record.SeverityInfo, strings.Repeat("z", 1000))
			}
			// Offer until the handler no longer empties the queue: it is
			// blocked writing to a socket the client does not read.
			for stuck := false; !stuck; {
				r.c.tap.offer(tapParsed, recs)
				stuck = true
				for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if queued() == 0 {
						stuck = false
						break
					}
				}
			}
			offered := make(chan struct{})
			go func() {
				defer close(offered)
				for range 1000 {
					r.c.tap.offer(tapParsed, recs)
				}
			}()
			deadline := clock.Real.NewTimer(time.Minute)
			defer deadline.Stop()
			select {
			case <-offered:
			case <-deadline.C():
				t.Fatal("offers blocked behind a client that does not read")
			}
			if got := testutil.ToFloat64(r.c.tap.dropped); got < 900*float64(len(recs)) {
				t.Errorf("obsadapter_tap_records_dropped_total = %v, want most of the %d records offered to a full queue", got, 1000*len(recs))
			}
			if r.c.tap.subs.Load() == nil {
				t.Fatal("the tap ended while its client was merely slow")
			}
			ending := time.Now()
			tt.end(r)
			waitUntil(t, "the stalled tap to end", func() bool { return r.c.tap.subs.Load() == nil })
			if took := time.Since(ending); took > tt.within {
				t.Errorf("the stalled tap ended %s after it was told to (%s after it began), want within %s", took, time.Since(started), tt.within)
			}
		})
	}
}

// A tap outlives the server's read and write timeouts: its flushes move the
// write deadline on, and the server stops reading once the request is in.
func TestTapOutlivesServerTimeouts(t *testing.T) {
	c := &Collector{cfg: DefaultConfig(), opts: Options{Clock: clock.Real}, tap: newTapHub(prometheus.NewRegistry()),
		sources: []*runningSource{{cfg: SourceConfig{Name: "app"}}}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(c.tapHandler))
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/tap?duration=1500ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := clock.Real.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C():
				c.tap.offer(tapParsed, []record.Record{tapRec("app", record.SeverityInfo, fmt.Sprint(i))})
			}
		}
	}()
	msgs, notes := readUntilEnd(t, bufio.NewScanner(resp.Body))
	if end := notes[len(notes)-1]; end.Reason != "duration" {
		t.Fatalf("ended with %+v", end)
	}
	if len(msgs) < 15 { // 1.5 s of a record every 50 ms, well past 200 ms
		t.Fatalf("only %d records over the tap's 1.5 s", len(msgs))
	}
}

// Every source type hands its records to batcher.add, which offers them at
// both stages before they enter the batch.
func TestBatcherOffersToTheTap(t *testing.T) {
	rig := newPipelineRig(t, &discardExporter{}, 4)
	deps := rig.deps("app")
	deps.tap = newTapHub(prometheus.NewRegistry())
	parsed, _ := deps.tap.subscribe(tapFilter{stage: tapParsed})
	processed, _ := deps.tap.subscribe(tapFilter{stage: tapProcessed, minLevel: record.LevelError})
	b := newBatcher(SourceConfig{Name: "app"}, deps, func(func(*parsers.Stream) bool) {}, nil)
	b.add([]record.Record{tapRec("app", record.SeverityInfo, "one"), tapRec("app", record.SeverityError, "two")})
	b.add(nil)
	if got := queuedMessages(t, processed); len(got) != 0 {
		t.Errorf("processed stage got %q before the batch was sealed", got)
	}
	b.send() // the processed stage sees a batch as it leaves for the exporters
	if got := queuedMessages(t, parsed); strings.Join(got, "|") != "one|two" {
		t.Errorf("parsed stage got %q", got)
	}
	if got := queuedMessages(t, processed); strings.Join(got, "|") != "two" {
		t.Errorf("processed stage got %q", got)
	}
}

// Each 64 KiB of a large write gets its own write deadline, so a client
// that reads slowly but steadily is not cut in the middle of a burst.
func TestTapWriteChunks(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		wantWrites int
	}{
		{"nothing", 0, 0},
		{"one byte", 1, 1},
		{"one chunk", tapWriteChunk, 1},
		{"a byte more", tapWriteChunk + 1, 2},
		{"a full queue", tapQueueBytes, tapQueueBytes / tapWriteChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			extends := 0
			var events []int // extends seen at each write
			b := bytes.Repeat([]byte("x"), tt.size)
			err := writeChunks(writeCounter{w, func() { events = append(events, extends) }}, b, func() error { extends++; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != tt.wantWrites || extends != tt.wantWrites || w.Body.Len() != tt.size {
				t.Fatalf("%d writes, %d extends, %d bytes; want %d writes, each after its own extend, and %d bytes", len(events), extends, w.Body.Len(), tt.wantWrites, tt.size)
			}
			for i, e := range events {
				if e != i+1 {
					t.Fatalf("write %d came after %d extends", i, e)
				}
			}
		})
	}
}

// writeCounter calls wrote before each write.
type writeCounter struct {
	http.ResponseWriter
	wrote func()
}

func (w writeCounter) Write(p []byte) (int, error) {
	w.wrote()
	return w.ResponseWriter.Write(p)
}
