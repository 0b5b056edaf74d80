package exporters

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{1, 0, 50 * time.Millisecond}, {1, 1, 100 * time.Millisecond}, {2, 0, 100 * time.Millisecond},
		{4, 0.5, 600 * time.Millisecond}, {10, 0, 500 * time.Millisecond}, {100, 1, time.Second},
	}
	for _, tt := range tests {
		if got := Backoff(tt.n, 100*time.Millisecond, time.Second, tt.jitter); got != tt.want {
			t.Errorf("Backoff(%d, jitter %v) = %s, want %s", tt.n, tt.jitter, got, tt.want)
		}
	}
}

// The embedded roots are parsed once, however many TLS clients ask.
func TestUseFallbackRootsTwice(t *testing.T) {
	UseFallbackRoots()
	UseFallbackRoots() // x509.SetFallbackRoots panics on a second call
}
