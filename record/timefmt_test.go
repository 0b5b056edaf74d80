package record

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendTimeMatchesRFC3339Nano(t *testing.T) {
	times := []time.Time{
		time.Date(2026, 11, 23, 20, 31, 2, 0, time.UTC),
		time.Date(2026, 11, 23, 20, 31, 2, 123000000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 1, time.FixedZone("X", -7*3600)),
		time.Date(1970, 1, 1, 0, 0, 0, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 100, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		times = append(times, time.Unix(r.Int64N(1<<35)-1<<34, r.Int64N(1e9)))
	}
	for _, ts := range times {
		want := ts.UTC().Format(time.RFC3339Nano)
		if got := string(appendTime(nil, ts)); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", ts, got, want)
		}
	}
}
