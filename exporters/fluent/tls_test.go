package fluent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/obsadapter/obsadapter/exporters/fluent/forwardtest"
)

// selfSigned writes a CA-signed server certificate for 127.0.0.1 and
// returns the server's tls.Config and the CA file.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fluentd-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"fluentd.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, ca
}

func TestTLS(t *testing.T) {
	srvTLS, ca := selfSigned(t)
	tests := []struct {
		name string
		tls  TLSConfig
		ok   bool
	}{
		{"verified by CA", TLSConfig{Enabled: true, CAFile: ca}, true},
		{"server name", TLSConfig{Enabled: true, CAFile: ca, ServerName: "fluentd.test"}, true},
		{"wrong server name", TLSConfig{Enabled: true, CAFile: ca, ServerName: "other.test"}, false},
		{"unknown CA", TLSConfig{Enabled: true}, false},
		{"insecure", TLSConfig{Enabled: true, InsecureSkipVerify: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := forwardtest.Start(t, forwardtest.Options{TLS: srvTLS, SharedKey: "k"})
			cfg := testConfig(s.Addr())
			cfg.TLS = tt.tls
			cfg.SharedKey = "k"
			cfg.ShutdownTimeout = 10 * time.Millisecond
			e := newTestExporter(t, cfg, "")
			timeout := 10 * time.Second
			if !tt.ok {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			err := e.Export(ctx, numbered(0, 5))
			if tt.ok != (err == nil) {
				t.Fatalf("Export: %v", err)
			}
			if tt.ok && s.Stats().Entries != 5 {
				t.Fatalf("entries %d", s.Stats().Entries)
			}
		})
	}
}
