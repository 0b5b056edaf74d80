package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHTTP requests every endpoint with every status it can answer, on the
// live /proc, and validates each body against docs/openapi.yaml.
func TestHTTP(t *testing.T) {
	api := loadOpenAPI(t)
	startHelper(t, "serve")
	sl := startSleep(t)
	c := clocktest.New(time.Now())
	p, _ := newTestProvider(t, DefaultConfig(), c, nil)
	if _, err := p.Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute) // a second snapshot, so cpu.percent is present
	self := strconv.Itoa(os.Getpid())
	tests := []struct {
		name, method, url, tmpl string
		status                  int
		errText                 string // in the error body
	}{
		{"list", "GET", "/api/v1/processes", "/api/v1/processes", 200, ""},
		{"list with trailing slash", "GET", "/api/v1/processes/", "/api/v1/processes", 200, ""},
		{"list filtered and sorted", "GET", "/api/v1/processes?name=^(sleep|procinfo)&sort=cpu&limit=2", "/api/v1/processes", 200, ""},
		{"sort by rss", "GET", "/api/v1/processes?sort=rss", "/api/v1/processes", 200, ""},
		{"sort by start", "GET", "/api/v1/processes?sort=start&limit=1", "/api/v1/processes", 200, ""},
		{"HEAD list", "HEAD", "/api/v1/processes", "/api/v1/processes", 200, ""},
		{"bad regex", "GET", "/api/v1/processes?name=(", "/api/v1/processes", 400, "name:"},
		{"bad sort", "GET", "/api/v1/processes?sort=mem", "/api/v1/processes", 400, "sort:"},
		{"bad limit", "GET", "/api/v1/processes?limit=0", "/api/v1/processes", 400, "limit:"},
		{"non-numeric limit", "GET", "/api/v1/processes?limit=ten", "/api/v1/processes", 400, "limit:"},
		{"unknown parameter", "GET", "/api/v1/processes?nmae=x", "/api/v1/processes", 400, "unknown query parameter"},
		{"POST list", "POST", "/api/v1/processes", "/api/v1/processes", 405, "read-only"},
		{"detail", "GET", "/api/v1/processes/" + self, "/api/v1/processes/{pid}", 200, ""},
		{"detail of sleep", "GET", "/api/v1/processes/" + strconv.Itoa(sl.Process.Pid), "/api/v1/processes/{pid}", 200, ""},
		{"missing pid", "GET", "/api/v1/processes/999999999", "/api/v1/processes/{pid}", 404, "no process 999999999"},
		{"malformed pid", "GET", "/api/v1/processes/abc", "/api/v1/processes/{pid}", 400, "not a process id"},
		{"negative pid", "GET", "/api/v1/processes/-1", "/api/v1/processes/{pid}", 400, "not a process id"},
		{"signed pid", "GET", "/api/v1/processes/+1", "/api/v1/processes/{pid}", 400, "not a process id"},
		{"nested path", "GET", "/api/v1/processes/1/fds", "/api/v1/processes/{pid}", 400, "not a process id"},
		{"detail with parameters", "GET", "/api/v1/processes/1?sort=cpu", "/api/v1/processes/{pid}", 400, "no query parameters"},
		{"DELETE detail", "DELETE", "/api/v1/processes/" + self, "/api/v1/processes/{pid}", 405, "read-only"},
		{"host", "GET", "/api/v1/host", "/api/v1/host", 200, ""},
		{"PUT host", "PUT", "/api/v1/host", "/api/v1/host", 405, "read-only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, p.Handler(), tc.method, tc.url)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
			if tc.method == "HEAD" {
				return
			}
			if tc.errText != "" {
				e := decode[errorBody](t, rec)
				if e.Status != tc.status || !strings.Contains(e.Error, tc.errText) {
					t.Errorf("error body %s, want status %d and %q", rec.Body, tc.status, tc.errText)
				}
			}
			method := tc.method
			if tc.status == 405 {
				method = "GET" // the document lists 405 under the only operation, GET
			}
			api.checkResponse(t, tc.tmpl, method, tc.status, rec.Body.Bytes())
		})
	}

	t.Run("unknown path", func(t *testing.T) {
		rec := get(t, p.Handler(), "GET", "/api/v1/nothing")
		if e := decode[errorBody](t, rec); rec.Code != 404 || e.Status != 404 {
			t.Errorf("status %d, body %s", rec.Code, rec.Body)
		}
	})
	t.Run("query semantics", func(t *testing.T) {
		l := decode[ProcessList](t, get(t, p.Handler(), "GET", "/api/v1/processes?name=^sleep$&sort=start"))
		if l.Total < 1 || len(l.Processes) != l.Total {
			t.Fatalf("total %d, %d processes", l.Total, len(l.Processes))
		}
		for i, pr := range l.Processes {
			if pr.Name != "sleep" {
				t.Errorf("name filter let %q through", pr.Name)
			}
			if i > 0 && pr.StartTime.After(l.Processes[i-1].StartTime) {
				t.Errorf("sort=start is not newest first")
			}
		}
		l = decode[ProcessList](t, get(t, p.Handler(), "GET", "/api/v1/processes?sort=rss&limit=3"))
		if len(l.Processes) != 3 || l.Total <= 3 {
			t.Fatalf("limit: %d of %d", len(l.Processes), l.Total)
		}
		for i := 1; i < len(l.Processes); i++ {
			if l.Processes[i].Memory.RSSBytes > l.Processes[i-1].Memory.RSSBytes {
				t.Errorf("sort=rss is not largest first")
			}
		}
	})
}

// TestHTTPFixture validates the fixture's answers, which have the fields a
// live run may lack (cgroup limits, zombies, unreadable fields).
func TestHTTPFixture(t *testing.T) {
	api := loadOpenAPI(t)
	p, _ := newFixtureProvider(t, fixtureConfig())
	for _, tc := range []struct{ url, tmpl string }{
		{"/api/v1/processes", "/api/v1/processes"},
		{"/api/v1/processes/100", "/api/v1/processes/{pid}"},
		{"/api/v1/processes/101", "/api/v1/processes/{pid}"},
		{"/api/v1/host", "/api/v1/host"},
	} {
		rec := get(t, p.Handler(), "GET", tc.url)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", tc.url, rec.Code, rec.Body)
		}
		api.checkResponse(t, tc.tmpl, "GET", 200, rec.Body.Bytes())
	}
}

func TestHideCmdline(t *testing.T) {
	cfg := fixtureConfig()
	cfg.HideCmdline = true
	p, _ := newFixtureProvider(t, cfg)
	for _, url := range []string{"/api/v1/processes", "/api/v1/processes/100"} {
		rec := get(t, p.Handler(), "GET", url)
		if strings.Contains(rec.Body.String(), `"cmdline"`) || strings.Contains(rec.Body.String(), "--listen") {
			t.Errorf("%s shows the command line: %s", url, rec.Body)
		}
	}
}

// TestUnreadableProcRoot: a proc root that vanishes gives 500 with a JSON
// error, not a panic or an empty list.
func TestUnreadableProcRoot(t *testing.T) {
	api := loadOpenAPI(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "proc")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("btime 1700000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ProcRoot = root
	p, _ := newTestProvider(t, cfg, clocktest.New(fixtureTime), nil)
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, tmpl string }{
		{"/api/v1/processes", "/api/v1/processes"},
		{"/api/v1/processes/1", "/api/v1/processes/{pid}"},
		{"/api/v1/host", "/api/v1/host"},
	} {
		rec := get(t, p.Handler(), "GET", tc.url)
		if rec.Code != 500 {
			t.Errorf("%s: status %d, want 500", tc.url, rec.Code)
		}
		api.checkResponse(t, tc.tmpl, "GET", 500, rec.Body.Bytes())
	}
}
