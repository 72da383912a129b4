package store_test

import (
	"testing"

	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// Two instances on one database: a job lock taken by one is refused to the other until
// it is released.
func TestJobLockAcrossInstances(t *testing.T) {
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			dsn := storetest.DSN(t, d)
			a, err := store.Open(ctx, store.Options{Driver: d, DSN: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := store.Open(ctx, store.Options{Driver: d, DSN: dsn})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			unlock, ok, err := a.TryJobLock(ctx, "snapshot")
			if err != nil || !ok {
				t.Fatalf("first lock: %v %v", ok, err)
			}
			if _, ok, err := b.TryJobLock(ctx, "snapshot"); err != nil || ok {
				t.Fatalf("second instance got a held lock: %v %v", ok, err)
			}
			if u, ok, _ := b.TryJobLock(ctx, "other-job"); !ok {
				t.Fatal("a different job's lock was refused")
			} else {
				u()
			}
			unlock()
			u, ok, err := b.TryJobLock(ctx, "snapshot")
			if err != nil || !ok {
				t.Fatalf("after release: %v %v", ok, err)
			}
			u()
		})
	}
}
