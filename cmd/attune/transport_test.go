package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestParseTransportFlags checks the TLS and limit flags, from the command
// line and the environment, and that bad values are usage errors naming
// the flag.
func TestParseTransportFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // a word the usage error must contain; "" means success
		check   func(transportConfig) bool
	}{
		{name: "defaults", check: func(c transportConfig) bool {
			return c.tlsCert == "" && c.limits.IdleTimeout == 60*time.Second && c.limits.MaxConnsPerClient == 1024 && c.scheme() == "http"
		}},
		{name: "tls from flags", args: []string{"--tls-cert", certFile, "--tls-key", keyFile},
			check: func(c transportConfig) bool { return c.scheme() == "https" }},
		{name: "tls from env", env: map[string]string{"ATTUNE_TLS_CERT": certFile, "ATTUNE_TLS_KEY": keyFile},
			check: func(c transportConfig) bool { return c.tlsCert == certFile && c.tlsKey == keyFile }},
		{name: "limits", args: []string{"--idle-timeout", "5s", "--read-timeout", "0", "--max-conns-per-client", "0"},
			env: map[string]string{"ATTUNE_WRITE_TIMEOUT": "7s"},
			check: func(c transportConfig) bool {
				l := c.limits
				return l.IdleTimeout == 5*time.Second && l.ReadTimeout == 0 && l.WriteTimeout == 7*time.Second && l.MaxConnsPerClient == 0
			}},
		{name: "cert without key", args: []string{"--tls-cert", certFile}, wantErr: "--tls-key"},
		{name: "key without cert", env: map[string]string{"ATTUNE_TLS_KEY": keyFile}, wantErr: "--tls-cert"},
		{name: "unreadable cert", args: []string{"--tls-cert", garbage, "--tls-key", keyFile}, wantErr: "--tls-cert"},
		{name: "key of no cert", args: []string{"--tls-cert", certFile, "--tls-key", certFile}, wantErr: "--tls-key"},
		{name: "negative timeout", args: []string{"--idle-timeout", "-1s"}, wantErr: "--idle-timeout"},
		{name: "negative conns", args: []string{"--max-conns-per-client", "-1"}, wantErr: "--max-conns-per-client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := parseServeCase(t, tc.args, tc.env, tc.wantErr)
			if ok && !tc.check(c.transport) {
				t.Fatalf("parseServe(%q, %v) = %+v", tc.args, tc.env, c.transport)
			}
		})
	}
}
