package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/attune-dev/attune/internal/metrics"
)

// defaultAdminListen is where /metrics and /debug/pprof are served unless
// --admin-listen says otherwise: loopback only, as they carry no
// authentication.
const defaultAdminListen = "127.0.0.1:9464"

// adminConfig is the admin listener's part of serveConfig.
type adminConfig struct {
	listen string
	// explicit says the operator chose listen (flag or environment): a
	// failure to bind it then stops serve, while the default address being
	// taken (a second Attune on the machine) only turns the admin port off.
	explicit bool
}

// addAdminFlags defines --admin-listen.
func addAdminFlags(fs *flag.FlagSet, c *adminConfig) {
	fs.StringVar(&c.listen, "admin-listen", defaultAdminListen, `address of the admin port serving Prometheus /metrics and /debug/pprof, without authentication (keep it private); "" or off disables it (env ATTUNE_ADMIN_LISTEN)`)
}

// check validates the admin flags after parsing; set reports whether the
// flag was given on the command line.
func (c *adminConfig) check(publicListen string, set bool, getenv func(string) string) error {
	c.explicit = set || getenv("ATTUNE_ADMIN_LISTEN") != ""
	if c.off() {
		return nil
	}
	_, port, err := net.SplitHostPort(c.listen)
	if err != nil {
		return fmt.Errorf("--admin-listen %q: want host:port, \"\" or off", c.listen)
	}
	if port != "0" && c.listen == publicListen {
		return fmt.Errorf("--admin-listen %q is the public --listen address: the admin port has no authentication and must be separate", c.listen)
	}
	return nil
}

// off reports whether the admin port is disabled.
func (c adminConfig) off() bool { return c.listen == "" || c.listen == "off" }

// adminServer is the running admin port; the zero value (off) is valid.
type adminServer struct {
	addr string // bound address; "" when off
	srv  *http.Server
}

// startAdmin binds the admin port and serves g on it until shutdown.
func startAdmin(c adminConfig, g prometheus.Gatherer, log *slog.Logger) (*adminServer, error) {
	if c.off() {
		return &adminServer{}, nil
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		if !c.explicit && errors.Is(err, syscall.EADDRINUSE) {
			log.Warn("admin port in use (another Attune?); /metrics and /debug/pprof are off: set --admin-listen", "address", c.listen)
			return &adminServer{}, nil
		}
		return nil, fmt.Errorf("admin listen on %s: %w", c.listen, err)
	}
	a := &adminServer{addr: ln.Addr().String(), srv: &http.Server{Handler: metrics.AdminHandler(g), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: time.Minute}}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin port stopped", "err", err)
		}
	}()
	return a, nil
}

// banner is the line serve prints about the admin port.
func (a *adminServer) banner() string {
	if a.addr == "" {
		return "Admin port (metrics, pprof): off (--admin-listen)."
	}
	return fmt.Sprintf("Admin port: http://%s/metrics and /debug/pprof/ (--admin-listen; no authentication, keep it private).", a.addr)
}

// Shutdown stops the admin port; it is a no-op when off.
func (a *adminServer) Shutdown(ctx context.Context) error {
	if a.srv == nil {
		return nil
	}
	return a.srv.Shutdown(ctx)
}

// flagSet reports whether the flag name was given on fs's command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
