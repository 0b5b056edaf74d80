package exporters

import (
	"fmt"
	"time"

	"github.com/obsadapter/obsadapter/exporters/buffer"
)

// BatchConfig bounds one unit of delivery (a forward chunk, an OTLP
// request): its records and its encoded size.
type BatchConfig struct {
	MaxRecords int `yaml:"max_records"`
	MaxBytes   int `yaml:"max_bytes"`
}

// BufferConfig bounds what waits for the peer's acknowledgement: in memory,
// or on disk in the exporter's spool under state_dir.
type BufferConfig struct {
	Type       string `yaml:"type"`
	MaxRecords int64  `yaml:"max_records"`
	MaxBytes   int64  `yaml:"max_bytes"`
	OnFull     string `yaml:"on_full"`
}

// RetryConfig is the exponential backoff (with jitter) after a failed
// delivery.
type RetryConfig struct {
	Initial time.Duration `yaml:"initial"`
	Max     time.Duration `yaml:"max"`
}

// ValidateBuffering checks the batch, buffer and retry sections of a
// delivering exporter; messages start with their key paths.
func ValidateBuffering(batch BatchConfig, buf BufferConfig, retry RetryConfig) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if retry.Initial <= 0 {
		add("retry.initial: must be positive, got %s", retry.Initial)
	}
	if retry.Max <= 0 {
		add("retry.max: must be positive, got %s", retry.Max)
	}
	if retry.Initial > retry.Max {
		add("retry.initial: %s is more than retry.max %s", retry.Initial, retry.Max)
	}
	if batch.MaxRecords <= 0 {
		add("batch.max_records: must be positive, got %d", batch.MaxRecords)
	}
	if batch.MaxBytes < 1024 {
		add("batch.max_bytes: must be at least 1024, got %d", batch.MaxBytes)
	}
	if buf.Type != "memory" && buf.Type != "file" {
		add("buffer.type: %q is not memory or file", buf.Type)
	}
	if buf.MaxRecords < int64(batch.MaxRecords) {
		add("buffer.max_records: %d is less than batch.max_records %d", buf.MaxRecords, batch.MaxRecords)
	}
	if buf.MaxBytes < int64(batch.MaxBytes) {
		add("buffer.max_bytes: %d is less than batch.max_bytes %d", buf.MaxBytes, batch.MaxBytes)
	}
	if buf.OnFull != "block" && buf.OnFull != "drop_oldest" {
		add("buffer.on_full: %q is not block or drop_oldest", buf.OnFull)
	}
	return errs
}

// OpenBuffer opens the buffer cfg names, bounded by it: the fsynced spool in
// dir for "file", else memory. recovered counts the records a spool kept
// from an earlier run. opts brings the callbacks.
func OpenBuffer(cfg BufferConfig, dir string, opts buffer.Options) (buf buffer.Buffer, recovered int64, err error) {
	opts.MaxRecords, opts.MaxBytes = cfg.MaxRecords, cfg.MaxBytes
	opts.DropOldest = cfg.OnFull == "drop_oldest"
	if cfg.Type != "file" {
		return buffer.NewMemory(opts), 0, nil
	}
	s, recovered, err := buffer.OpenSpool(dir, opts)
	if err != nil {
		return nil, 0, err
	}
	return s, recovered, nil
}
