package procinfo

import (
	"github.com/obsadapter/obsadapter/clock/clocktest"

	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obsadapter/obsadapter/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sink collects records.
type sink struct {
	mu   sync.Mutex
	recs []record.Record
}

func (s *sink) put(r record.Record) { s.mu.Lock(); s.recs = append(s.recs, r); s.mu.Unlock() }
func (s *sink) all() []record.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record.Record(nil), s.recs...)
}

func newTestProvider(t testing.TB, cfg Config, c *clocktest.Fake, s *sink) (*Provider, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	deps := Deps{Registerer: reg, Clock: c}
	if s != nil {
		deps.Sink = s.put
	}
	p, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

// newFixtureProvider reads testdata/proc with what would otherwise come from
// the machine running the tests fixed: page size and the user database.
func newFixtureProvider(t testing.TB, cfg Config) (*Provider, *prometheus.Registry) {
	t.Helper()
	// git does not keep empty directories: the zombie's fd directory is empty.
	if err := os.MkdirAll(filepath.Join("testdata", "proc", "102", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, reg := newTestProvider(t, cfg, clocktest.New(fixtureTime), nil)
	p.r.pageSize = 4096
	p.r.lookupUID = func(uid string) (*user.User, error) {
		if name, ok := map[string]string{"0": "root", "1000": "app"}[uid]; ok {
			return &user.User{Uid: uid, Username: name}, nil
		}
		return nil, user.UnknownUserIdError(0)
	}
	return p, reg
}

func fixtureConfig() Config {
	cfg := DefaultConfig()
	cfg.ProcRoot = filepath.Join("testdata", "proc")
	cfg.SysRoot = filepath.Join("testdata", "sys")
	return cfg
}

func get(t testing.TB, h http.Handler, method, url string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, url, nil))
	return rec
}

func decode[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %s: %v", rec.Body.String(), err)
	}
	return v
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, buf.String())
	}
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }
