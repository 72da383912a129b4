package auth

import (
	"context"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func TestThrottleSlidingWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := NewThrottle(st, 3, time.Minute)
		blocked := func(at time.Time, keys ...string) (time.Duration, bool) {
			t.Helper()
			w, b, err := l.Blocked(ctx, at, keys...)
			if err != nil {
				t.Fatal(err)
			}
			return w, b
		}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		l.Fail(ctx, t0, "user:a", "ip:1")
		l.Fail(ctx, t0.Add(10*time.Second), "user:a", "ip:1")
		if _, b := blocked(t0.Add(11*time.Second), "user:a"); b {
			t.Fatal("blocked after 2 of 3 failures")
		}
		l.Fail(ctx, t0.Add(20*time.Second), "user:a", "ip:2")
		wait, b := blocked(t0.Add(30*time.Second), "user:a")
		if !b || wait != 30*time.Second {
			t.Fatalf("after 3 failures: blocked %t wait %v, want 30s (until the first failure leaves the window)", b, wait)
		}
		// Either key blocks: ip:1 has only 2 failures, user:a has 3.
		if _, b := blocked(t0.Add(30*time.Second), "user:b", "ip:1"); b {
			t.Fatal("user:b on ip:1 blocked with 2 failures on ip:1")
		}
		if _, b := blocked(t0.Add(30*time.Second), "user:b", "user:a"); !b {
			t.Fatal("a blocked key among several did not block")
		}
		// The window slides: once the first failure is a minute old, one attempt is free.
		if _, b := blocked(t0.Add(60*time.Second), "user:a"); b {
			t.Fatal("still blocked after the oldest failure left the window")
		}
		l.Fail(ctx, t0.Add(61*time.Second), "user:a")
		if wait, b := blocked(t0.Add(61*time.Second), "user:a"); !b || wait != 9*time.Second {
			t.Fatalf("after a 4th failure: blocked %t wait %v, want 9s", b, wait)
		}
		// A second instance on the same database counts the same failures.
		other := NewThrottle(st, 3, time.Minute)
		if _, b, _ := other.Blocked(ctx, t0.Add(61*time.Second), "user:a"); !b {
			t.Fatal("another instance does not see the failures")
		}
		l.Reset(ctx, "user:a")
		if _, b := blocked(t0.Add(61*time.Second), "user:a"); b {
			t.Fatal("blocked after reset")
		}
		// Old failures are dropped by the cleanup.
		if n, err := l.Forget(ctx, t0.Add(10*time.Minute)); err != nil || n != 3 {
			t.Fatalf("forget: %d %v (ip:1 twice, ip:2 once)", n, err)
		}
	})
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "12h": 12 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "xd", "-1d", "soon", "0d"} {
		if _, err := ParseTTL(in); err == nil {
			t.Errorf("ParseTTL(%q) accepted", in)
		}
	}
}
