package collector

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// The sources API's parse-quality view: the share of records per format and,
// only when http.expose_samples allows it, the last lines that fell through
// to plain text (they are log content).
func TestSourcesAPIFormatsAndSamples(t *testing.T) {
	for _, expose := range []bool{false, true} {
		st := newSourceStatus("app", "file")
		var recs []record.Record
		for i := 0; i < 6; i++ {
			recs = append(recs, record.Record{Format: "json", Message: "structured"})
		}
		for i := 0; i < 7; i++ { // more than maxSamples: only the last ones are kept
			recs = append(recs, record.Record{Format: "plain", Message: string(rune('a' + i))})
		}
		st.note(recs, expose)
		c := &Collector{sources: []*runningSource{{status: st}}}
		rec := httptest.NewRecorder()
		c.sourcesAPI(rec, httptest.NewRequest("GET", "/api/v1/sources", nil))
		var body struct {
			Sources []struct {
				Formats map[string]float64 `json:"formats"`
				Records uint64             `json:"records"`
				Samples []string           `json:"plain_samples"`
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		s := body.Sources[0]
		if s.Records != 13 || s.Formats["json"] != 6.0/13 || s.Formats["plain"] != 7.0/13 {
			t.Errorf("formats = %v over %d records", s.Formats, s.Records)
		}
		want := 0
		if expose {
			want = maxSamples
		}
		if len(s.Samples) != want || expose && s.Samples[maxSamples-1] != "g" {
			t.Errorf("expose_samples=%v: samples = %q", expose, s.Samples)
		}
	}
}

// The sources API shows the header layout each file's stream learned and
// the share of lines it fits, straight from the stream.
func TestSourcesAPILearnedLayouts(t *testing.T) {
	cfg := parsers.DefaultConfig()
	cfg.Timezone = "UTC"
	stream, err := parsers.NewStream(cfg, parsers.Meta{Source: "app", Path: "/var/log/app/spark.log"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, l := range []string{
		"26/12/03 07:14:05 INFO scheduler.DAGScheduler: Submitting 4 missing tasks",
		"26/12/03 07:14:06 WARN scheduler.TaskSetManager: Lost task 3.0 in stage 1.0",
		"26/12/03 07:14:07 INFO scheduler.TaskSetManager: Starting task 3.1",
	} {
		stream.Feed([]byte(l), record.Position{}, false, now)
	}
	st := newSourceStatus("app", "file")
	st.setLayouts(stream.Path(), stream.Layouts())
	c := &Collector{sources: []*runningSource{{status: st}}}
	rec := httptest.NewRecorder()
	c.sourcesAPI(rec, httptest.NewRequest("GET", "/api/v1/sources", nil))
	var body struct {
		Sources []struct {
			Layouts []struct {
				Path   string  `json:"path"`
				Layout string  `json:"layout"`
				Lines  uint64  `json:"lines"`
				Fit    float64 `json:"fit"`
			} `json:"learned_layouts"`
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	ls := body.Sources[0].Layouts
	if len(ls) != 1 || ls[0].Path != "/var/log/app/spark.log" || ls[0].Layout != "time:yy/MM/dd HH:mm:ss level logger: message" || ls[0].Lines != 3 || ls[0].Fit != 1 {
		t.Fatalf("learned_layouts = %+v", ls)
	}
}

// Learned layouts are kept for at most maxLayoutFiles files, and forgotten
// with their file, so thousands of short-lived files do not pile up.
func TestStatusLayoutsBounded(t *testing.T) {
	st := newSourceStatus("app", "file")
	l := []parsers.LayoutInfo{{Layout: "time level message"}}
	for i := range maxLayoutFiles + 50 {
		st.setLayouts(fmt.Sprintf("/logs/job-%d.log", i), l)
	}
	if n := len(st.layouts); n != maxLayoutFiles {
		t.Fatalf("layouts of %d files kept, want %d", n, maxLayoutFiles)
	}
	st.setLayouts("/logs/job-0.log", l) // a known file is updated, not refused
	st.dropLayouts("/logs/job-0.log")
	if _, ok := st.layouts["/logs/job-0.log"]; ok || len(st.layouts) != maxLayoutFiles-1 {
		t.Fatalf("a released file's layouts were not forgotten (%d kept)", len(st.layouts))
	}
}

// note counts formats a run at a time; runs that alternate must still add up.
func TestStatusNoteCountsRuns(t *testing.T) {
	st := newSourceStatus("app", "file")
	var recs []record.Record
	for _, f := range []string{"json", "json", "plain", "json", "logfmt", "logfmt", "json"} {
		recs = append(recs, record.Record{Format: f})
	}
	st.note(recs, false)
	st.note(recs[:1], false)
	st.note(nil, false)
	want := map[string]uint64{"json": 5, "plain": 1, "logfmt": 2}
	if !reflect.DeepEqual(st.formats, want) {
		t.Fatalf("formats = %v, want %v", st.formats, want)
	}
}
