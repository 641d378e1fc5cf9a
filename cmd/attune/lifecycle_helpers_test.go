package main

import (
	"testing"
	"time"
)

// waitGone polls describe until it answers ResourceNotFoundException, as
// a clean-up loop does after a Delete: dataset groups, solutions and
// campaigns show DELETE PENDING for a moment first. Any other error fails.
func waitGone(t testing.TB, what string, describe func() (string, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := describe()
		if apiCode(err) == "ResourceNotFoundException" {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if st != "DELETE PENDING" && st != "DELETE IN_PROGRESS" {
			t.Fatalf("%s: status %q after Delete, want DELETE PENDING or DELETE IN_PROGRESS", what, st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %q 30s after Delete", what, st)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
