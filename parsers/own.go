package parsers

import "unsafe"

// unsafeString views b as a string without copying. Callers guarantee that
// b is never written again while the string lives (Stream.ownLine), or that
// the string does not outlive the current line (Stream.loadLine).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
