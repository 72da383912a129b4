package auth

import (
	"sync"
	"time"
)

// Limiter counts failed sign-ins per key (an account, a client address) over a sliding
// window. It lives in memory, so each instance counts on its own: behind a load balancer
// with N instances an attacker gets up to N times the budget. That is accepted here
// because the KDF already makes every guess expensive; a shared limiter (PostgreSQL or
// Redis) would be the next step if it ever is not.
type Limiter struct {
	max    int
	window time.Duration

	mu sync.Mutex
	// fails keeps, per key, the times of at most the last max failures, oldest first.
	fails map[string][]time.Time
}

// maxKeys bounds the memory an attacker can make the limiter use by trying many
// usernames or addresses; past it, keys with no failure inside the window are dropped.
const maxKeys = 100_000

// NewLimiter allows max failures per key within window.
func NewLimiter(max int, window time.Duration) *Limiter {
	if max < 1 {
		max = 1
	}
	return &Limiter{max: max, window: window, fails: map[string][]time.Time{}}
}

// Blocked reports whether any of keys has used up its failures at now, and if so how
// long until the oldest of them leaves the window.
func (l *Limiter) Blocked(now time.Time, keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		f := l.live(k, now)
		if len(f) >= l.max {
			if w := f[len(f)-l.max].Add(l.window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait, wait > 0
}

// Fail records a failed attempt for each key.
func (l *Limiter) Fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) >= maxKeys {
		for k := range l.fails {
			if len(l.live(k, now)) == 0 {
				delete(l.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := append(l.live(k, now), now)
		if len(f) > l.max {
			f = f[len(f)-l.max:]
		}
		l.fails[k] = f
	}
}

// Reset forgets the failures of key (an account after a successful sign-in).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// live drops the failures of k that left the window and returns the rest.
func (l *Limiter) live(k string, now time.Time) []time.Time {
	f := l.fails[k]
	i := 0
	for i < len(f) && !now.Before(f[i].Add(l.window)) {
		i++
	}
	if i == len(f) {
		delete(l.fails, k)
		return nil
	}
	f = f[i:]
	l.fails[k] = f
	return f
}
