package sigv4

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

func TestKeyCache(t *testing.T) {
	c := NewKeyCache(4)
	want := deriveSigningKey("secret", "20261127", "us-east-1", "personalize")
	for range 2 { // miss, then hit
		if got := c.signingKey("secret", "20261127", "us-east-1", "personalize"); !bytes.Equal(got, want) {
			t.Fatalf("signingKey = %x, want %x", got, want)
		}
	}
	// Each part of the scope must be part of the cache key.
	other := []keyID{
		{"secret2", "20261127", "us-east-1", "personalize"},
		{"secret", "20261128", "us-east-1", "personalize"},
		{"secret", "20261127", "eu-west-1", "personalize"},
		{"secret", "20261127", "us-east-1", "s3"},
	}
	for _, id := range other {
		got := c.signingKey(id.secret, id.date, id.region, id.service)
		if want := deriveSigningKey(id.secret, id.date, id.region, id.service); !bytes.Equal(got, want) {
			t.Errorf("signingKey(%+v) = %x, want %x", id, got, want)
		}
	}
	if len(c.keys) != 4 || len(c.order) != 4 {
		t.Errorf("cache holds %d keys (%d in order), want its size 4", len(c.keys), len(c.order))
	}
	if _, ok := c.keys[keyID{"secret", "20261127", "us-east-1", "personalize"}]; ok {
		t.Errorf("oldest key still cached after the cache filled up, want it evicted first")
	}

	var nilCache *KeyCache
	if got := nilCache.signingKey("secret", "20261127", "us-east-1", "personalize"); !bytes.Equal(got, want) {
		t.Errorf("nil cache signingKey = %x, want %x", got, want)
	}
}

// TestKeyCacheConcurrent is meant for -race: many goroutines hit, miss and
// evict at once, and every key returned must still be right.
func TestKeyCacheConcurrent(t *testing.T) {
	c := NewKeyCache(8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				date := fmt.Sprintf("202611%02d", 1+(g+i)%12)
				got := c.signingKey("secret", date, "us-east-1", "personalize")
				if want := deriveSigningKey("secret", date, "us-east-1", "personalize"); !bytes.Equal(got, want) {
					t.Errorf("signingKey(%s) = %x, want %x", date, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(c.keys) > 8 {
		t.Errorf("cache holds %d keys, want at most 8", len(c.keys))
	}
}
