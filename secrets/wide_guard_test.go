//go:build linux && amd64 && !purego

package secrets

import (
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestWideScanStaysInText: the wide scan reads no byte before or after its
// text. Texts are put against pages that fault when read, at their start
// and at their end, at every length to 600 bytes, through every way in
// (candidates, and each call a long text takes).
func TestWideScanStaysInText(t *testing.T) {
	if !haveWide {
		t.Skip("this CPU has no AVX2 and BMI2: the wide scan is not used here")
	}
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	for _, guard := range [][]byte{mem[:page], mem[2*page:]} {
		if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
			t.Fatal(err)
		}
	}
	wide, _ := bothScans(t, defaultRules())
	body := mem[page : 2*page]
	// Flagged trigrams in every block, so that long texts take several
	// calls; digits for the run window.
	fill := strings.Repeat("key=pas 4111 1111 -x ", page/20)
	for n := wideMin; n <= 600; n++ {
		for _, at := range []int{0, page - n} { // against the guard before, and after
			text := body[at : at+n]
			copy(text, fill[:n])
			s := unsafe.String(&text[0], n)
			wide.candidates(s)
			if n >= 34 {
				var hits [wideHits]uint64
				for from := 2; from < n; {
					_, from, _, _ = wideScan(&text[0], n, from, wideTab, &hits)
				}
			}
		}
	}
}
