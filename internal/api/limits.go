package api

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound what one connection or client can hold of the server: how
// long a request may take to arrive and to be answered, how long an idle
// keep-alive connection stays open, and how many connections one client
// address may have open at once.
type Limits struct {
	// ReadHeaderTimeout is how long a client has to send a request's
	// headers; 0 means no limit.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client has to send a whole request, body
	// included; 0 means no limit. It must cover the largest legitimate
	// body (MaxBodyBytes) over the slowest link a deployment expects.
	ReadTimeout time.Duration
	// WriteTimeout is how long the server has, from the end of the request
	// headers, to answer; 0 means no limit.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request; 0 means no limit.
	IdleTimeout time.Duration
	// MaxConnsPerClient caps the connections open at once from one client
	// IP address; 0 means unlimited. A load balancer in front of Attune is
	// one client, so the default leaves room for its pool.
	MaxConnsPerClient int
}

// DefaultLimits returns limits that a load balancer, the AWS SDKs and the
// project's benchmarks stay well inside, while a client that opens
// connections and never uses them cannot keep them.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       60 * time.Second,
		MaxConnsPerClient: 1024,
	}
}

// HTTPServer returns an http.Server for h with l's timeouts.
func (l Limits) HTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// Listener wraps ln so that each client IP address has at most
// l.MaxConnsPerClient connections open; ln itself when the cap is 0. A
// connection over the cap is answered (when plain is set, so the bytes are
// HTTP and not the start of a TLS handshake) with a 429 and closed, without
// reaching the HTTP server. Each refusal is logged with the client address.
func (l Limits) Listener(ln net.Listener, plain bool, log *slog.Logger) net.Listener {
	if l.MaxConnsPerClient <= 0 {
		return ln
	}
	return &clientLimitListener{Listener: ln, max: l.MaxConnsPerClient, plain: plain, log: log, open: map[string]int{}}
}

// clientLimitListener counts open connections per client IP.
type clientLimitListener struct {
	net.Listener
	max   int
	plain bool
	log   *slog.Logger

	// mu guards the field below.
	mu   sync.Mutex
	open map[string]int // client IP → connections open
}

// tooManyConns is the whole answer to a connection over the cap.
const tooManyConns = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
	"Connection: close\r\nContent-Length: 83\r\n\r\n" +
	`{"__type":"ThrottlingException","message":"too many connections from this address"}`

// Accept returns the next connection whose client is under the cap.
func (l *clientLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := clientIP(c.RemoteAddr())
		l.mu.Lock()
		n := l.open[ip]
		if n < l.max {
			l.open[ip] = n + 1
		}
		l.mu.Unlock()
		if n < l.max {
			return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		l.log.Warn("connection refused: too many from one client", "client", c.RemoteAddr().String(), "max", l.max)
		go l.refuse(c)
	}
}

// refuse answers c with a 429 when it can do so cheaply and closes it. It
// runs on its own goroutine, bounded by deadlines, so a client that does
// not read cannot stall Accept.
func (l *clientLimitListener) refuse(c net.Conn) {
	defer c.Close()
	if !l.plain {
		return
	}
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte(tooManyConns)); err != nil {
		return
	}
	// Half-close and drain what the client already sent, so that closing
	// does not reset the connection before the client has read the answer.
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	var buf [4096]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

func (l *clientLimitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] <= 1 {
		delete(l.open, ip)
		return
	}
	l.open[ip]--
}

// clientIP is the IP part of a remote address; the whole address when it
// has no port.
func clientIP(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// countedConn gives its slot back exactly once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and releases its slot.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
