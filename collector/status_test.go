package collector

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

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
