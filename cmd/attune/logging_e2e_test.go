package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/personalize"
)

// jsonLogLines returns the JSON log lines of out (the banner is plain text).
func jsonLogLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestRequestLogLinesShareID runs the server with JSON logs and the access
// log on stderr, and checks that every line written while serving one
// request (here the policy refusal and the access line) carries the
// request id the client got in x-amzn-RequestId and the access key that
// signed it, and that the access line has the operation, status and sizes.
func TestRequestLogLinesShareID(t *testing.T) {
	ts := startServer(t, "", "--log-format", "json", "--log-level", "info", "--access-log", "stderr")
	key, secret := createAccessKey(t, ts, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"personalize:DescribeDatasetGroup","Resource":"*"}]}`)

	_, err := ts.clientAs(key, secret).ListDatasetGroups(t.Context(), &personalize.ListDatasetGroupsInput{})
	var re *awshttp.ResponseError
	if apiCode(err) != "AccessDeniedException" || !errors.As(err, &re) || re.ServiceRequestID() == "" {
		t.Fatalf("ListDatasetGroups with a reader key = %v, want AccessDeniedException with a request id", err)
	}
	denied := re.ServiceRequestID()

	out, err := ts.personalizeClient().CreateDatasetGroup(t.Context(), &personalize.CreateDatasetGroupInput{Name: aws.String("logs")})
	if err != nil {
		t.Fatal(err)
	}
	created, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
	if created == "" {
		t.Fatal("CreateDatasetGroup answered without a request id")
	}

	for _, tc := range []struct {
		id, key, op string
		status      float64
		wantMsgs    []string
	}{
		{denied, key, "ListDatasetGroups", 400, []string{"access denied", "access"}},
		{created, testAccessKey, "CreateDatasetGroup", 200, []string{"access"}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			var msgs []string
			for _, l := range jsonLogLines(t, ts.out.String()) {
				if l["requestId"] != tc.id {
					continue
				}
				msgs = append(msgs, l["msg"].(string))
				if l["accessKeyId"] != tc.key {
					t.Errorf("line %v: accessKeyId = %v, want %s", l, l["accessKeyId"], tc.key)
				}
				if l["msg"] != "access" {
					continue
				}
				if l["operation"] != tc.op || l["status"] != tc.status || l["client"] == "" {
					t.Errorf("access line %v: want operation %s, status %v and the client address", l, tc.op, tc.status)
				}
				if in, _ := l["bytesIn"].(float64); in <= 0 {
					t.Errorf("access line %v: bytesIn = %v, want the body's size", l, l["bytesIn"])
				}
				if o, _ := l["bytesOut"].(float64); o <= 0 {
					t.Errorf("access line %v: bytesOut = %v, want the answer's size", l, l["bytesOut"])
				}
			}
			if strings.Join(msgs, ",") != strings.Join(tc.wantMsgs, ",") {
				t.Errorf("lines of request %s = %q, want %q", tc.id, msgs, tc.wantMsgs)
			}
		})
	}
}
