package engine_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/rasterflow/rasterflow/transport"
)

// TestNKeyCredentials connects to a real server that admits one NKey user,
// with the seed in a file, as `--nkey FILE` does.
func TestNKeyCredentials(t *testing.T) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nkey.conf")
	os.WriteFile(conf, []byte("authorization { users = [ { nkey: "+pub+" } ] }\n"), 0o644)
	seedFile := filepath.Join(dir, "user.nk")
	os.WriteFile(seedFile, seed, 0o600)
	other, _ := nkeys.CreateUser()
	otherSeed, _ := other.Seed()
	otherFile := filepath.Join(dir, "other.nk")
	os.WriteFile(otherFile, otherSeed, 0o600)

	srv := startNATS(t, "-c", conf)
	nc, err := transport.Connect(srv.URL(), transport.ConnOptions{NKeyFile: seedFile})
	if err != nil {
		t.Fatalf("the admitted NKey: %v", err)
	}
	nc.Close()
	for name, o := range map[string]transport.ConnOptions{"another NKey": {NKeyFile: otherFile}, "no credentials": {}} {
		if nc, err := transport.Connect(srv.URL(), o); err == nil {
			nc.Close()
			t.Fatalf("%s was admitted", name)
		}
	}
}

// TestTLSCredentials connects to a real server that requires TLS with
// client certificates, with the CA, certificate and key files of the
// --tls-ca/--tls-cert/--tls-key flags.
func TestTLSCredentials(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey := makeCert(t, dir, "ca", nil, nil, true)
	makeCert(t, dir, "server", caCert, caKey, false)
	makeCert(t, dir, "client", caCert, caKey, false)
	conf := filepath.Join(dir, "tls.conf")
	os.WriteFile(conf, []byte("tls {\n  cert_file: \""+filepath.Join(dir, "server.pem")+"\"\n  key_file: \""+filepath.Join(dir, "server.key")+
		"\"\n  ca_file: \""+filepath.Join(dir, "ca.pem")+"\"\n  verify: true\n}\n"), 0o644)
	srv := startNATS(t, "-c", conf)
	ok := transport.ConnOptions{TLSCA: filepath.Join(dir, "ca.pem"), TLSCert: filepath.Join(dir, "client.pem"), TLSKey: filepath.Join(dir, "client.key")}
	nc, err := transport.Connect(srv.URL(), ok)
	if err != nil {
		t.Fatalf("TLS with a client certificate: %v", err)
	}
	if !nc.TLSRequired() {
		t.Fatal("the connection is not TLS")
	}
	nc.Close()
	for name, o := range map[string]transport.ConnOptions{
		"no client certificate": {TLSCA: ok.TLSCA},
		"unknown server CA":     {TLSCert: ok.TLSCert, TLSKey: ok.TLSKey},
	} {
		if nc, err := transport.Connect(srv.URL(), o); err == nil {
			nc.Close()
			t.Fatalf("%s: connected", name)
		}
	}
}

// makeCert writes NAME.pem and NAME.key: a CA when parent is nil, else a
// certificate for 127.0.0.1 signed by the parent.
func makeCert(t *testing.T, dir, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "rasterflow test " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		IsCA: ca, BasicConstraintsValid: true,
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}
