package store_test

// Issue 16, defect 1: PostgreSQL transactions that conflict with concurrent ones
// (deadlock, serialization failure, unique-key race) are retried by the store, and a
// conflict that persists is ECONFLICT (409), never an internal error.

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// Two transactions take the same two rows in opposite orders: PostgreSQL aborts one
// with a deadlock, the store runs it again, and both commit.
func TestDeadlockIsRetried(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	mustUpdate(t, s, func(tx core.Tx) error {
		for _, id := range []string{"T1001", "T1002"} {
			if err := tx.UpsertTechnique(ctx, &core.Technique{ExternalID: id, Name: id, Known: true}); err != nil {
				return err
			}
		}
		return nil
	})
	var attempts atomic.Int32
	var ready sync.WaitGroup
	ready.Add(2)
	writer := func(first, second string) error {
		once := false
		return s.Update(ctx, func(tx core.Tx) error {
			attempts.Add(1)
			if err := tx.UpsertTechnique(ctx, &core.Technique{ExternalID: first, Name: "by " + first, Known: true}); err != nil {
				return err
			}
			if !once { // the first attempts meet here, each holding its first row
				once = true
				ready.Done()
				ready.Wait()
			}
			return tx.UpsertTechnique(ctx, &core.Technique{ExternalID: second, Name: "by " + first, Known: true})
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- writer("T1001", "T1002") }()
	go func() { errs <- writer("T1002", "T1001") }()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("a deadlocked writer was not retried: %v", err)
		}
	}
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3 (one of the two deadlocked and ran again)", n)
	}
}

// A conflict that persists beyond the attempts is ECONFLICT naming it, not a 500; on
// SQLite (one writer, no such aborts) the error is returned as it is, after one run.
func TestPersistentConflictIsECONFLICT(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		runs := 0
		err := s.Update(ctx, func(tx core.Tx) error {
			runs++
			return fmt.Errorf("store: something: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
		})
		if s.Dialect() == store.SQLite {
			if runs != 1 || core.ErrorCode(err) != core.EINTERNAL {
				t.Fatalf("sqlite: %d runs, %v", runs, err)
			}
			return
		}
		var ce *core.Error
		if runs != 5 || !errors.As(err, &ce) || ce.Code != core.ECONFLICT || ce.Detail["sqlstate"] != "40001" {
			t.Fatalf("%d runs, error %#v", runs, err)
		}
		// Any other error is not retried.
		runs = 0
		s.Update(ctx, func(tx core.Tx) error {
			runs++
			return fmt.Errorf("store: %w", &pgconn.PgError{Code: "23503", Message: "foreign key"})
		})
		if runs != 1 {
			t.Fatalf("a foreign-key violation ran %d times", runs)
		}
	})
}

// A writer that links a technique an ATT&CK import is inserting at the same moment
// waits for it and uses the real row: no unique-key failure, and the import's
// technique is not overwritten by a placeholder.
func TestEnsureTechniqueYieldsToAConcurrentInsert(t *testing.T) {
	// PostgreSQL only: SQLite has one writer, so the two transactions cannot overlap.
	s := storetest.Open(t, store.Postgres)
	inserted, release := make(chan struct{}), make(chan struct{})
	importErr := make(chan error, 1)
	var real core.Technique
	go func() {
		importErr <- s.Update(ctx, func(tx core.Tx) error {
			real = core.Technique{ExternalID: "T1998", Name: "Real technique", Known: true}
			if err := tx.UpsertTechnique(ctx, &real); err != nil {
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	var got string
	var runs int
	linked := make(chan error, 1)
	go func() {
		linked <- s.Update(ctx, func(tx core.Tx) error {
			runs++
			var err error
			got, err = tx.EnsureTechnique(ctx, "T1998")
			return err
		})
	}()
	time.Sleep(200 * time.Millisecond) // the linker is now waiting on the import's row
	close(release)
	if err := <-importErr; err != nil {
		t.Fatal(err)
	}
	if err := <-linked; err != nil {
		t.Fatalf("the concurrent link failed: %v", err)
	}
	if got != real.ID || runs != 1 {
		t.Fatalf("linked to %s in %d runs, want the import's %s in one", got, runs, real.ID)
	}
	s.View(ctx, func(tx core.Tx) error {
		te, err := tx.TechniqueByExternalID(ctx, "T1998")
		if err != nil || te.Name != "Real technique" || !te.Known {
			t.Fatalf("the import's technique was overwritten: %+v %v", te, err)
		}
		return nil
	})
}
