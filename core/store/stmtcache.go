package store

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"

	"github.com/jmoiron/sqlx"
)

// sqliteCached is the SQLite driver (modernc's) with a cache of prepared statements
// per connection. SQLite parses every statement it is prepared from; a transaction
// reused its statements (Tx.stmt), but each request is a transaction of its own, so
// every request parsed its few queries again: about a tenth of the server's CPU under
// the mixed reads of BenchmarkScale. With the cache a connection parses a query once
// and later transactions on it get the parsed statement back.
const sqliteCached = "sqlite-aegis"

// stmtCacheSize bounds the statements a connection keeps. Most queries are fixed
// texts, but lists with IN (?,?,…) and optional filters make more; the least recently
// used is finalized past the bound.
const stmtCacheSize = 256

var registerCached sync.Once

// cachedDriver registers sqliteCached over the driver modernc registered as "sqlite".
func cachedDriver() string {
	registerCached.Do(func() {
		db, err := sql.Open("sqlite", "")
		if err != nil {
			panic(fmt.Sprintf("store: the sqlite driver is not registered: %v", err))
		}
		inner := db.Driver()
		_ = db.Close()
		sql.Register(sqliteCached, &cachingDriver{inner: inner})
		sqlx.BindDriver(sqliteCached, sqlx.QUESTION)
	})
	return sqliteCached
}

type cachingDriver struct{ inner driver.Driver }

func (d *cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	dropConnMutex(c)
	return &cachingConn{Conn: c, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

// The interfaces of modernc's connection that database/sql uses; the wrapper passes
// each through, so the driver behaves as before apart from PrepareContext.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

var _ sqliteConn = (*cachingConn)(nil)

// cachingConn is one connection with its statements. database/sql uses a connection
// from one goroutine at a time, so it needs no lock.
type cachingConn struct {
	driver.Conn
	byQuery map[string]*list.Element // of *cachedStmt
	lru     *list.List               // most recently used first
}

// cachedStmt is a statement the connection keeps. database/sql closes it when the
// transaction that prepared it ends; it then goes back to the cache instead. While one
// user holds it, a second prepare of the same query gets a statement of its own: a
// SQLite statement runs one query at a time.
type cachedStmt struct {
	driver.Stmt
	c       *cachingConn
	query   string
	inUse   bool
	evicted bool
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if el, ok := c.byQuery[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.inUse {
			return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
		}
		cs.inUse = true
		c.lru.MoveToFront(el)
		return cs, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{Stmt: st, c: c, query: query, inUse: true}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.byQuery, old.query)
		old.evicted = true
		if !old.inUse {
			_ = old.Stmt.Close()
		}
	}
	return cs, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Close finalizes the kept statements, then closes the connection (SQLite refuses to
// close a connection with statements left).
func (c *cachingConn) Close() error {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		_ = el.Value.(*cachedStmt).Stmt.Close()
	}
	c.lru.Init()
	c.byQuery = map[string]*list.Element{}
	return c.Conn.Close()
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

// QueryContext runs a query that was not prepared first (a read on the pool outside a
// transaction, Store.Read) through the connection's kept statement as well: the
// session lookup of every request took this path and parsed its query each time. The
// statement goes back to the cache when its rows are closed. Rows of a driver
// without the column-type interfaces database/sql may ask for are not wrapped; the
// query then runs as before.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	typed, ok := rows.(sqliteRows)
	if !ok {
		_ = rows.Close()
		_ = st.Close()
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	return &stmtRows{sqliteRows: typed, st: st}, nil
}

// sqliteRows is what modernc's rows offer database/sql beyond driver.Rows.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// stmtRows are the rows of a kept statement, which they release on Close.
type stmtRows struct {
	sqliteRows
	st driver.Stmt
}

func (r *stmtRows) Close() error {
	err := r.sqliteRows.Close()
	if cerr := r.st.Close(); err == nil {
		err = cerr
	}
	return err
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close hands the statement back to its connection's cache; one evicted while in use
// is finalized now.
func (s *cachedStmt) Close() error {
	s.inUse = false
	if s.evicted {
		return s.Stmt.Close()
	}
	return nil
}

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
