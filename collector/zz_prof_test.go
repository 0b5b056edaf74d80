package collector

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
)

func TestZZProfParse(t *testing.T) {
	f, err := os.Open(os.Getenv("ZZ_CORPUS"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	if err := Parse(io.Discard, f, "corpus.log", parsers.DefaultConfig(), 64<<10, now, nil); err != nil {
		t.Fatal(err)
	}
}
