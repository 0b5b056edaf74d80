package procinfo

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Handler serves the read-only process API. It routes on the full request
// path, so mount the same handler at "/api/v1/processes",
// "/api/v1/processes/" and "/api/v1/host".
func (p *Provider) Handler() http.Handler { return http.HandlerFunc(p.serveHTTP) }

// ProcessList is the body of GET /api/v1/processes.
type ProcessList struct {
	Time      time.Time `json:"time"`
	Total     int       `json:"total"` // matching processes before limit
	Processes []Process `json:"processes"`
}

// ProcessDetail is the body of GET /api/v1/processes/{pid}.
type ProcessDetail struct {
	Process
	Time      time.Time  `json:"time"`
	Children  []Child    `json:"children"`
	OpenFiles *OpenFiles `json:"open_files,omitempty"`
}

// Child names a direct child process.
type Child struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
}

type errorBody struct {
	Status int    `json:"status"`
	Error  string `json:"error"`
}

const (
	pathProcesses = "/api/v1/processes"
	pathHost      = "/api/v1/host"
)

func (p *Provider) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method %s not allowed: the process API is read-only", r.Method)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == pathProcesses:
		p.serveList(w, r)
	case strings.HasPrefix(path, pathProcesses+"/"):
		p.serveDetail(w, r, path[len(pathProcesses)+1:])
	case path == pathHost:
		h, err := p.Host()
		if err != nil {
			writeError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, h)
	default:
		writeError(w, http.StatusNotFound, "no such endpoint %q", r.URL.Path)
	}
}

func (p *Provider) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var nameRe *regexp.Regexp
	sortBy, limit := "pid", -1
	for k, v := range q {
		val := v[len(v)-1]
		var err error
		switch k {
		case "name":
			if nameRe, err = regexp.Compile(val); err != nil {
				writeError(w, http.StatusBadRequest, "name: %q is not a valid regular expression", val)
				return
			}
		case "sort":
			if !slices.Contains([]string{"pid", "cpu", "rss", "start"}, val) {
				writeError(w, http.StatusBadRequest, "sort: %q is not one of pid, cpu, rss, start", val)
				return
			}
			sortBy = val
		case "limit":
			if limit, err = strconv.Atoi(val); err != nil || limit < 1 {
				writeError(w, http.StatusBadRequest, "limit: %q is not a positive integer", val)
				return
			}
		default:
			writeError(w, http.StatusBadRequest, "unknown query parameter %q (known: name, sort, limit)", k)
			return
		}
	}
	s, err := p.Snapshot()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	out := make([]Process, 0, len(s.Processes))
	for i := range s.Processes {
		if nameRe == nil || nameRe.MatchString(s.Processes[i].Name) {
			out = append(out, p.view(&s.Processes[i]))
		}
	}
	sortProcesses(out, sortBy)
	total := len(out)
	if limit > 0 && limit < len(out) {
		out = out[:limit]
	}
	writeJSON(w, http.StatusOK, ProcessList{Time: s.Time.UTC(), Total: total, Processes: out})
}

// sortProcesses orders by pid ascending, or by cpu, rss or start time
// descending (busiest, largest, newest first); ties by pid.
func sortProcesses(ps []Process, by string) {
	pct := func(p *Process) float64 {
		if p.CPU.Percent == nil {
			return -1
		}
		return *p.CPU.Percent
	}
	slices.SortStableFunc(ps, func(a, b Process) int {
		var c int
		switch by {
		case "cpu":
			c = cmp.Compare(pct(&b), pct(&a))
		case "rss":
			c = cmp.Compare(b.Memory.RSSBytes, a.Memory.RSSBytes)
		case "start":
			c = b.StartTime.Compare(a.StartTime)
		}
		if c != 0 {
			return c
		}
		return a.PID - b.PID
	})
}

func (p *Provider) serveDetail(w http.ResponseWriter, r *http.Request, arg string) {
	pid, err := strconv.Atoi(arg)
	if err != nil || pid < 1 || strings.ContainsAny(arg, "+-") {
		writeError(w, http.StatusBadRequest, "%q is not a process id", arg)
		return
	}
	if len(r.URL.Query()) > 0 {
		writeError(w, http.StatusBadRequest, "a single process takes no query parameters")
		return
	}
	s, err := p.Snapshot()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	pr := s.find(pid)
	if pr == nil {
		writeError(w, http.StatusNotFound, "no process %d", pid)
		return
	}
	d := ProcessDetail{Process: p.view(pr), Time: s.Time.UTC(), Children: []Child{}, OpenFiles: pr.openFiles}
	for i := range s.Processes {
		if c := &s.Processes[i]; c.PPID == pid {
			d.Children = append(d.Children, Child{PID: c.PID, Name: c.Name})
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// view is a process as the API shows it: without the command line when hidden.
func (p *Provider) view(pr *Process) Process {
	v := *pr
	if p.cfg.HideCmdline {
		v.Cmdline = nil
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// An error here is the client going away; there is no one left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Status: status, Error: fmt.Sprintf(format, args...)})
}
