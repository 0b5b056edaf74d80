package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	promexp "github.com/obsadapter/obsadapter/exporters/prometheus"
	"github.com/obsadapter/obsadapter/parsers"
)

type httpServers struct {
	servers []*http.Server
}

func (h *httpServers) shutdown(ctx context.Context) {
	for _, s := range h.servers {
		s.Shutdown(ctx)
	}
}

// Handler is the main listener's mux: health, the sources API, the live tap, /metrics when
// the Prometheus exporter is on, the process API unless it has its own
// listener, and /-/reload when enabled.
func (c *Collector) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", c.healthz)
	mux.HandleFunc("GET /readyz", c.readyz)
	mux.HandleFunc("GET /api/v1/sources", c.sourcesAPI)
	mux.HandleFunc("GET /api/v1/tap", c.tapHandler)
	if c.cfg.Exporters.Prometheus.Enabled {
		mux.Handle("GET /metrics", promexp.Handler(c.reg, c.cfg.Exporters.Prometheus, c.logger))
	}
	if c.procinfo != nil && c.cfg.Procinfo.Listen == "" {
		c.mountProcinfo(mux)
	}
	if c.cfg.HTTP.EnableReload {
		mux.HandleFunc("POST /-/reload", c.reloadHandler)
	}
	return mux
}

func (c *Collector) mountProcinfo(mux *http.ServeMux) {
	h := c.procinfo.Handler() // routes on the full path; read-only, answers 405 itself
	for _, p := range []string{"/api/v1/processes", "/api/v1/processes/", "/api/v1/host"} {
		mux.Handle(p, h)
	}
}

// startHTTP listens before anything else starts, so a taken port fails the
// start instead of leaving a sidecar without its endpoints.
func (c *Collector) startHTTP() (*httpServers, error) {
	hs := &httpServers{}
	start := func(addr string, h http.Handler) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
		srv, ln := scrapeServer(h, ln, c.metrics.httpRejected.Inc)
		webCfg := c.cfg.HTTP.WebConfigFile
		flags := &web.FlagConfig{WebConfigFile: &webCfg}
		go func() {
			if err := web.Serve(ln, srv, flags, c.logger); err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.logger.Error("http server stopped", "addr", addr, "err", err)
			}
		}()
		hs.servers = append(hs.servers, srv)
		return nil
	}
	if err := start(c.cfg.HTTP.Listen, c.Handler()); err != nil {
		return nil, err
	}
	// Taps stream for minutes: end them when the server shuts down rather
	// than have the shutdown wait for them.
	hs.servers[0].RegisterOnShutdown(c.tap.close)
	if c.procinfo != nil && c.cfg.Procinfo.Listen != "" {
		mux := http.NewServeMux()
		c.mountProcinfo(mux)
		if err := start(c.cfg.Procinfo.Listen, mux); err != nil {
			hs.shutdown(context.Background())
			return nil, fmt.Errorf("procinfo.listen: %w", err)
		}
	}
	return hs, nil
}

// healthz fails only when the adapter itself is wedged: a file source that
// has not completed a pass for a long time while not waiting on the pipeline.
// A slow or unreachable aggregator is backpressure, not a reason to restart.
func (c *Collector) healthz(w http.ResponseWriter, _ *http.Request) {
	now := c.opts.Clock.Now()
	c.mu.Lock()
	srcs := c.sources
	c.mu.Unlock()
	for _, s := range srcs {
		if s.cfg.Type != "file" && s.cfg.Type != "pod" {
			continue
		}
		st := s.status
		st.mu.Lock()
		stuck := !st.ended && !st.sending && !st.lastPass.IsZero() && now.Sub(st.lastPass) > max(time.Minute, 10*s.cfg.PollInterval)
		last := st.lastPass
		st.mu.Unlock()
		if stuck {
			http.Error(w, fmt.Sprintf("source %q has not read since %s", s.cfg.Name, last.Format(time.RFC3339)), http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// readyz is ready once the config is loaded and sources are open, and never
// depends on Fluentd or Prometheus: a sidecar's readiness gates the pod.
func (c *Collector) readyz(w http.ResponseWriter, _ *http.Request) {
	if !c.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	c.mu.Lock()
	srcs := c.sources
	c.mu.Unlock()
	var problems []string
	for _, s := range srcs {
		s.status.mu.Lock()
		if p := s.status.problem; p != "" {
			problems = append(problems, "source "+s.status.name+": "+p)
		}
		s.status.mu.Unlock()
	}
	if len(problems) > 0 {
		http.Error(w, "not ready: "+strings.Join(problems, "; "), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

type apiSource struct {
	Name    string             `json:"name"`
	Type    string             `json:"type"`
	Ended   bool               `json:"ended"`
	Files   []apiFile          `json:"files"`
	Formats map[string]float64 `json:"formats"` // share of records per detected format
	Records uint64             `json:"records"`
	Samples []string           `json:"plain_samples,omitempty"`
	Layouts []apiLayout        `json:"learned_layouts,omitempty"` // header layouts learned per file and stream
	Problem string             `json:"problem,omitempty"`         // why the source reads nothing
}

type apiLayout struct {
	Path string `json:"path,omitempty"`
	parsers.LayoutInfo
}

type apiFile struct {
	Path        string `json:"path"`
	Dev         uint64 `json:"dev"`
	Inode       uint64 `json:"inode"`
	Size        int64  `json:"size"`
	ReadOffset  int64  `json:"read_offset"`
	AckedOffset int64  `json:"acked_offset"`
	LagBytes    int64  `json:"lag_bytes"`
	InFlight    int    `json:"batches_in_flight"`
	Closed      bool   `json:"closed"`
}

func (c *Collector) sourcesAPI(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	srcs := c.sources
	c.mu.Unlock()
	out := struct {
		Sources []apiSource `json:"sources"`
	}{Sources: []apiSource{}}
	for _, s := range srcs {
		st := s.status
		st.mu.Lock()
		a := apiSource{Name: st.name, Type: st.typ, Ended: st.ended, Files: []apiFile{}, Formats: map[string]float64{}}
		for _, n := range st.formats {
			a.Records += n
		}
		for f, n := range st.formats {
			a.Formats[f] = float64(n) / float64(a.Records)
		}
		a.Samples = append([]string(nil), st.samples...)
		a.Problem = st.problem
		for path, ls := range st.layouts {
			for _, l := range ls {
				a.Layouts = append(a.Layouts, apiLayout{Path: path, LayoutInfo: l})
			}
		}
		sort.Slice(a.Layouts, func(i, j int) bool {
			return a.Layouts[i].Path < a.Layouts[j].Path || a.Layouts[i].Path == a.Layouts[j].Path && a.Layouts[i].Stream < a.Layouts[j].Stream
		})
		tracks := st.tracks
		st.mu.Unlock()
		for _, t := range tracks {
			snap := t.snapshot()
			a.Files = append(a.Files, apiFile{
				Path: snap.Path, Dev: snap.ID.Dev, Inode: snap.ID.Ino, Size: snap.Size, ReadOffset: snap.Read,
				AckedOffset: snap.Acked, LagBytes: max(snap.Size-snap.Acked, 0), InFlight: snap.InFlight, Closed: snap.Closed,
			})
		}
		sort.Slice(a.Files, func(i, j int) bool { return a.Files[i].Path < a.Files[j].Path })
		out.Sources = append(out.Sources, a)
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func (c *Collector) reloadHandler(w http.ResponseWriter, _ *http.Request) {
	if err := c.Reload(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintln(w, "reloaded")
}

// scrapeServer serves h on ln with a scrape target's limits: a client has
// 10 s to send its headers and 30 s for the whole request, a response 60 s
// to go out, an idle keep-alive connection 30 s (a scrape interval's worth,
// so Prometheus keeps its connection), and beyond maxConnections open ones
// a new connection is closed at once and counted by rejected.
func scrapeServer(h http.Handler, ln net.Listener, rejected func()) (*http.Server, net.Listener) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
	return srv, &limitListener{Listener: ln, slots: make(chan struct{}, maxConnections), rejected: rejected}
}

// maxConnections bounds the connections open on one HTTP listener: a
// Prometheus or two, kubelet probes and a few people are a handful.
const maxConnections = 128

// limitListener closes connections beyond its slots at once instead of
// letting them queue, so idle or slow clients cannot hold descriptors
// without bound or starve a scrape for long.
type limitListener struct {
	net.Listener
	slots    chan struct{}
	rejected func()
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			// Counted before closing, so a client that sees the close
			// also sees the count.
			l.rejected()
			c.Close()
		}
	}
}

// slotConn gives its slot back once, when closed.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
