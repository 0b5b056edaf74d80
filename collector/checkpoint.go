package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
)

const checkpointFile = "checkpoints.json"

// checkpointEntry is where one file's safe data ends. Identity is device,
// inode and the file's first bytes; the path is only a name for people.
type checkpointEntry struct {
	Source string `json:"source"`
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FP     []byte `json:"fingerprint"` // base64 in JSON
	Offset int64  `json:"offset"`
}

type checkpointDoc struct {
	Version int               `json:"version"`
	Files   []checkpointEntry `json:"files"`
}

// loadCheckpoints reads the state directory's checkpoint file. exists tells
// whether one was there at all: start_at applies only when none was. A
// corrupt file is an error the caller reports and ignores, never a crash.
func loadCheckpoints(dir string) (entries []checkpointEntry, exists bool, err error) {
	if dir == "" {
		return nil, false, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("checkpoint: %w", err)
	}
	var doc checkpointDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, true, fmt.Errorf("checkpoint %s is corrupt (%w); files are read from their beginning", filepath.Join(dir, checkpointFile), err)
	}
	if doc.Version != 1 {
		return nil, true, fmt.Errorf("checkpoint %s has unknown version %d; files are read from their beginning", filepath.Join(dir, checkpointFile), doc.Version)
	}
	for _, e := range doc.Files {
		if e.Offset < 0 || len(e.FP) > fingerprintSize {
			return nil, true, fmt.Errorf("checkpoint %s holds an impossible entry for %q; files are read from their beginning", filepath.Join(dir, checkpointFile), e.Path)
		}
	}
	return doc.Files, true, nil
}

// writeCheckpoints replaces the checkpoint file atomically: a temporary file
// is written and fsynced, renamed over the old one, and the directory is
// fsynced, so a crash leaves either the old or the new file, never a torn one.
func saveCheckpoints(dir string, entries []checkpointEntry) error {
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Source != entries[j].Source {
			return entries[i].Source < entries[j].Source
		}
		return entries[i].Path < entries[j].Path
	})
	data, err := encodeCheckpoints(entries)
	if err != nil {
		return err
	}
	// state_dir may be a fresh emptyDir subpath: make it rather than lose
	// every checkpoint to "no such file or directory".
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(dir, checkpointFile+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, checkpointFile)); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer d.Close()
	return d.Sync()
}

// encodeCheckpoints writes the document one entry per line: encoding it
// whole would grow (and keep, in encoding/json's pool) one buffer the size
// of the file, megabytes with thousands of files.
func encodeCheckpoints(entries []checkpointEntry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"version":1,"files":[`)
	for i := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n ")
		e, err := json.Marshal(&entries[i])
		if err != nil {
			return nil, err
		}
		b.Write(e)
	}
	b.WriteString("\n]}\n")
	return b.Bytes(), nil
}

func (c *Collector) checkpointLoop(ctx context.Context) {
	if c.cfg.StateDir == "" {
		return
	}
	t := c.opts.Clock.NewTicker(c.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			c.writeCheckpoints()
		}
	}
}

func (c *Collector) writeCheckpoints() {
	if c.cfg.StateDir == "" {
		return
	}
	c.mu.Lock()
	// Nothing changed since the last write: with thousands of idle files,
	// rewriting (and fsyncing) the same megabytes every interval is waste.
	seen := make(map[*sourceStatus]uint64, len(c.sources))
	for _, s := range c.sources {
		seen[s.status] = s.status.changes.Load()
	}
	if c.written != nil && maps.Equal(seen, c.written) && len(c.restored) == c.writtenRestored {
		c.mu.Unlock()
		return
	}
	var entries []checkpointEntry
	for _, s := range c.sources {
		entries = append(entries, s.status.checkpoints()...)
	}
	entries = append(entries, c.restored...) // sources removed by a reload keep theirs until they return
	restored := len(c.restored)
	c.mu.Unlock()
	if err := saveCheckpoints(c.cfg.StateDir, entries); err != nil {
		c.metrics.checkpointWrites.WithLabelValues("error").Inc()
		c.logger.Error("writing checkpoints", "err", err)
		return
	}
	c.mu.Lock()
	c.written, c.writtenRestored = seen, restored
	c.mu.Unlock()
	c.metrics.checkpointWrites.WithLabelValues("success").Inc()
}
