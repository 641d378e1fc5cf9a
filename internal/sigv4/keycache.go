package sigv4

import "sync"

// DefaultKeyCacheSize is the number of signing keys NewKeyCache keeps when
// given a size of 0: one per (access key, day, region) in use, so a few
// hundred covers any self-hosted deployment.
const DefaultKeyCacheSize = 256

// KeyCache remembers derived SigV4 signing keys by (secret, date, region,
// service), so Verify computes one HMAC per request instead of five. It holds
// at most its size of keys and is safe for concurrent use. A nil *KeyCache
// caches nothing.
type KeyCache struct {
	size int

	// mu guards the fields below.
	mu   sync.RWMutex
	keys map[keyID][]byte
	// order is a ring of the cached IDs in insertion order; next is the slot
	// the next insertion evicts. Eviction is first in, first out rather than
	// LRU: a signing key is valid for one day, so old ones age out anyway,
	// and hits stay on the read lock without any bookkeeping.
	order []keyID
	next  int
}

type keyID struct {
	secret, date, region, service string
}

// NewKeyCache returns a cache of at most size signing keys; size <= 0 means
// DefaultKeyCacheSize.
func NewKeyCache(size int) *KeyCache {
	if size <= 0 {
		size = DefaultKeyCacheSize
	}
	return &KeyCache{size: size, keys: make(map[keyID][]byte, size)}
}

// signingKey returns the signing key for the scope, deriving and caching it
// on a miss. Callers must not modify the returned slice.
func (c *KeyCache) signingKey(secret, date, region, service string) []byte {
	if c == nil {
		return deriveSigningKey(secret, date, region, service)
	}
	id := keyID{secret, date, region, service}
	c.mu.RLock()
	key, ok := c.keys[id]
	c.mu.RUnlock()
	if ok {
		return key
	}
	key = deriveSigningKey(secret, date, region, service)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[id]; ok {
		// Another goroutine derived it meanwhile; both keys are equal.
		return key
	}
	if len(c.order) < c.size {
		c.order = append(c.order, id)
	} else {
		delete(c.keys, c.order[c.next])
		c.order[c.next] = id
		c.next = (c.next + 1) % c.size
	}
	c.keys[id] = key
	return key
}
