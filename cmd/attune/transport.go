package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/attune-dev/attune/internal/api"
)

// transportConfig is how `attune serve` talks HTTP: TLS, timeouts and the
// per-client connection cap.
type transportConfig struct {
	tlsCert, tlsKey string
	limits          api.Limits
}

// addTransportFlags registers the TLS and limit flags of serve.
func addTransportFlags(fs *flag.FlagSet, c *transportConfig) {
	d := api.DefaultLimits()
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate (chain) file; with --tls-key serves HTTPS only (env ATTUNE_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key file of --tls-cert (env ATTUNE_TLS_KEY)")
	fs.DurationVar(&c.limits.ReadHeaderTimeout, "read-header-timeout", d.ReadHeaderTimeout, "time a client has to send a request's headers; 0 means none (env ATTUNE_READ_HEADER_TIMEOUT)")
	fs.DurationVar(&c.limits.ReadTimeout, "read-timeout", d.ReadTimeout, "time a client has to send a whole request, body included; 0 means none (env ATTUNE_READ_TIMEOUT)")
	fs.DurationVar(&c.limits.WriteTimeout, "write-timeout", d.WriteTimeout, "time the server has to answer a request once its headers are read; 0 means none (env ATTUNE_WRITE_TIMEOUT)")
	fs.DurationVar(&c.limits.IdleTimeout, "idle-timeout", d.IdleTimeout, "time an idle keep-alive connection stays open; 0 means forever (env ATTUNE_IDLE_TIMEOUT)")
	fs.IntVar(&c.limits.MaxConnsPerClient, "max-conns-per-client", d.MaxConnsPerClient, "connections one client IP may have open at once (more are answered 429 and closed); 0 means unlimited (env ATTUNE_MAX_CONNS_PER_CLIENT)")
}

// check validates the parsed transport flags and loads the certificate, so
// that a bad file is a usage error at start rather than a failed handshake.
func (c transportConfig) check() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("set both --tls-cert and --tls-key, or neither")
	}
	if c.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
	}
	l := c.limits
	if l.ReadHeaderTimeout < 0 || l.ReadTimeout < 0 || l.WriteTimeout < 0 || l.IdleTimeout < 0 {
		return errors.New("--read-header-timeout, --read-timeout, --write-timeout and --idle-timeout must not be negative")
	}
	if l.MaxConnsPerClient < 0 {
		return fmt.Errorf("--max-conns-per-client %d must be at least 0", l.MaxConnsPerClient)
	}
	return nil
}

// scheme is "https" under TLS and "http" otherwise.
func (c transportConfig) scheme() string {
	if c.tlsCert != "" {
		return "https"
	}
	return "http"
}

// serve runs h on ln with c's limits, over TLS when configured, until the
// returned server is shut down; serve's error goes to errc.
func (c transportConfig) serve(ln net.Listener, h http.Handler, log *slog.Logger, errc chan<- error) *http.Server {
	srv := c.limits.HTTPServer(h, log)
	ln = c.limits.Listener(ln, c.tlsCert == "", log)
	go func() {
		if c.tlsCert != "" {
			errc <- srv.ServeTLS(ln, c.tlsCert, c.tlsKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	return srv
}

// summary is the line serve prints about its limits.
func (c transportConfig) summary() string {
	l := c.limits
	conns := "unlimited"
	if l.MaxConnsPerClient > 0 {
		conns = fmt.Sprint(l.MaxConnsPerClient)
	}
	return fmt.Sprintf("Limits: idle timeout %s, read timeout %s, write timeout %s, connections per client address %s.",
		orNone(l.IdleTimeout), orNone(l.ReadTimeout), orNone(l.WriteTimeout), conns)
}

// orNone formats a timeout, 0 as "none".
func orNone(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}
