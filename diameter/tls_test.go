package diameter

import (
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
)

// testPKI writes a CA and a certificate for each name, signed by it, into
// dir: ca.pem, NAME.pem, NAME.key.
func testPKI(t *testing.T, dir string, names ...string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	for i, name := range names {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: name},
			DNSNames: []string{name}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		write(name+".pem", "CERTIFICATE", der)
		write(name+".key", "EC PRIVATE KEY", kder)
	}
}

// Peers over TLS with certificates both ways; a client without a
// certificate the CA signed does not get through.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	testPKI(t, dir, "hss.test", "aaa.test")
	other := t.TempDir()
	testPKI(t, other, "aaa.test") // the same name, another CA
	tlsFor := func(d, name string) *TLSConfig {
		return &TLSConfig{CertFile: filepath.Join(d, name+".pem"), KeyFile: filepath.Join(d, name+".key"), CAFile: filepath.Join(dir, "ca.pem")}
	}
	s := newTestNode(t, testConfig("hss.test"))
	e := &echo{n: s}
	s.Handle(testApp, e)
	addr, err := s.Listen(ListenConfig{Listen: "127.0.0.1:0", Peers: []string{"aaa.test"}, TLS: tlsFor(dir, "hss.test")})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestNode(t, testConfig("aaa.test"))
	if err := c.Connect([]PeerConfig{{Host: "hss.test", Address: addr.String(), TLS: tlsFor(dir, "aaa.test")}}); err != nil {
		t.Fatal(err)
	}
	ctx := waitCtx(t)
	if err := c.WaitOpen(ctx, "hss.test"); err != nil {
		t.Fatal(err)
	}
	ans, err := c.Request(ctx, c.NewRequest(testCmd, testApp, "test", ""))
	if err != nil {
		t.Fatal(err)
	}
	if rc, _ := ResultCode(ans); rc != ResultSuccess {
		t.Fatalf("Result-Code %d over TLS", rc)
	}
	s.mu.Lock()
	_, isTLS := s.conns["aaa.test"].nc.(*tls.Conn)
	s.mu.Unlock()
	if !isTLS {
		t.Fatal("the accepted connection is not TLS")
	}

	// A client whose certificate another CA signed, and one with none.
	for _, tc := range []struct {
		name string
		cfg  *TLSConfig
	}{
		{"certificate from another CA", &TLSConfig{CertFile: filepath.Join(other, "aaa.test.pem"),
			KeyFile: filepath.Join(other, "aaa.test.key"), CAFile: filepath.Join(dir, "ca.pem")}},
		{"no certificate", &TLSConfig{CAFile: filepath.Join(dir, "ca.pem")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := newTestNode(t, testConfig("aaa.test"))
			conf, err := tc.cfg.Build("hss.test", false)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := bad.dial(PeerConfig{Host: "hss.test", Address: addr.String()}, conf); err == nil {
				c.close(nil)
				t.Fatal("the capabilities exchange succeeded")
			}
		})
	}
	// A server the client's CA did not sign is refused by the client.
	foreign := TLSConfig{CAFile: filepath.Join(other, "ca.pem")}
	conf, _ := foreign.Build("hss.test", false)
	if c, err := c.dial(PeerConfig{Host: "hss.test", Address: addr.String()}, conf); err == nil {
		c.close(nil)
		t.Fatal("connected to a server another CA signed")
	}
}
