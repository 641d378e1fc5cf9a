package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/attune-dev/attune/internal/metrics"
)

func TestAdminListenFlag(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		want     string
		off      bool
		explicit bool
		bad      bool
	}{
		{name: "default", want: defaultAdminListen},
		{name: "flag", args: []string{"--admin-listen", "127.0.0.1:9999"}, want: "127.0.0.1:9999", explicit: true},
		{name: "env", env: map[string]string{"ATTUNE_ADMIN_LISTEN": "10.0.0.1:9464"}, want: "10.0.0.1:9464", explicit: true},
		{name: "off", args: []string{"--admin-listen", "off"}, want: "off", off: true, explicit: true},
		{name: "empty", args: []string{"--admin-listen="}, want: "", off: true, explicit: true},
		{name: "env off", env: map[string]string{"ATTUNE_ADMIN_LISTEN": "off"}, want: "off", off: true, explicit: true},
		{name: "public port", args: []string{"--listen", "127.0.0.1:8080", "--admin-listen", "127.0.0.1:8080"}, bad: true},
		{name: "no port", args: []string{"--admin-listen", "localhost"}, bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServe(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.bad {
				var u usageError
				if !errors.As(err, &u) {
					t.Fatalf("parseServe(%q) = %v, want a usage error", tc.args, err)
				}
				return
			}
			if err != nil || c.admin.listen != tc.want || c.admin.off() != tc.off || c.admin.explicit != tc.explicit {
				t.Fatalf("parseServe(%q) admin = %+v (off %v), %v; want %q off %v explicit %v", tc.args, c.admin, c.admin.off(), err, tc.want, tc.off, tc.explicit)
			}
		})
	}
}

// TestAdminPortTaken: the default address being taken (a second Attune on
// the machine) turns the admin port off; an address the operator chose
// must bind or serve fails.
func TestAdminPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log := slog.New(slog.DiscardHandler)
	reg := metrics.NewRegistry()
	a, err := startAdmin(adminConfig{listen: ln.Addr().String()}, reg, log)
	if err != nil || a.addr != "" {
		t.Errorf("startAdmin(default taken) = %+v, %v; want off, no error", a, err)
	}
	if _, err := startAdmin(adminConfig{listen: ln.Addr().String(), explicit: true}, reg, log); err == nil {
		t.Errorf("startAdmin(chosen address taken) succeeded, want an error")
	}
	a, err = startAdmin(adminConfig{listen: "127.0.0.1:0", explicit: true}, reg, log)
	if err != nil || a.addr == "" {
		t.Fatalf("startAdmin(free port) = %+v, %v", a, err)
	}
	if err := a.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
