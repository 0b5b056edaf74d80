package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// selfSignedCert writes a certificate and key for 127.0.0.1 and returns a
// client that trusts it.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, client *http.Client) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "obsadapter-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
}

// TestWebConfigTLSAndBasicAuth: an exporter-toolkit web config file puts TLS
// and basic auth on every listener, the process API's own one included, and
// POST /-/reload works behind them when enabled.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, client := selfSignedCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	os.WriteFile(webCfg, []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certFile, keyFile, hash)), 0o600)
	procAddr := freeAddr(t)
	cfgPath := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`sources:
  - {name: app, type: file, include: [%q]}
exporters:
  stdout: {enabled: true}
http: {web_config_file: %q, enable_reload: true}
procinfo: {listen: %q}
`, filepath.Join(dir, "*.log"), webCfg, procAddr)), 0o644)
	d := startDaemon(t, nil, "--config", cfgPath)

	get := func(method, url, user, pass string) int {
		req, _ := http.NewRequest(method, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	base := "https://" + d.addr
	waitFor(t, "the TLS listener", func() bool { return get("GET", base+"/readyz", "prometheus", "s3cret") == 200 })
	tests := []struct {
		name, method, url, user, pass string
		want                          int
	}{
		{"metrics with credentials", "GET", base + "/metrics", "prometheus", "s3cret", 200},
		{"metrics without credentials", "GET", base + "/metrics", "", "", 401},
		{"metrics with a wrong password", "GET", base + "/metrics", "prometheus", "nope", 401},
		{"process API on its own listener", "GET", "https://" + procAddr + "/api/v1/processes?limit=1", "prometheus", "s3cret", 200},
		{"process API without credentials", "GET", "https://" + procAddr + "/api/v1/host", "", "", 401},
		{"process API not on the main listener", "GET", base + "/api/v1/processes", "prometheus", "s3cret", 404},
		{"reload", "POST", base + "/-/reload", "prometheus", "s3cret", 200},
	}
	for _, tt := range tests {
		if got := get(tt.method, tt.url, tt.user, tt.pass); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	if resp, err := http.Get("http://" + d.addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served /metrics although TLS is configured")
		}
	}
	// A bad config on reload is refused with its reason; the adapter goes on.
	os.WriteFile(cfgPath, []byte("sources: [{name: app, type: nonsense}]\n"), 0o644)
	req, _ := http.NewRequest("POST", base+"/-/reload", nil)
	req.SetBasicAuth("prometheus", "s3cret")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "nonsense") {
		t.Errorf("bad reload: %d %s", resp.StatusCode, body)
	}
	if code := get("GET", base+"/readyz", "prometheus", "s3cret"); code != 200 {
		t.Errorf("after a rejected reload /readyz = %d", code)
	}
	if code := d.stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
