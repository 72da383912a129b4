package store

import (
	"database/sql/driver"
	"reflect"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// dropConnMutex puts a modernc connection in SQLite's multi-thread mode (what
// SQLITE_OPEN_NOMUTEX opens) instead of its serialized mode. The driver opens every
// connection with SQLITE_OPEN_FULLMUTEX, so SQLite takes and releases the
// connection's recursive mutex around every sqlite3_column_* call: through modernc's
// emulation of pthread mutexes that was 12–15% of the server's CPU under the mixed
// reads of BenchmarkScale (a 50-row test page reads ~2,000 column values, each with
// two or three calls). Multi-thread mode asks only that a connection and its
// statements be used by one goroutine at a time, which database/sql does (every
// call on a driver connection, its statements and rows holds the connection's lock);
// sqlite3_interrupt, the one call modernc makes from another goroutine (on a
// cancelled context), takes no mutex. This is what sqlite3_open_v2 does for
// SQLITE_OPEN_NOMUTEX: no mutex on the connection (the connection's own one, left by
// the time Open returns, is freed). The core mutexes of SQLite (allocator, page
// cache, VFS) are untouched. It reports whether the mutex was dropped; a connection
// that is not modernc's as expected (no uintptr field db) keeps it.
func dropConnMutex(c driver.Conn) bool {
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Uintptr || f.Uint() == 0 {
		return false
	}
	handle := uintptr(f.Uint())
	// The handle is C memory of modernc's allocator, outside the Go heap.
	db := *(**sqlite3.Tsqlite3)(unsafe.Pointer(&handle))
	m := db.Fmutex
	if m == 0 {
		return false
	}
	db.Fmutex = 0
	tls := libc.NewTLS()
	sqlite3.Xsqlite3_mutex_free(tls, m)
	tls.Close()
	return true
}

// connMutex is the mutex SQLite holds for a connection (sqlite3_db_mutex), 0 in
// multi-thread mode; for tests.
func connMutex(c driver.Conn) uintptr {
	if cc, ok := c.(*cachingConn); ok {
		c = cc.Conn
	}
	f := reflect.ValueOf(c).Elem().FieldByName("db")
	tls := libc.NewTLS()
	defer tls.Close()
	return sqlite3.Xsqlite3_db_mutex(tls, uintptr(f.Uint()))
}
