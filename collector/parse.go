package collector

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/obsadapter/obsadapter/parsers"
	"github.com/obsadapter/obsadapter/record"
)

// Parse reads r to its end with exactly the framing and parsing the daemon
// uses and writes one unified record per line of NDJSON to w; held multiline
// records are flushed at EOF. now pins observed_time and year inference, so
// the output is reproducible. It is `obsadapter parse`. With explain set,
// the header layouts the stream learned are written to it at the end.
func Parse(w io.Writer, r io.Reader, path string, cfg parsers.Config, maxLine int, now time.Time, explain io.Writer) error {
	stream, err := parsers.NewStream(cfg, parsers.Meta{Path: path})
	if err != nil {
		return err
	}
	// Each record is written out before the next chunk is read, so the
	// blocks the stream filled can be carved again at once: the GC then has
	// almost nothing to collect.
	pool := &parsers.BlockPool{}
	stream.ReuseBlocks(pool)
	var retired parsers.Blocks
	out := bufio.NewWriterSize(w, 64<<10)
	var buf []byte
	write := func(recs []record.Record) error {
		for i := range recs {
			buf = recs[i].AppendJSON(buf[:0])
			buf = append(buf, '\n')
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
	fr := newFramer(0, maxLine)
	for {
		for {
			line, end, truncated, ok := fr.next()
			if !ok {
				break
			}
			if err := write(stream.Feed(line, record.Position{Offset: end}, truncated, now)); err != nil {
				return err
			}
		}
		stream.TakeRetired(&retired)
		pool.Release(&retired)
		if _, err := fr.fill(r); err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("reading %s: %w", path, err)
			}
			break
		}
	}
	if line, end, truncated, ok := fr.rest(); ok {
		if err := write(stream.Feed(line, record.Position{Offset: end}, truncated, now)); err != nil {
			return err
		}
	}
	if err := write(stream.FlushAll(now)); err != nil {
		return err
	}
	if explain != nil {
		explainLayouts(explain, path, stream.Layouts())
	}
	return out.Flush()
}

// explainLayouts prints each learned layout in words, e.g.
// "app.log: time:yy/MM/dd HH:mm:ss level logger: message (fits 98.0% of 50 lines)".
func explainLayouts(w io.Writer, path string, ls []parsers.LayoutInfo) {
	if len(ls) == 0 {
		fmt.Fprintf(w, "%s: no header layout learned\n", path)
		return
	}
	for _, l := range ls {
		name := path
		if l.Stream != "" {
			name += " [" + l.Stream + "]"
		}
		fmt.Fprintf(w, "%s: %s (fits %.1f%% of %d lines)\n", name, l.Layout, 100*l.Fit, l.Lines)
	}
}
