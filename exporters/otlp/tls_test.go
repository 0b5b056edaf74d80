package otlp

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
	"strings"
	"testing"
	"time"
)

// testPKI writes a self-signed certificate for 127.0.0.1 and otlp.test,
// usable by the server and as a client certificate, and returns the
// server's tls.Config and the certificate and key files.
func testPKI(t *testing.T, requireClientCert bool) (srv *tls.Config, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otlp-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"otlp.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	if requireClientCert {
		cert, _ := x509.ParseCertificate(der)
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		srv.ClientCAs, srv.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return srv, certFile, keyFile
}

func TestTLS(t *testing.T) {
	cases := []struct {
		name       string
		clientCert bool // the server requires one
		tls        func(ca, cert, key string) TLSConfig
		ok         bool
	}{
		{"verified by CA", false, func(ca, _, _ string) TLSConfig { return TLSConfig{CAFile: ca} }, true},
		{"server name", false, func(ca, _, _ string) TLSConfig { return TLSConfig{CAFile: ca, ServerName: "otlp.test"} }, true},
		{"wrong server name", false, func(ca, _, _ string) TLSConfig { return TLSConfig{CAFile: ca, ServerName: "other.test"} }, false},
		{"unknown CA", false, func(_, _, _ string) TLSConfig { return TLSConfig{} }, false},
		{"insecure_skip_verify", false, func(_, _, _ string) TLSConfig { return TLSConfig{InsecureSkipVerify: true} }, true},
		{"client certificate", true, func(ca, cert, key string) TLSConfig { return TLSConfig{CAFile: ca, CertFile: cert, KeyFile: key} }, true},
		{"client certificate missing", true, func(ca, _, _ string) TLSConfig { return TLSConfig{CAFile: ca} }, false},
	}
	for _, protocol := range []string{ProtocolHTTP, ProtocolGRPC} {
		for _, c := range cases {
			t.Run(protocol+"/"+c.name, func(t *testing.T) {
				srvTLS, cert, key := testPKI(t, c.clientCert)
				f := startFakeTLS(t, protocol == ProtocolGRPC, srvTLS)
				cfg := testConfig(f.endpoint(), protocol)
				if !strings.HasPrefix(cfg.Endpoint, "https://") {
					t.Fatalf("endpoint %s", cfg.Endpoint)
				}
				cfg.TLS = c.tls(cert, cert, key)
				cfg.ShutdownTimeout = 10 * time.Millisecond
				e := newTestExporter(t, cfg, Deps{})
				timeout := 10 * time.Second
				if !c.ok {
					timeout = 300 * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				err := e.Export(ctx, numbered(0, 5))
				if c.ok != (err == nil) {
					t.Fatalf("Export: %v", err)
				}
				if c.ok && len(f.Records()) != 5 {
					t.Fatalf("%d records arrived", len(f.Records()))
				}
			})
		}
	}
}

// TestGRPCWithoutScheme: a grpc endpoint without a scheme is TLS unless
// insecure is set, as the specification says.
func TestGRPCWithoutScheme(t *testing.T) {
	plain := startFake(t, true)
	srvTLS, cert, _ := testPKI(t, false)
	secure := startFakeTLS(t, true, srvTLS)
	cases := []struct {
		name     string
		f        *fakeReceiver
		insecure bool
		tls      TLSConfig
	}{
		{"insecure: plain text", plain, true, TLSConfig{}},
		{"default: TLS", secure, false, TLSConfig{CAFile: cert}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(strings.TrimPrefix(strings.TrimPrefix(c.f.endpoint(), "http://"), "https://"), ProtocolGRPC)
			cfg.Insecure, cfg.TLS = c.insecure, c.tls
			e := newTestExporter(t, cfg, Deps{})
			before := len(c.f.Records())
			if err := e.Export(context.Background(), numbered(0, 2)); err != nil {
				t.Fatal(err)
			}
			if got := len(c.f.Records()) - before; got != 2 {
				t.Fatalf("%d records arrived", got)
			}
		})
	}
}
