package otlp

import (
	"encoding/binary"
	"time"
)

// The few messages the exporter reads from a receiver, decoded by hand
// like the request is encoded: ExportLogsServiceResponse, google.rpc.Status
// and the RetryInfo in its details.

// fields calls fn for each field of a protobuf message: its number, wire
// type, the varint value (types 0, 1, 5) or the bytes (type 2). It reports
// false if the message is malformed or fn returned false.
func fields(b []byte, fn func(num int, typ int, v uint64, p []byte) bool) bool {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return false
		}
		b = b[n:]
		num, typ := int(key>>3), int(key&7)
		var v uint64
		var p []byte
		switch typ {
		case 0:
			if v, n = binary.Uvarint(b); n <= 0 {
				return false
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return false
			}
			v, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return false
			}
			p, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return false
			}
			v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return false
		}
		if !fn(num, typ, v, p) {
			return false
		}
	}
	return true
}

// parseResponse reads ExportLogsServiceResponse.partial_success (field 1):
// rejected_log_records (1) and error_message (2).
func parseResponse(b []byte) (outcome, bool) {
	var o outcome
	ok := fields(b, func(num, typ int, _ uint64, p []byte) bool {
		if num != 1 || typ != 2 {
			return true
		}
		return fields(p, func(num, typ int, v uint64, p []byte) bool {
			switch {
			case num == 1 && typ == 0:
				o.rejected = int64(v)
			case num == 2 && typ == 2:
				o.message = validUTF8(string(p))
			}
			return true
		})
	})
	if !ok {
		return outcome{}, false // not an OTLP answer (a proxy's text): nothing to count
	}
	return o, true
}

// status is a google.rpc.Status: code (1), message (2), details (3, Any).
type status struct {
	code          int
	message       string
	retryDelay    time.Duration
	hasRetryDelay bool
}

const retryInfoType = "type.googleapis.com/google.rpc.RetryInfo"

func parseStatus(b []byte) (status, bool) {
	var s status
	ok := fields(b, func(num, typ int, v uint64, p []byte) bool {
		switch {
		case num == 1 && typ == 0:
			s.code = int(int32(v))
		case num == 2 && typ == 2:
			s.message = validUTF8(string(p))
		case num == 3 && typ == 2:
			var typeURL string
			var value []byte
			if !fields(p, func(num, typ int, _ uint64, p []byte) bool {
				switch {
				case num == 1 && typ == 2:
					typeURL = string(p)
				case num == 2 && typ == 2:
					value = p
				}
				return true
			}) {
				return false
			}
			if typeURL == retryInfoType {
				if d, ok := parseRetryInfo(value); ok {
					s.retryDelay, s.hasRetryDelay = d, true
				}
			}
		}
		return true
	})
	return s, ok
}

// parseRetryInfo reads RetryInfo.retry_delay (1), a Duration: seconds (1),
// nanos (2).
func parseRetryInfo(b []byte) (time.Duration, bool) {
	var d time.Duration
	found := false
	ok := fields(b, func(num, typ int, _ uint64, p []byte) bool {
		if num != 1 || typ != 2 {
			return true
		}
		found = true
		return fields(p, func(num, typ int, v uint64, _ []byte) bool {
			switch {
			case num == 1 && typ == 0:
				sec := int64(v)
				if sec < 0 || sec > int64(time.Hour/time.Second) {
					sec = int64(time.Hour / time.Second) // bounded by retry.max anyway
				}
				d += time.Duration(sec) * time.Second
			case num == 2 && typ == 0:
				if ns := int32(v); ns > 0 {
					d += time.Duration(ns)
				}
			}
			return true
		})
	})
	return d, ok && found
}
