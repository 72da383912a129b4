package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// openCached opens a SQLite file through the caching driver on one connection, so
// that every transaction of the test shares that connection's cache.
func openCached(t *testing.T) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	db, err := sql.Open(cachedDriver(), sqliteDSN(path, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO kv VALUES ('a', '1'), ('b', '2')`); err != nil {
		t.Fatal(err)
	}
	return db, path
}

// cache returns the statements the connection keeps, by query.
func cache(t *testing.T, db *sql.DB) map[string]*cachedStmt {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out := map[string]*cachedStmt{}
	if err := conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		for q, el := range c.byQuery {
			out[q] = el.Value.(*cachedStmt)
		}
		if c.lru.Len() != len(c.byQuery) {
			return fmt.Errorf("%d statements in the LRU list, %d by query", c.lru.Len(), len(c.byQuery))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// read runs q in a transaction of its own through a prepared statement, as Tx.stmt
// does, and returns the first column of each row.
func read(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	st, err := tx.Prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.Query(args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A statement prepared in one transaction is the one the next transaction on the
// connection gets, and it reads what was written in between.
func TestStatementCacheReusesAcrossTransactions(t *testing.T) {
	db, _ := openCached(t)
	const q = `SELECT v FROM kv WHERE k = ?`
	if got := read(t, db, q, "a"); len(got) != 1 || got[0] != "1" {
		t.Fatalf("first read: %v", got)
	}
	first := cache(t, db)[q]
	if first == nil || first.inUse {
		t.Fatalf("after the first transaction the statement is not kept free: %+v", first)
	}
	if _, err := db.Exec(`UPDATE kv SET v = '9' WHERE k = 'a'`); err != nil {
		t.Fatal(err)
	}
	if got := read(t, db, q, "a"); len(got) != 1 || got[0] != "9" {
		t.Fatalf("the read after the write saw %v, want [9]", got)
	}
	if again := cache(t, db)[q]; again != first {
		t.Fatalf("the second transaction prepared the query anew (%p, kept %p)", again, first)
	}
}

// While a statement's rows are open, preparing the same query again gives a second
// statement: both read their own rows, and the kept one is free afterwards.
func TestStatementCacheSecondUserGetsItsOwn(t *testing.T) {
	db, _ := openCached(t)
	const q = `SELECT k, v FROM kv WHERE k >= ? ORDER BY k`
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	st1, err := tx.Prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	rows1, err := st1.Query("a")
	if err != nil {
		t.Fatal(err)
	}
	if !rows1.Next() {
		t.Fatal("no first row")
	}
	st2, err := tx.Prepare(q)
	if err != nil {
		t.Fatal(err)
	}
	var k, v string
	if err := st2.QueryRow("b").Scan(&k, &v); err != nil || k != "b" || v != "2" {
		t.Fatalf("second statement: %q %q %v", k, v, err)
	}
	var k1, v1 string
	if err := rows1.Scan(&k1, &v1); err != nil || k1 != "a" {
		t.Fatalf("first statement's row: %q %v", k1, err)
	}
	if !rows1.Next() {
		t.Fatal("the first statement lost its second row")
	}
	if err := rows1.Scan(&k1, &v1); err != nil || k1 != "b" {
		t.Fatalf("first statement's second row: %q %v", k1, err)
	}
	rows1.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := cache(t, db)
	if len(c) != 1 || c[q] == nil || c[q].inUse {
		t.Fatalf("kept after the transaction: %+v", c)
	}
}

// Past stmtCacheSize queries the least recently used are finalized; every query still
// answers, the evicted ones prepared again.
func TestStatementCacheEvicts(t *testing.T) {
	db, _ := openCached(t)
	n := stmtCacheSize + 10
	for i := 0; i < n; i++ {
		q := fmt.Sprintf(`SELECT v || '-%d' FROM kv WHERE k = ?`, i)
		if got := read(t, db, q, "b"); len(got) != 1 || got[0] != fmt.Sprintf("2-%d", i) {
			t.Fatalf("query %d: %v", i, got)
		}
	}
	c := cache(t, db)
	if len(c) != stmtCacheSize {
		t.Fatalf("%d statements kept, want %d", len(c), stmtCacheSize)
	}
	if c[`SELECT v || '-0' FROM kv WHERE k = ?`] != nil {
		t.Fatal("the least recently used query was kept")
	}
	if got := read(t, db, `SELECT v || '-0' FROM kv WHERE k = ?`, "a"); len(got) != 1 || got[0] != "1-0" {
		t.Fatalf("evicted query prepared again: %v", got)
	}
}

// A kept statement follows a schema change made on another connection (a migration
// run beside the server): SQLite prepares it again by itself.
func TestStatementCacheFollowsSchemaChanges(t *testing.T) {
	db, path := openCached(t)
	const q = `SELECT * FROM kv WHERE k = ?`
	if got := read(t, db, q, "a"); len(got) != 1 || got[0] != "a1" {
		t.Fatalf("before: %v", got)
	}
	other, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`ALTER TABLE kv ADD COLUMN w TEXT NOT NULL DEFAULT 'x'`); err != nil {
		t.Fatal(err)
	}
	if got := read(t, db, q, "a"); len(got) != 1 || got[0] != "a1x" {
		t.Fatalf("after a column was added elsewhere: %v, want [a1x]", got)
	}
}

// A query run on the pool without preparing it first (Store.Read) uses the kept
// statement too, and releases it when its rows close: the next such query, and a
// prepared one in a transaction, get the same statement back, reading what was
// written in between; a second query while the first's rows are open gets its own.
func TestStatementCachePlainQueries(t *testing.T) {
	db, _ := openCached(t)
	const q = `SELECT v FROM kv WHERE k = ?`
	var v string
	if err := db.QueryRow(q, "a").Scan(&v); err != nil || v != "1" {
		t.Fatalf("plain query: %q %v", v, err)
	}
	first := cache(t, db)[q]
	if first == nil || first.inUse {
		t.Fatalf("after a plain query the statement is not kept free: %+v", first)
	}
	if _, err := db.Exec(`UPDATE kv SET v = '7' WHERE k = 'a'`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(q, "a").Scan(&v); err != nil || v != "7" {
		t.Fatalf("plain query after a write: %q %v, want 7", v, err)
	}
	if got := read(t, db, q, "a"); len(got) != 1 || got[0] != "7" {
		t.Fatalf("prepared read: %v", got)
	}
	if again := cache(t, db)[q]; again != first || again.inUse {
		t.Fatalf("the query was prepared anew or left in use (%p, kept %p)", again, first)
	}
	conn, err := db.Conn(context.Background()) // the pool's one connection
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(context.Background(), `SELECT k FROM kv ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first row")
	}
	var k2 string
	if err := conn.QueryRowContext(context.Background(), `SELECT k FROM kv ORDER BY k`).Scan(&k2); err != nil || k2 != "a" {
		t.Fatalf("second user of an open query: %q %v", k2, err)
	}
	if types, err := rows.ColumnTypes(); err != nil || len(types) != 1 || types[0].DatabaseTypeName() != "TEXT" {
		t.Fatalf("column types through the kept statement: %v %v", types, err)
	}
	var k string
	if !rows.Next() || rows.Scan(&k) != nil || k != "b" {
		t.Fatalf("the open query lost its second row: %q", k)
	}
	rows.Close()
	conn.Close()
	if c := cache(t, db)[`SELECT k FROM kv ORDER BY k`]; c == nil || c.inUse {
		t.Fatalf("after its rows closed the statement is not kept free: %+v", c)
	}
}
