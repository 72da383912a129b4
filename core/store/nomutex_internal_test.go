package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestSQLiteConnectionsHaveNoMutex: every connection of the store, reads and the
// writer, runs without SQLite's per-connection mutex, while one opened through
// modernc's driver alone has it (so the check below can fail).
func TestSQLiteConnectionsHaveNoMutex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	plain, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if m := rawMutex(t, plain); m == 0 {
		t.Fatal("a connection of modernc's driver has no mutex: the driver changed, dropConnMutex checks nothing")
	}
	s, err := Open(ctx, Options{Driver: SQLite, DSN: path, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, db := range map[string]*sql.DB{"write": s.write.DB, "read": s.read.DB} {
		if m := rawMutex(t, db); m != 0 {
			t.Errorf("%s connection: mutex %#x, want none", name, m)
		}
	}
}

func rawMutex(t *testing.T, db *sql.DB) uintptr {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var m uintptr
	if err := conn.Raw(func(dc any) error { m = connMutex(dc.(driver.Conn)); return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSQLiteWithoutMutexUnderConcurrency runs writers and readers on the store's
// pools at once, each transaction reading back what it wrote and every reader
// checking an invariant the writers keep (the sum of the rows), with statements
// cached and rows open across goroutines' turns on a connection; under -race too.
func TestSQLiteWithoutMutexUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Driver: SQLite, DSN: filepath.Join(t.TempDir(), "c.db"), MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.write.Exec(`CREATE TABLE acct (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, note TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := s.write.Exec(`INSERT INTO acct (id, n, note) VALUES (?, 100, ?)`, i, fmt.Sprintf("row %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				tx, err := s.write.BeginTxx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				from, to := (i+w)%20, (i*7+w+1)%20
				if from == to {
					to = (to + 1) % 20
				}
				_, err1 := tx.Exec(`UPDATE acct SET n = n - 1, note = ? WHERE id = ?`, fmt.Sprintf("w%d-%d", w, i), from)
				_, err2 := tx.Exec(`UPDATE acct SET n = n + 1 WHERE id = ?`, to)
				var note string
				err3 := tx.Get(&note, `SELECT note FROM acct WHERE id = ?`, from)
				if err := firstErr(err1, err2, err3, tx.Commit()); err != nil {
					errs <- err
					return
				}
				if want := fmt.Sprintf("w%d-%d", w, i); note != want {
					errs <- fmt.Errorf("read back %q, wrote %q", note, want)
					return
				}
			}
		}(w)
	}
	for r := 0; r < 6; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				rows, err := s.read.QueryContext(ctx, `SELECT n, note FROM acct ORDER BY id`)
				if err != nil {
					errs <- err
					return
				}
				sum, count := 0, 0
				for rows.Next() {
					var n int
					var note string
					if err := rows.Scan(&n, &note); err != nil {
						errs <- err
						rows.Close()
						return
					}
					sum, count = sum+n, count+1
				}
				if err := firstErr(rows.Err(), rows.Close()); err != nil {
					errs <- err
					return
				}
				if sum != 2000 || count != 20 {
					errs <- fmt.Errorf("read %d rows summing to %d, want 20 rows summing to 2000", count, sum)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
