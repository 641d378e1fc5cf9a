package main

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
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to
// dir and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attune test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		IsCA:         true, BasicConstraintsValid: true,
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
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
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

// TestTLS serves HTTPS with a certificate made here and checks the AWS SDK
// for Go (trusting it), the AWS CLIs (AWS_CA_BUNDLE) and the console, whose
// session cookie must be Secure; plain HTTP gets no answer.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	ts := startServer(t, "", "--tls-cert", certFile, "--tls-key", keyFile)
	url := "https://" + strings.TrimPrefix(ts.URL, "http://")
	if !strings.Contains(ts.out.String(), "listening on "+url) || !strings.Contains(ts.out.String(), "Console: "+url+"/console/") {
		t.Errorf("banner does not name %s:\n%s", url, ts.out.String())
	}
	tlsTransport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}

	cfg := sdkConfig(testAccessKey, testSecret)
	cfg.HTTPClient = &http.Client{Transport: ownBodyTransport{tlsTransport}}
	pc := personalize.NewFromConfig(cfg, func(o *personalize.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := pc.CreateDatasetGroup(t.Context(), &personalize.CreateDatasetGroupInput{Name: aws.String("over-tls")}); err != nil {
		t.Fatalf("SDK over TLS: %v", err)
	}

	// An SDK that does not trust the certificate must fail the handshake.
	untrusting := sdkConfig(testAccessKey, testSecret)
	untrusting.HTTPClient = &http.Client{Transport: &http.Transport{}}
	bad := personalize.NewFromConfig(untrusting, func(o *personalize.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := bad.ListDatasetGroups(t.Context(), &personalize.ListDatasetGroupsInput{}); err == nil ||
		!strings.Contains(err.Error(), "certificate") {
		t.Errorf("SDK without the certificate: %v, want a certificate error", err)
	}

	// Plain HTTP on the TLS port is not served.
	if res, err := http.Get(ts.URL + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the TLS port answered %s, want a refusal", res.Status)
		}
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: tlsTransport, Jar: jar}
	res, err := browser.Post(url+"/console/api/login", "application/json",
		strings.NewReader(`{"accessKeyId":"`+testAccessKey+`","secretAccessKey":"`+testSecret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var secure bool
	for _, c := range res.Cookies() {
		secure = secure || c.Name == "attune_console" && c.Secure
	}
	if res.StatusCode != http.StatusOK || !secure {
		t.Errorf("console login over TLS: %s, cookies %v, want 200 and a Secure session cookie", res.Status, res.Cookies())
	}

	for name, bin := range awsCLIs(t) {
		t.Run("aws cli "+name, func(t *testing.T) {
			cmd := exec.Command(bin, "personalize", "list-dataset-groups", "--endpoint-url", url, "--output", "json")
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testAccessKey, "AWS_SECRET_ACCESS_KEY="+testSecret,
				"AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
				"AWS_CA_BUNDLE="+certFile)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "over-tls") {
				t.Errorf("%s with AWS_CA_BUNDLE: %v\n%s", bin, err, out)
			}
		})
	}
}

// TestConsoleLoginRateLimited guesses console secrets from one address and
// checks the sixth guess is answered 429 with Retry-After, even with the
// right secret, and that the failures are logged without the secret.
func TestConsoleLoginRateLimited(t *testing.T) {
	ts := startServer(t, "")
	login := func(secret string) *http.Response {
		t.Helper()
		res, err := http.Post(ts.URL+"/console/api/login", "application/json",
			strings.NewReader(`{"accessKeyId":"`+testAccessKey+`","secretAccessKey":"`+secret+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for i := range 5 {
		if res := login("guess-number-" + string(rune('a'+i))); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %s, want 401", i+1, res.Status)
		}
	}
	for _, secret := range []string{"guess-number-f", testSecret} {
		res := login(secret)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Errorf("sign-in after 5 failures: %s Retry-After %q, want 429 with Retry-After", res.Status, res.Header.Get("Retry-After"))
		}
	}
	out := ts.out.String()
	if !strings.Contains(out, "console sign-in failed") || !strings.Contains(out, "accessKeyId="+testAccessKey) ||
		!strings.Contains(out, "client=127.0.0.1") || strings.Contains(out, "guess-number") {
		t.Errorf("server log does not show the failed sign-ins with key id and client address (and no secret):\n%s", out)
	}
}
