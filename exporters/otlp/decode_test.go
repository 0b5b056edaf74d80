package otlp

import (
	"testing"
	"time"
)

func TestParseResponse(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want outcome
		ok   bool
	}{
		{"empty: full success", nil, outcome{}, true},
		{"partial success", partialSuccess(3, "too old"), outcome{rejected: 3, message: "too old"}, true},
		{"unknown fields skipped", append([]byte{0x10, 0x05, 0x1d, 1, 2, 3, 4}, partialSuccess(1, "x")...), outcome{rejected: 1, message: "x"}, true},
		{"truncated", partialSuccess(3, "too old")[:5], outcome{}, false},
		{"text, not protobuf", []byte("OK"), outcome{}, false},
		{"length beyond the end", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}, outcome{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseResponse(c.in)
			if got != c.want || ok != c.ok {
				t.Errorf("parseResponse: %+v %v, want %+v %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	cases := []struct {
		name      string
		in        []byte
		wantCode  int
		wantMsg   string
		wantDelay time.Duration
		hasDelay  bool
		ok        bool
	}{
		{"code and message", rpcStatus(3, "bad", -1), 3, "bad", 0, false, true},
		{"with RetryInfo", rpcStatus(8, "slow down", 7), 8, "slow down", 7 * time.Second, true, true},
		{"zero RetryInfo delay", rpcStatus(14, "", 0), 14, "", 0, true, true},
		{"truncated", rpcStatus(8, "slow down", 7)[:12], 0, "", 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, ok := parseStatus(c.in)
			if ok != c.ok || ok && (s.code != c.wantCode || s.message != c.wantMsg || s.retryDelay != c.wantDelay || s.hasRetryDelay != c.hasDelay) {
				t.Errorf("parseStatus: %+v %v", s, ok)
			}
		})
	}
}

// FuzzParse: no answer a receiver (or anything in between) sends makes the
// parsers panic.
func FuzzParse(f *testing.F) {
	f.Add(partialSuccess(3, "too old"))
	f.Add(rpcStatus(8, "slow down", 7))
	f.Add([]byte("OK"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseResponse(b)
		parseStatus(b)
		parseRetryInfo(b)
	})
}
