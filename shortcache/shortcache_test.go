package shortcache_test

import (
	"errors"
	"testing"
	"time"

	"katong/shortcache"
)

func TestCache(t *testing.T) {
	c := shortcache.New[string, int](time.Second)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	if _, ok, _ := c.Get("a", t0); ok {
		t.Fatal("empty cache has a")
	}
	_, _, e := c.Get("a", t0)
	c.Put("a", 1, t0, e)
	if v, ok, _ := c.Get("a", t0.Add(999*time.Millisecond)); !ok || v != 1 {
		t.Fatalf("a = %d, %v within the TTL", v, ok)
	}
	if _, ok, _ := c.Get("a", t0.Add(time.Second)); ok {
		t.Fatal("a outlived its TTL")
	}
	if _, ok, _ := c.Get("a", t0.Add(-time.Second)); ok {
		t.Fatal("a read in the future of a moved-back clock")
	}

	// A read that races a drop is not kept.
	_, _, e = c.Get("b", t0)
	c.Drop("x")
	c.Put("b", 2, t0, e)
	if _, ok, _ := c.Get("b", t0); ok {
		t.Fatal("a read from before a drop was kept")
	}

	_, _, e = c.Get("c", t0)
	c.Put("c", 3, t0, e)
	c.Put("d", 4, t0, e)
	c.DropIf(func(k string, v int) bool { return v == 3 })
	if _, ok, _ := c.Get("c", t0); ok {
		t.Fatal("DropIf kept c")
	}
	if _, ok, _ := c.Get("d", t0); !ok {
		t.Fatal("DropIf dropped d")
	}
}

// TestSweep: entries past their TTL are dropped as the map grows.
func TestSweep(t *testing.T) {
	c := shortcache.New[int, int](time.Second)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for i := range 5000 {
		_, _, e := c.Get(i, t0)
		c.Put(i, i, t0.Add(time.Duration(i)*time.Millisecond), e)
	}
	// Everything read more than a second before the last put is gone.
	if _, ok, _ := c.Get(0, t0); ok {
		t.Fatal("old entry kept")
	}
	if v, ok, _ := c.Get(4999, t0.Add(4999*time.Millisecond)); !ok || v != 4999 {
		t.Fatal("newest entry lost")
	}
}

// TestLoad: a value is read once within its TTL; an error is not kept.
func TestLoad(t *testing.T) {
	c := shortcache.New[string, int](time.Second)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	reads := 0
	fail := errors.New("down")
	read := func(err error) func() (int, error) {
		return func() (int, error) { reads++; return 7, err }
	}
	if _, err := c.Load("a", t0, read(fail)); err != fail {
		t.Fatalf("error %v", err)
	}
	for range 3 {
		if v, err := c.Load("a", t0, read(nil)); err != nil || v != 7 {
			t.Fatalf("%d, %v", v, err)
		}
	}
	if reads != 2 {
		t.Fatalf("%d reads; want 2 (the failed one, then one kept)", reads)
	}
}
