package gateway_test

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

	"github.com/infergate/infergate/gateway"
	"github.com/infergate/infergate/internal/servingtest"
	"github.com/infergate/infergate/router"
	"github.com/valyala/fasthttp"
)

// selfSigned writes a certificate for 127.0.0.1 and its key (PEM) into dir
// and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "infergate test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS serves both listeners over TLS with a certificate the test makes:
// a client that trusts it gets its prediction and the admin API; a plain
// HTTP client gets nothing; a missing key file fails New with its path.
func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	table := servingtest.LoadTable(t, router.RouteConfig{Name: servingtest.Route}, servingtest.GatedOpener{Env: servingtest.Env(t), Gate: servingtest.NewGate()})
	tlsCfg := gateway.TLSConfig{CertFile: certFile, KeyFile: keyFile}
	g, err := newTestGateway(gateway.Config{TLS: tlsCfg, AdminTLS: tlsCfg, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0"}, table)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adm, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(pub, adm) }()
	g.SetReady(true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
		<-served
	})

	do := func(c *fasthttp.Client, method, url, body string, timeout time.Duration) (int, string, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI(url)
		req.SetBodyString(body)
		err := c.DoTimeout(req, resp, timeout)
		return resp.StatusCode(), string(resp.Body()), err
	}
	trusting := &fasthttp.Client{TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	status, body, err := do(trusting, "POST", "https://"+pub.Addr().String()+"/v1/predictions", validBody, 5*time.Second)
	if err != nil || status != 200 || !strings.Contains(body, `"probability"`) {
		t.Fatalf("prediction over TLS: %v, %d %s", err, status, body)
	}
	if status, _, err := do(trusting, "GET", "https://"+adm.Addr().String()+"/v1/models", "", 5*time.Second); err != nil || status != 200 {
		t.Fatalf("admin over TLS: %v, %d", err, status)
	}
	plain := &fasthttp.Client{}
	if status, _, err := do(plain, "POST", "http://"+pub.Addr().String()+"/v1/predictions", validBody, 500*time.Millisecond); err == nil && status == 200 {
		t.Fatalf("plain HTTP to the TLS listener answered 200")
	}

	_, err = newTestGateway(gateway.Config{TLS: gateway.TLSConfig{CertFile: certFile, KeyFile: keyFile + ".missing"}}, table)
	if err == nil || !strings.Contains(err.Error(), "server.tls: cannot load the certificate") {
		t.Fatalf("New with a missing key file: %v", err)
	}
}

func TestDeepJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})
	deep := `{"model_id":"` + servingtest.Route + `","features":{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`
	e := wantError(t, s.predict(t, deep), 400, "invalid_json", "")
	if !strings.Contains(e.Error.Message, "server.max_json_depth (32 levels)") {
		t.Errorf("message %q does not name the limit", e.Error.Message)
	}
	// Brackets up to the body limit: refused before the parser recurses.
	wantError(t, s.predict(t, strings.Repeat("[", 8000)), 400, "invalid_json", "")
}
