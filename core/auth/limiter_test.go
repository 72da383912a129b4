package auth

import (
	"testing"
	"time"
)

func TestLimiterSlidingWindow(t *testing.T) {
	l := NewLimiter(3, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.Fail(t0, "user:a", "ip:1")
	l.Fail(t0.Add(10*time.Second), "user:a", "ip:1")
	if _, blocked := l.Blocked(t0.Add(11*time.Second), "user:a"); blocked {
		t.Fatal("blocked after 2 of 3 failures")
	}
	l.Fail(t0.Add(20*time.Second), "user:a", "ip:2")
	wait, blocked := l.Blocked(t0.Add(30*time.Second), "user:a")
	if !blocked || wait != 30*time.Second {
		t.Fatalf("after 3 failures: blocked %t wait %v, want 30s (until the first failure leaves the window)", blocked, wait)
	}
	// Either key blocks: ip:1 has only 2 failures, user:a has 3.
	if _, blocked := l.Blocked(t0.Add(30*time.Second), "user:b", "ip:1"); blocked {
		t.Fatal("user:b on ip:1 blocked with 2 failures on ip:1")
	}
	if _, blocked := l.Blocked(t0.Add(30*time.Second), "user:b", "user:a"); !blocked {
		t.Fatal("a blocked key among several did not block")
	}
	// The window slides: once the first failure is a minute old, one attempt is free.
	if _, blocked := l.Blocked(t0.Add(60*time.Second), "user:a"); blocked {
		t.Fatal("still blocked after the oldest failure left the window")
	}
	l.Fail(t0.Add(61*time.Second), "user:a")
	if wait, blocked := l.Blocked(t0.Add(61*time.Second), "user:a"); !blocked || wait != 9*time.Second {
		t.Fatalf("after a 4th failure: blocked %t wait %v, want 9s", blocked, wait)
	}
	l.Reset("user:a")
	if _, blocked := l.Blocked(t0.Add(61*time.Second), "user:a"); blocked {
		t.Fatal("blocked after reset")
	}
}

func TestLimiterForgetsOldKeys(t *testing.T) {
	l := NewLimiter(1, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.Fail(t0, "user:x")
	l.Blocked(t0.Add(2*time.Minute), "user:x")
	if _, ok := l.fails["user:x"]; ok {
		t.Fatal("a key whose failures all left the window is still held")
	}
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
