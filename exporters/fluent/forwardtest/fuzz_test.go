package forwardtest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeMessage: whatever a peer sends, decoding returns an error or a
// message, never panics or runs away.
func FuzzDecodeMessage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.client.bin"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0x93, 0xa1, 'a', 0xc4, 0x01, 0x90, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := DecodeStream(b)
		for _, m := range msgs {
			for _, e := range m.Entries {
				e.Map()
			}
		}
	})
}
