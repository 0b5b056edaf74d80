package exporters

import "time"

// Backoff is the one retry policy: the wait after the n-th consecutive
// failure is initial·2^(n-1) capped at max, with "equal jitter" (half fixed,
// half random, jitter in [0,1)) so that many sidecars do not retry in step.
//
// Two layers use it, each for its own kind of failure, never both for the
// same one: the pipeline's runner retries a batch an exporter refused (a
// retryable error from Export or a Pipeliner's wait: stdout's broken pipe,
// a spool that cannot write); a delivering exporter retries what it has
// accepted (fluent reconnecting to its peer, otlp sending a request again),
// because once Export has returned nil the pipeline no longer holds the
// batch.
func Backoff(n int, initial, max time.Duration, jitter float64) time.Duration {
	d := initial
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(jitter*float64(d/2))
}
