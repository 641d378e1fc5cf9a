package main

import (
	"flag"
	"fmt"
	"time"
)

// memoryConfig holds the flags that bound serving's memory and the time the
// request path waits for the store.
type memoryConfig struct {
	maxLiveUsers int
	storeTimeout time.Duration
}

// addMemoryFlags defines --max-live-users and --store-timeout.
func addMemoryFlags(fs *flag.FlagSet, c *memoryConfig) {
	fs.IntVar(&c.maxLiveUsers, "max-live-users", 0, "users and anonymous sessions whose recent history each dataset group keeps in memory; the least recently used beyond it move to a spill file and come back on their next request; 0 means no cap (env ATTUNE_MAX_LIVE_USERS)")
	fs.DurationVar(&c.storeTimeout, "store-timeout", 5*time.Second, "longest a PutEvents/PutItems/PutUsers call, or a runtime request reading a filter, waits for the store before answering ThrottlingException (env ATTUNE_STORE_TIMEOUT)")
}

// check validates the memory flags.
func (c memoryConfig) check() error {
	if c.maxLiveUsers < 0 {
		return fmt.Errorf("--max-live-users %d must be 0 (no cap) or more", c.maxLiveUsers)
	}
	if c.storeTimeout <= 0 {
		return fmt.Errorf("--store-timeout %v must be positive", c.storeTimeout)
	}
	return nil
}
