package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// TestParseMemoryFlags checks --max-live-users and --store-timeout from
// the command line and the environment, and that bad values are usage
// errors naming the flag.
func TestParseMemoryFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // a word the usage error must contain; "" means success
		want    memoryConfig
	}{
		{name: "defaults", want: memoryConfig{maxLiveUsers: 0, storeTimeout: 5 * time.Second}},
		{name: "flags", args: []string{"--max-live-users", "1000", "--store-timeout", "250ms"},
			want: memoryConfig{maxLiveUsers: 1000, storeTimeout: 250 * time.Millisecond}},
		{name: "env", env: map[string]string{"ATTUNE_MAX_LIVE_USERS": "7", "ATTUNE_STORE_TIMEOUT": "2s"},
			want: memoryConfig{maxLiveUsers: 7, storeTimeout: 2 * time.Second}},
		{name: "negative cap", args: []string{"--max-live-users", "-1"}, wantErr: "--max-live-users"},
		{name: "zero timeout", env: map[string]string{"ATTUNE_STORE_TIMEOUT": "0s"}, wantErr: "--store-timeout"},
		{name: "bad timeout", args: []string{"--store-timeout", "soon"}, wantErr: "store-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := parseServeCase(t, tc.args, tc.env, tc.wantErr)
			if ok && c.memory != tc.want {
				t.Fatalf("parseServe(%q, %v) = %+v; want %+v", tc.args, tc.env, c.memory, tc.want)
			}
		})
	}
}

// parseServeCase runs parseServe with args and env. With wantErr it checks
// that the result is a usage error containing wantErr and returns false;
// otherwise it fails the test on any error and returns the config and true.
func parseServeCase(t *testing.T, args []string, env map[string]string, wantErr string) (serveConfig, bool) {
	t.Helper()
	c, err := parseServe(args, func(k string) string { return env[k] }, io.Discard)
	if wantErr != "" {
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("parseServe(%q, %v) = %v, want a usage error naming %s", args, env, err, wantErr)
		}
		return c, false
	}
	if err != nil {
		t.Fatalf("parseServe(%q, %v) = %v", args, env, err)
	}
	return c, true
}
