package main

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/personalize"

	"github.com/attune-dev/attune/internal/testenv"
)

// consoleClient signs in to ts's console with the pair and returns the
// client holding the session cookie.
func consoleClient(t *testing.T, ts *testServer, id, secret string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if st := consolePost(t, c, ts.URL+"/console/api/login", map[string]string{"accessKeyId": id, "secretAccessKey": secret}, nil); st != http.StatusOK {
		t.Fatalf("console login as %s = %d, want 200", id, st)
	}
	return c
}

// TestConsoleKeys: a root console session creates a key that then works on
// the API within its policy; the key signs in to the console but cannot
// manage keys; deleting it in the console stops it on the API.
func TestConsoleKeys(t *testing.T) {
	ts := startServer(t, "")
	ctx := t.Context()
	if _, err := ts.personalizeClient().CreateDatasetGroup(ctx, &personalize.CreateDatasetGroupInput{Name: aws.String("shop")}); err != nil {
		t.Fatal(err)
	}
	root := consoleClient(t, ts, testAccessKey, testSecret)
	var k struct{ AccessKeyID, SecretAccessKey, Name string }
	if st := consolePost(t, root, ts.URL+"/console/api/keys", map[string]string{"name": "console-made", "policy": scopedPolicy}, &k); st != http.StatusOK || k.SecretAccessKey == "" {
		t.Fatalf("create key in the console = %d %+v", st, k)
	}
	api := ts.clientAs(k.AccessKeyID, k.SecretAccessKey)
	describe := func() error {
		_, err := api.DescribeDatasetGroup(ctx, &personalize.DescribeDatasetGroupInput{DatasetGroupArn: aws.String(arnPrefix + "dataset-group/shop")})
		return err
	}
	waitKey(t, describe, "") // the console's store write is seen by the API at once: same process
	if _, err := api.DeleteDatasetGroup(ctx, &personalize.DeleteDatasetGroupInput{DatasetGroupArn: aws.String(arnPrefix + "dataset-group/shop")}); apiCode(err) != "AccessDeniedException" {
		t.Errorf("delete with the console-made key: %v, want AccessDeniedException", err)
	}

	scoped := consoleClient(t, ts, k.AccessKeyID, k.SecretAccessKey)
	if st := consolePost(t, scoped, ts.URL+"/console/api/keys", map[string]string{"name": "escalate", "policy": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`}, nil); st != http.StatusForbidden {
		t.Errorf("scoped console session creating a key = %d, want 403", st)
	}

	t.Run("headless browser", func(t *testing.T) {
		testenv.Chromium(t)
		for _, tc := range []struct {
			name   string
			c      *http.Client
			panel  bool
			inPage string
		}{
			{"root sees the keys panel", root, true, "console-made"},
			{"scoped key does not", scoped, false, ""},
		} {
			var link struct{ URL string }
			if st := consolePost(t, tc.c, ts.URL+"/console/api/login-link", map[string]string{}, &link); st != http.StatusOK {
				t.Fatalf("%s: login-link = %d", tc.name, st)
			}
			dom := dumpDOM(t, ts.URL+link.URL)
			hidden := bytes.Contains(dom, []byte(`id="keys" hidden`))
			if hidden == tc.panel || !bytes.Contains(dom, []byte(tc.inPage)) || bytes.Contains(dom, []byte(k.SecretAccessKey)) {
				t.Errorf("%s: keys panel hidden = %v, want %v, page containing %q and never the secret:\n%s", tc.name, hidden, !tc.panel, tc.inPage, dom)
			}
		}
	})

	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, ts.URL+"/console/api/keys/"+k.AccessKeyID, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := root.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("delete key in the console = %d", res.StatusCode)
	}
	if err := describe(); apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("API call with the key deleted in the console: %v, want UnrecognizedClientException at once", err)
	}
}
