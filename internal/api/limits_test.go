package api

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestTooManyConnsAnswer checks the canned 429 is a well-formed HTTP
// response whose Content-Length matches its body.
func TestTooManyConnsAnswer(t *testing.T) {
	res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tooManyConns)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil || int64(len(b)) != res.ContentLength || res.StatusCode != http.StatusTooManyRequests || !res.Close {
		t.Errorf("canned answer: %s, %d body bytes of %d (%v), close %v", res.Status, len(b), res.ContentLength, err, res.Close)
	}
}

// TestClientLimitListener checks the count per client IP: the cap holds,
// closing twice releases once, and a cap of 0 leaves the listener as is.
func TestClientLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	log := slog.New(slog.DiscardHandler)
	if got := (Limits{}).Listener(inner, true, log); got != inner {
		t.Errorf("Listener with no cap = %T, want the listener itself", got)
	}
	ln := Limits{MaxConnsPerClient: 2}.Listener(inner, true, log).(*clientLimitListener)
	var accepted []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, sc)
	}
	if got := ln.open["127.0.0.1"]; got != 2 {
		t.Fatalf("open = %d, want 2", got)
	}
	accepted[0].Close()
	accepted[0].Close()
	if got := ln.open["127.0.0.1"]; got != 1 {
		t.Errorf("open after closing one twice = %d, want 1", got)
	}
	accepted[1].Close()
	if _, ok := ln.open["127.0.0.1"]; ok {
		t.Errorf("client still counted after all its connections closed")
	}
}
