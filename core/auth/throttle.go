package auth

import (
	"context"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Throttle counts failed sign-ins per key (an account, a client address) over a sliding
// window. The failures are kept in the database, so every instance that shares it
// counts the same ones: an attacker spreading guesses over instances behind a load
// balancer gets no more tries than against one.
type Throttle struct {
	store  core.Store
	max    int
	window time.Duration
}

// NewThrottle allows max failures per key within window.
func NewThrottle(store core.Store, max int, window time.Duration) *Throttle {
	if max < 1 {
		max = 1
	}
	return &Throttle{store: store, max: max, window: window}
}

// Blocked reports whether any of keys has used up its failures at now, and if so how
// long until the oldest of them that counts leaves the window.
func (t *Throttle) Blocked(ctx context.Context, now time.Time, keys ...string) (time.Duration, bool, error) {
	var wait time.Duration
	err := t.store.View(ctx, func(tx core.Tx) error {
		for _, k := range keys {
			at, err := tx.RecentLoginFailures(ctx, k, now.Add(-t.window), t.max)
			if err != nil {
				return err
			}
			if len(at) >= t.max {
				// at is newest first: the max-th newest failure is the one whose
				// leaving the window frees an attempt.
				if w := at[t.max-1].Add(t.window).Sub(now); w > wait {
					wait = w
				}
			}
		}
		return nil
	})
	return wait, wait > 0, err
}

// Fail records a failed attempt for each key.
func (t *Throttle) Fail(ctx context.Context, now time.Time, keys ...string) error {
	return t.store.Update(ctx, func(tx core.Tx) error { return tx.AddLoginFailures(ctx, now, keys...) })
}

// Reset forgets the failures of key (an account after a successful sign-in).
func (t *Throttle) Reset(ctx context.Context, key string) error {
	return t.store.Update(ctx, func(tx core.Tx) error { return tx.ClearLoginFailures(ctx, key) })
}

// Forget drops every failure that has left the window (the cleanup job).
func (t *Throttle) Forget(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := t.store.Update(ctx, func(tx core.Tx) error {
		var err error
		n, err = tx.DeleteLoginFailuresBefore(ctx, now.Add(-t.window))
		return err
	})
	return n, err
}
