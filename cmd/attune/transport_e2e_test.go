package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
)

// TestTargetMustBeSigned replays a request signed as DescribeDatasetGroup,
// whose signature leaves X-Amz-Target out, as DeleteDatasetGroup (both take
// the same body): the server must refuse it and the group must survive.
func TestTargetMustBeSigned(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	pc := ts.personalizeClient()
	dg, err := pc.CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("swap")})
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"datasetGroupArn":%q}`, *dg.DatasetGroupArn)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret},
		req, hex.EncodeToString(sum[:]), "personalize", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if a := req.Header.Get("Authorization"); strings.Contains(a, "x-amz-target") {
		t.Fatalf("test setup: X-Amz-Target is signed: %s", a)
	}
	req.Header.Set("X-Amz-Target", "AmazonPersonalize.DeleteDatasetGroup")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("X-Amzn-ErrorType") != "IncompleteSignatureException" ||
		!strings.Contains(string(b), "'X-Amz-Target' must be a 'SignedHeader'") {
		t.Errorf("replayed as DeleteDatasetGroup: %s %s %s, want 400 IncompleteSignatureException naming X-Amz-Target",
			res.Status, res.Header.Get("X-Amzn-ErrorType"), b)
	}
	got, err := pc.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: dg.DatasetGroupArn})
	if err != nil {
		t.Fatalf("DescribeDatasetGroup after the replay: %v", err)
	}
	if st := aws.ToString(got.DatasetGroup.Status); st != "ACTIVE" && st != "CREATE PENDING" && st != "CREATE IN_PROGRESS" {
		t.Errorf("dataset group status after the replay = %q, want it alive", st)
	}
}

// TestCredentialScopeRegion checks that a request signed for another region
// than --region is refused as AWS refuses it, and one for --region passes.
func TestCredentialScopeRegion(t *testing.T) {
	ts := startServer(t, "", "--region", "eu-west-1")
	for _, tc := range []struct {
		region, wantCode string
	}{{"us-east-1", "InvalidSignatureException"}, {"eu-west-1", ""}} {
		cfg := sdkConfig(testAccessKey, testSecret)
		cfg.Region = tc.region
		pc := personalize.NewFromConfig(cfg, func(o *personalize.Options) { o.BaseEndpoint = aws.String(ts.URL) })
		_, err := pc.ListDatasetGroups(t.Context(), &personalize.ListDatasetGroupsInput{})
		if got := apiCode(err); got != tc.wantCode || (err != nil && !strings.Contains(err.Error(), "Credential should be scoped to a valid region, not '"+tc.region+"'")) {
			t.Errorf("ListDatasetGroups signed for %s: %v, want %q", tc.region, err, tc.wantCode)
		}
	}
}

// TestRejectedBeforeBody sends 15 MiB bodies that are unsigned or signed
// with an unknown key, to the control plane and to the events API (the one
// browsers reach), and checks, from the client side, that the answer
// arrives while most of the body is still unsent: the server decided on
// the headers and did not buffer the upload.
func TestRejectedBeforeBody(t *testing.T) {
	ts := startServer(t, "")
	host := strings.TrimPrefix(ts.URL, "http://")
	const size = 15 << 20
	for _, tc := range []struct {
		name, path, auth, wantType string
	}{
		{"unsigned", "/", "", "MissingAuthenticationTokenException"},
		{"unsigned events", "/events", "", "MissingAuthenticationTokenException"},
		{"unknown key", "/", "AWS4-HMAC-SHA256 Credential=AKIANOBODY0000000000/" + time.Now().UTC().Format("20060102") +
			"/us-east-1/personalize/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64),
			"UnrecognizedClientException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			head := "POST " + tc.path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-amz-json-1.1\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n", size)
			if tc.path == "/" {
				head += "X-Amz-Target: AmazonPersonalize.ListDatasetGroups\r\n"
			}
			if tc.auth != "" {
				head += "X-Amz-Date: " + time.Now().UTC().Format("20060102T150405Z") + "\r\nAuthorization: " + tc.auth + "\r\n"
			}
			if _, err := io.WriteString(c, head+"\r\n"); err != nil {
				t.Fatal(err)
			}
			var sent atomic.Int64
			go func() {
				chunk := make([]byte, 64<<10)
				for i := range chunk {
					chunk[i] = ' '
				}
				for sent.Load() < size {
					n, err := c.Write(chunk)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer while uploading (%d of %d bytes sent): %v", sent.Load(), size, err)
			}
			atAnswer := sent.Load()
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden || res.Header.Get("X-Amzn-ErrorType") != tc.wantType || !res.Close {
				t.Errorf("answer %s %s (close %v), want 403 %s and Connection: close", res.Status, res.Header.Get("X-Amzn-ErrorType"), res.Close, tc.wantType)
			}
			// What was sent is at most the server's 64 KiB read plus what
			// the kernel buffers on both ends, far from the whole body.
			if atAnswer > size/2 {
				t.Errorf("answer came after %d of %d bytes were sent, want it before half", atAnswer, size)
			}
			t.Logf("answered after %d KiB of %d KiB sent", atAnswer>>10, size>>10)
		})
	}
	if out := ts.out.String(); !strings.Contains(out, "signature rejected") || !strings.Contains(out, "accessKeyId=AKIANOBODY0000000000") ||
		!strings.Contains(out, "client=127.0.0.1:") {
		t.Errorf("server log does not show the rejected signatures with key id and client address:\n%s", out)
	}
}

// TestIdleConnectionsClosed checks that a keep-alive connection that sends
// nothing more is closed after --idle-timeout.
func TestIdleConnectionsClosed(t *testing.T) {
	ts := startServer(t, "", "--idle-timeout", "500ms")
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("GET /healthz: %s (close %v), want 200 on a kept-alive connection", res.Status, res.Close)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read = %v after %v, want EOF (closed by the server)", err, time.Since(start))
	}
	t.Logf("idle connection closed after %v", time.Since(start).Round(time.Millisecond))
}

// TestConnectionsPerClientCapped opens --max-conns-per-client connections
// and checks the next one is answered 429 and closed, and that closing one
// makes room again.
func TestConnectionsPerClientCapped(t *testing.T) {
	ts := startServer(t, "", "--max-conns-per-client", "3")
	host := strings.TrimPrefix(ts.URL, "http://")
	get := func(c net.Conn) (*http.Response, error) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return nil, err
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		return res, err
	}
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range 3 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if res, err := get(c); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("connection %d: %v %v, want 200", i+1, res, err)
		}
	}
	over, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	res, err := get(over)
	if err != nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("connection 4: %v %v, want 429 with Retry-After", res, err)
	}
	open[0].Close()
	open = open[1:]
	// The server notices the close when its read returns; retry briefly.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		res, err := get(c)
		c.Close()
		if err == nil && res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing one connection: %v %v, want 200", res, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
