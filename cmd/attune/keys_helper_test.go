package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/personalize"
)

// createAccessKey runs `attune keys create` on ts's data (storeArgs: the
// --store/--store-schema flags ts was started with, if any) and returns the
// new key once the running server accepts it (its poll sees new keys
// within half a second). The CORS browser test uses it for a key scoped to
// one campaign and one tracker.
func createAccessKey(t *testing.T, ts *testServer, name, policy string, storeArgs ...string) (id, secret string) {
	t.Helper()
	policyFile := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runKeysCLI(t, ts, append([]string{"create", "--name", name, "--policy-file", policyFile}, storeArgs...)...)
	var k struct{ AccessKeyId, SecretAccessKey, Name string }
	if err := json.Unmarshal(out, &k); err != nil || k.AccessKeyId == "" || k.SecretAccessKey == "" || k.Name != name {
		t.Fatalf("keys create printed %q (%v)", out, err)
	}
	// Any answer but "unknown key" means the server has loaded it.
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := ts.clientAs(k.AccessKeyId, k.SecretAccessKey).ListDatasetGroups(t.Context(), &personalize.ListDatasetGroupsInput{})
		if apiCode(err) != "UnrecognizedClientException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not accept the new key within 2s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return k.AccessKeyId, k.SecretAccessKey
}

// runKeysCLI runs `attune keys ARGS --data-dir ts.DataDir` and returns its
// standard output, failing the test on error.
func runKeysCLI(t *testing.T, ts *testServer, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"keys"}, append(args, "--data-dir", ts.DataDir)...)
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("attune %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}
