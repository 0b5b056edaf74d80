package parsers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/record"
)

// layoutLabel is one hand-checked record of testdata/layouts.
type layoutLabel struct {
	Lines   int    `json:"lines"`
	Time    string `json:"time"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

var showLayout = flag.String("layout", "", "print every record of this layout that differs from its label (message included)")

// layoutClock is the reading clock the labels assume.
var layoutClock = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// layoutScore counts, for one layout, the labelled records whose time,
// level and message came out right.
type layoutScore struct {
	name                           string
	records, times, levels, bounds int
	messages                       int
	future                         int // records dated more than a day after the clock
	wrong                          []string
}

func (s layoutScore) pct(n int) float64 { return 100 * float64(n) / float64(s.records) }

// scoreLayout parses testdata/layouts/NAME.log with an auto-detecting
// stream and compares the records with the labels. Records are matched to
// labels by the line they end on, so a record split or joined wrongly costs
// the labels it covers.
func scoreLayout(t *testing.T, name string) layoutScore {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "layouts", name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	lf, err := os.ReadFile(filepath.Join("testdata", "layouts", name+".labels.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var labels []layoutLabel
	byEnd := map[int64]int{}
	end := 0
	sc := bufio.NewScanner(bytes.NewReader(lf))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l layoutLabel
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s labels: %v", name, err)
		}
		end += l.Lines
		byEnd[int64(end)] = len(labels)
		labels = append(labels, l)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if end != len(lines) {
		t.Fatalf("%s: labels span %d lines, the log has %d", name, end, len(lines))
	}
	s := newTestStream(t, nil)
	var recs []record.Record
	for i, line := range lines {
		recs = append(recs, s.Feed([]byte(line), record.Position{Offset: int64(i + 1)}, false, layoutClock)...)
	}
	recs = append(recs, s.FlushAll(layoutClock)...)
	score := layoutScore{name: name, records: len(labels)}
	// first[k] is the first line of label k; starts maps a record's first
	// line to it.
	first := make([]int64, len(labels))
	line := int64(1)
	for k, l := range labels {
		first[k] = line
		line += int64(l.Lines)
	}
	starts := map[int64]record.Record{}
	prevEnd := int64(0)
	for _, r := range recs {
		if r.Time.Sub(layoutClock) > 24*time.Hour {
			score.future++
		}
		starts[prevEnd+1] = r
		if _, ok := byEnd[r.Pos.Offset]; ok {
			if k := byEnd[r.Pos.Offset]; first[k] == prevEnd+1 {
				score.bounds++
			}
		}
		prevEnd = r.Pos.Offset
	}
	for k, l := range labels {
		var want time.Time
		if l.Time != "" {
			if want, err = time.Parse(time.RFC3339Nano, l.Time); err != nil {
				t.Fatalf("%s label %d: %v", name, k, err)
			}
		}
		r, ok := starts[first[k]]
		if !ok {
			// The label's lines were joined to the record before: right
			// as far as time and level go when it states neither.
			if l.Time == "" && l.Level == "" {
				score.times++
				score.levels++
			} else {
				score.wrong = append(score.wrong, fmt.Sprintf("line %d: joined to the record before, want %v %q\n\t\t%s", first[k], want, l.Level, lines[first[k]-1]))
			}
			if *showLayout == name {
				t.Logf("%s line %d joined to the record before; want its own record %q", name, first[k], l.Message)
			}
			continue
		}
		timeOK := r.Time.Equal(want)
		levelOK := r.Level().String() == l.Level || (r.Level() == record.LevelNone && l.Level == "")
		if timeOK {
			score.times++
		}
		if levelOK {
			score.levels++
		}
		if r.Message == l.Message {
			score.messages++
		}
		if *showLayout == name && (!timeOK || !levelOK || r.Message != l.Message) {
			t.Logf("%s line %d [%s] got %v %q %q %v\n\twant %v %q %q", name, first[k], r.Format, r.Time.UTC(), r.Level(), r.Message, r.Fields, want, l.Level, l.Message)
		}
		if !timeOK || !levelOK {
			score.wrong = append(score.wrong, fmt.Sprintf("line %d (%s): got time %v level %q, want %v %q\n\t\t%s",
				first[k], r.Format, r.Time.UTC(), r.Level(), want, l.Level, lines[first[k]-1]))
		}
	}
	return score
}

// TestLayouts checks time and level on the labelled lines of real
// software's default layouts: at least 99% right for every layout and
// overall, and no record dated more than a day after the clock. Messages
// and record boundaries are reported (-v) but not held to a bar: where a
// header ends is a judgement the labels make per product.
func TestLayouts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "layouts", "*.labels.ndjson"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no layouts: %v", err)
	}
	var all layoutScore
	var rows []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".labels.ndjson")
		s := scoreLayout(t, name)
		all.records += s.records
		all.times += s.times
		all.levels += s.levels
		all.messages += s.messages
		all.bounds += s.bounds
		rows = append(rows, fmt.Sprintf("%-20s %4d records  time %6.1f%%  level %6.1f%%  message %6.1f%%  records %6.1f%%",
			name, s.records, s.pct(s.times), s.pct(s.levels), s.pct(s.messages), s.pct(s.bounds)))
		if s.future > 0 {
			t.Errorf("%s: %d records dated more than a day after the clock", name, s.future)
		}
		if s.pct(s.times) < 99 || s.pct(s.levels) < 99 {
			t.Errorf("%s: time %.1f%%, level %.1f%% right (want >= 99%%):\n\t%s", name, s.pct(s.times), s.pct(s.levels), strings.Join(s.wrong, "\n\t"))
		}
	}
	sort.Strings(rows)
	t.Logf("per layout:\n%s", strings.Join(rows, "\n"))
	t.Logf("overall: %d layouts, %d records: time %.2f%%, level %.2f%%, message %.2f%%, records %.2f%%",
		len(files), all.records, all.pct(all.times), all.pct(all.levels), all.pct(all.messages), all.pct(all.bounds))
	if all.pct(all.times) < 99 || all.pct(all.levels) < 99 {
		t.Errorf("overall time %.2f%%, level %.2f%% (want >= 99%%)", all.pct(all.times), all.pct(all.levels))
	}
}

// TestLearnerRelearns feeds a stream that changes its header layout half
// way (an application upgraded in place) and checks the new layout is
// adopted within a few lines and every line keeps its time and level.
func TestLearnerRelearns(t *testing.T) {
	s := newTestStream(t, func(c *Config) { c.Multiline = Multiline{Mode: MultilineOff} })
	var lines []string
	var want []time.Time
	base := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	for i := 0; i < 10; i++ {
		ts := base.Add(time.Duration(i) * time.Minute)
		lines = append(lines, ts.Format("060102 150405")+" 4187 WARN storage.BlockReceiver: block "+fmt.Sprint(i))
		want = append(want, ts)
	}
	for i := 10; i < 20; i++ {
		ts := base.Add(time.Duration(i) * time.Minute)
		lines = append(lines, ts.Format("06/01/02 15:04:05")+" WARN scheduler.TaskSetManager: task "+fmt.Sprint(i))
		want = append(want, ts)
	}
	var layouts []string
	for i, l := range lines {
		recs := s.Feed([]byte(l), record.Position{}, false, layoutClock)
		if len(recs) != 1 {
			t.Fatalf("line %d gave %d records", i, len(recs))
		}
		if r := recs[0]; !r.Time.Equal(want[i]) || r.Level() != record.LevelWarn || r.Format != "learned" {
			t.Fatalf("line %d: %v %v %s, want %v warn learned", i, r.Time, r.Level(), r.Format, want[i])
		}
		layouts = append(layouts, s.Layouts()[0].Layout)
	}
	if layouts[9] != "time:yyMMdd HHmmss pid level logger: message" {
		t.Fatalf("first layout %q", layouts[9])
	}
	switched := -1
	for i := 10; i < len(layouts); i++ {
		if layouts[i] == "time:yy/MM/dd HH:mm:ss level logger: message" {
			switched = i
			break
		}
	}
	if switched < 0 || switched > 10+relearnAfter {
		t.Fatalf("relearned at line %d (layouts %q)", switched, layouts[10:])
	}
}
