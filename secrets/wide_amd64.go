//go:build amd64 && !purego

package secrets

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// haveWide: the CPU runs the wide scan (AVX2, and BMI2 for RORX). A
// variable, so that tests run the pair scan too.
var haveWide = cpu.X86.HasAVX2 && cpu.X86.HasBMI2

// wideScan and wideScan16 are in wide_amd64.s.
//
//go:noescape
func wideScan(p *byte, n, from int, tab *wideTables, hits *[wideHits]uint64) (nhits, next, runFirst, runLast int)

//go:noescape
func wideScan16(p *byte, n int, tab *wideTables) (hits uint64, digits bool)

// wide_amd64.s holds these numbers as constants: a build that changes them
// here without there fails.
var (
	_ = [1]struct{}{}[wideHits-8]
	_ = [1]struct{}{}[unsafe.Sizeof(wideTables{})-9*32]
)
