package exporters

import (
	"crypto/x509"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

var fallbackOnce sync.Once

// UseFallbackRoots makes the embedded CA roots the ones TLS verifies with
// when the system has none (a scratch image). Exporters call it when they
// make a TLS client that trusts the system's roots: parsing the bundle costs
// a megabyte of heap that an adapter without TLS should not carry.
func UseFallbackRoots() {
	fallbackOnce.Do(func() {
		pool := x509.NewCertPool()
		for r := range bundle.Roots() {
			cert, err := x509.ParseCertificate(r.Certificate)
			if err != nil {
				continue // a bad embedded root cannot be trusted; the rest still can
			}
			if r.Constraint == nil {
				pool.AddCert(cert)
			} else {
				pool.AddCertWithConstraint(cert, r.Constraint)
			}
		}
		x509.SetFallbackRoots(pool)
	})
}
