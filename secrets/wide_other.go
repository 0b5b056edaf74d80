//go:build !amd64 || purego

package secrets

// haveWide: only amd64 has the wide scan (without the purego tag);
// elsewhere the pair scan serves.
var haveWide = false

func wideScan(p *byte, n, from int, tab *wideTables, hits *[wideHits]uint64) (nhits, next, runFirst, runLast int) {
	panic("secrets: no wide scan on this architecture")
}

func wideScan16(p *byte, n int, tab *wideTables) (hits uint64, digits bool) {
	panic("secrets: no wide scan on this architecture")
}
