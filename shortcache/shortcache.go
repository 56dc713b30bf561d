// Package shortcache keeps rows read from a database shared by several
// processes for a short time in one of them, so that a hot read (a
// session, a card binding) need not go to the database on every request.
// What this process changes it drops at once; what another process
// changes is seen within the cache's TTL. (Where no other process can
// change the rows, as with the accounts of an SQLite database this process
// owns, the TTL only bounds memory.) A read that races a drop is not
// kept: Get hands out an epoch, and Put keeps a value only if nothing was
// dropped since.
package shortcache

import (
	"sync"
	"time"
)

// Cache maps keys to values read at a time. The zero value is not
// usable: give it a TTL.
type Cache[K comparable, V any] struct {
	ttl   time.Duration
	mu    sync.Mutex
	m     map[K]entry[V]
	epoch uint64
	swept int // entries left by the last sweep
}

type entry[V any] struct {
	v    V
	read time.Time
}

// New returns a cache whose values live for ttl after they were read.
func New[K comparable, V any](ttl time.Duration) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, m: map[K]entry[V]{}}
}

// Get returns the value of key if it was read less than the TTL before
// now; and the epoch to Put with what the caller reads instead.
func (c *Cache[K, V]) Get(key K, now time.Time) (v V, ok bool, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.Sub(e.read) >= c.ttl || now.Before(e.read) {
		return v, false, c.epoch
	}
	return e.v, true, c.epoch
}

// Load returns key's value if it was read less than the TTL before now;
// otherwise it reads it with read and keeps it (unless a drop raced the
// read). An error is returned, not kept.
func (c *Cache[K, V]) Load(key K, now time.Time, read func() (V, error)) (V, error) {
	v, ok, epoch := c.Get(key, now)
	if ok {
		return v, nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	c.Put(key, v, now, epoch)
	return v, nil
}

// Put keeps v, read at read, unless something was dropped since epoch.
func (c *Cache[K, V]) Put(key K, v V, read time.Time, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	c.m[key] = entry[V]{v, read}
	if len(c.m) > 2*c.swept+1024 {
		for k, e := range c.m {
			if read.Sub(e.read) >= c.ttl {
				delete(c.m, k)
			}
		}
		c.swept = len(c.m)
	}
}

// Drop forgets key, and any read of it still in flight.
func (c *Cache[K, V]) Drop(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.m, key)
}

// Forget forgets key's value but not reads in flight: for a change that
// a racing read may overwrite harmlessly (a newer last-seen time).
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// DropIf forgets every value for which match is true, and every read in
// flight.
func (c *Cache[K, V]) DropIf(match func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for k, e := range c.m {
		if match(k, e.v) {
			delete(c.m, k)
		}
	}
}
