// Package store is the SQL adapter of core.Store on jmoiron/sqlx, for SQLite (the
// embedded default, modernc.org/sqlite) and PostgreSQL (pgx's database/sql driver).
// Queries are written once with ? placeholders and rebound per dialect; where the
// dialects differ, this file says so.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/aegis-sec/aegis/core"
)

func init() {
	// modernc registers as "sqlite", a name sqlx does not know the bind style of.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Options say which database to open.
type Options struct {
	Driver       string // "sqlite" or "postgres"
	DSN          string // a file path for SQLite; a URL or key=value DSN for PostgreSQL
	MaxOpenConns int
	Logger       hclog.Logger
	// AuditKey, when set, anchors the audit chain: each entry gets an HMAC over its
	// number and hash, and VerifyAudit checks them. It comes from outside the
	// database (AEGIS_AUDIT_KEY).
	AuditKey []byte
}

// Store implements core.Store.
type Store struct {
	dialect string
	dsn     string
	// SQLite allows one writer at a time: writes go through a single connection that
	// takes the write lock at BEGIN (IMMEDIATE), so two writers queue instead of failing
	// with SQLITE_BUSY when a read lock cannot be upgraded. Reads use their own pool.
	// On PostgreSQL both are the same pool.
	write *sqlx.DB
	read  *sqlx.DB
	log   hclog.Logger
	// auditKey anchors the audit chain (Options.AuditKey).
	auditKey []byte
	// observe, when set, sees every query a transaction runs through exec, get and sel
	// (rebound for the dialect) with its arguments: tests count queries with it and
	// explain the plans of the ones they catch.
	observe func(query string, args []any)
}

// ObserveQueries calls fn with every query (as sent to the database) and its arguments
// that transactions begun after the call run; nil stops it. It is meant for tests: a
// query count that must not grow with a page, a plan that must use an index.
func (s *Store) ObserveQueries(fn func(query string, args []any)) { s.observe = fn }

var _ core.Store = (*Store)(nil)

// Open connects to the database; it does not migrate (see Migrate).
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 10
	}
	s := &Store{dialect: o.Driver, dsn: o.DSN, log: o.Logger, auditKey: o.AuditKey}
	var err error
	switch o.Driver {
	case SQLite:
		if err := ensureDir(o.DSN); err != nil {
			return nil, err
		}
		if s.write, err = sqlx.Open(cachedDriver(), sqliteDSN(o.DSN, true)); err != nil {
			return nil, fmt.Errorf("store: open sqlite %s: %w", o.DSN, err)
		}
		s.write.SetMaxOpenConns(1)
		if s.read, err = sqlx.Open(cachedDriver(), sqliteDSN(o.DSN, false)); err != nil {
			s.write.Close()
			return nil, fmt.Errorf("store: open sqlite %s: %w", o.DSN, err)
		}
		s.read.SetMaxOpenConns(o.MaxOpenConns)
		// database/sql keeps 2 idle connections unless told: under more concurrent
		// requests than that, each one past the second closed its connection after use
		// and the next opened a new one, losing its page cache and paying the pragmas.
		s.read.SetMaxIdleConns(o.MaxOpenConns)
	case Postgres:
		if s.write, err = sqlx.Open("pgx", o.DSN); err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		s.write.SetMaxOpenConns(o.MaxOpenConns)
		// Keep every connection open between requests (database/sql keeps 2 by
		// default): a new PostgreSQL connection is a new server process, and with 4
		// concurrent readers most requests paid for one.
		s.write.SetMaxIdleConns(o.MaxOpenConns)
		s.read = s.write
	default:
		return nil, fmt.Errorf("store: unknown driver %q (sqlite or postgres)", o.Driver)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: connect %s: %w", o.Driver, err)
	}
	return s, nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// DB returns the read-write handle, for tests and tools that compare table contents.
func (s *Store) DB() *sqlx.DB { return s.write }

func ensureDir(path string) error {
	if path == "" || strings.HasPrefix(path, "file:") {
		return nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("store: create database folder: %w", err)
		}
	}
	return nil
}

// sqliteDSN turns a file path into a modernc DSN with the pragmas Aegis relies on:
// WAL (readers do not block the writer), foreign keys (off by default in SQLite) and a
// busy timeout (a second process, such as the CLI beside a running server, waits
// instead of failing). Each connection caches up to 16 MiB of pages instead of SQLite's
// 2 MiB: at 100,000 tests the indexes a page of the lists reads and a snapshot's new
// rows did not fit in 2 MiB, and every miss was a read system call (a quarter of the
// server's CPU under the mixed read load of BenchmarkScale).
func sqliteDSN(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-16384)")
	q.Set("_time_format", "sqlite")
	if write {
		q.Set("_txlock", "immediate")
	}
	p := strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return "file:" + p + "?" + q.Encode()
}

// Analyze refreshes PostgreSQL's planner statistics and visibility map after a bulk
// load (the synthetic organisation), as autovacuum would within a minute or so. Until
// then the planner sizes the new tables from their empty state and picks sequential
// scans and hash joins a page of 50 rows does not need, and no index-only scan is
// possible (the campaign list's counts read only campaign_tests_state_idx once the
// table is vacuumed). SQLite plans without statistics here, so it does nothing there.
func (s *Store) Analyze(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	// The tables of this store's schema only: a database may hold other schemas (the
	// tests give each store one), which are not ours to vacuum.
	var tables []string
	if err := s.write.SelectContext(ctx, &tables, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`); err != nil {
		return fmt.Errorf("store: list tables to vacuum: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, `VACUUM (ANALYZE) `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("store: vacuum and analyze: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return err
	}
	if s.read != s.write {
		return s.read.PingContext(ctx)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	var errs []error
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(core.Tx) error) error {
	return s.run(ctx, s.read, &sql.TxOptions{ReadOnly: s.dialect == Postgres}, fn)
}

// Read runs fn, a read of one statement, on the read pool without an explicit
// transaction: a single statement sees one consistent snapshot on its own on both
// databases, and a BEGIN and COMMIT around it cost PostgreSQL two more round trips
// (three for one) and SQLite two more statements. It is for the reads every request
// makes (the session of a cookie); a read of several statements that must agree uses
// View. A write through fn fails (errPooledWrite).
func (s *Store) Read(ctx context.Context, fn func(core.Tx) error) error {
	err := fn(&Tx{tx: pooled{s.read}, pooled: true, dialect: s.dialect, observe: s.observe, auditKey: s.auditKey})
	if ctx.Err() == nil && s.connectionLost(err) {
		s.log.Warn("the database is unreachable", "error", err)
		return &core.Error{Code: core.EUNAVAILABLE, Message: "the database is unavailable (its connection failed); try again shortly"}
	}
	return err
}

// errPooledWrite is a write attempted through Store.Read, which has no transaction to
// commit it in: a programming error, refused before it reaches the database.
var errPooledWrite = errors.New("store: a write outside a transaction (Store.Read is for reads; use Update)")

// pooled is the read pool as a Tx's statement runner (Store.Read): it refuses writes.
// Those made by get or sel (an INSERT … RETURNING) are refused by readOnly.
type pooled struct{ *sqlx.DB }

// writeStatement matches a statement that writes, wherever a CTE puts the write.
var writeStatement = &queryMatch{re: regexp.MustCompile(`(?is)\b(?:INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b`)}

// readOnly refuses a write of a Tx that has no transaction (Store.Read).
func (t *Tx) readOnly(q string) error {
	if t.pooled && writeStatement.match(q) {
		return errPooledWrite
	}
	return nil
}

func (pooled) ExecContext(context.Context, string, ...any) (sql.Result, error) {
	return nil, errPooledWrite
}

func (pooled) NamedExecContext(context.Context, string, any) (sql.Result, error) {
	return nil, errPooledWrite
}

// runner is what a Tx runs its statements on: a transaction, or the read pool
// (pooled).
type runner interface {
	Rebind(string) string
	BindNamed(string, any) (string, []any, error)
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	NamedExecContext(context.Context, string, any) (sql.Result, error)
	GetContext(context.Context, any, string, ...any) error
	SelectContext(context.Context, any, string, ...any) error
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	PreparexContext(context.Context, string) (*sqlx.Stmt, error)
}

// Update runs fn in a read-write transaction and commits it when fn returns nil. On
// PostgreSQL fn may run more than once (see runTx).
func (s *Store) Update(ctx context.Context, fn func(core.Tx) error) error {
	return s.run(ctx, s.write, nil, fn)
}

func (s *Store) run(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, fn func(core.Tx) error) error {
	return s.runTx(ctx, db, opts, func(tx *Tx) error { return fn(tx) })
}

// txAttempts bounds how often a transaction PostgreSQL aborted for a conflict with a
// concurrent one is run (see runTx).
const txAttempts = 5

// runTx runs fn in a transaction. On PostgreSQL a transaction aborted because of a
// concurrent one (a deadlock, a serialization failure, a unique key another writer
// took first) is run again from the start, up to txAttempts times with a jittered,
// growing pause: each new attempt reads what the other committed. fn must therefore
// keep no state outside the transaction across calls. A conflict that outlasts the
// attempts is a core ECONFLICT naming it (409), never an internal error.
func (s *Store) runTx(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, fn func(*Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.runTxOnce(ctx, db, opts, fn)
		if ctx.Err() == nil && s.connectionLost(err) {
			s.log.Warn("the database is unreachable", "error", err)
			return &core.Error{Code: core.EUNAVAILABLE,
				Message: "the database is unavailable (its connection failed); nothing was changed unless it had already committed. Try again shortly"}
		}
		code, reason := s.conflictOf(err)
		if code == "" || ctx.Err() != nil {
			return err
		}
		if attempt == txAttempts {
			s.log.Warn("transaction conflict outlasted the retries", "attempts", attempt, "sqlstate", code, "error", err)
			return &core.Error{Code: core.ECONFLICT,
				Message: fmt.Sprintf("the change conflicted with changes made at the same time (%s), %d times in a row; try again", reason, attempt),
				Detail:  map[string]any{"reason": reason, "sqlstate": code, "attempts": attempt}}
		}
		s.log.Debug("transaction conflict, retrying", "attempt", attempt, "sqlstate", code, "error", err)
		base := 10 * time.Millisecond << (attempt - 1)
		pause := time.NewTimer(base/2 + rand.N(base/2+1))
		select {
		case <-ctx.Done():
			pause.Stop()
			return err
		case <-pause.C:
		}
	}
}

// connectionLost says whether err is the PostgreSQL server being out of reach (it
// refuses or drops connections, or is shutting down) rather than a fault of the
// statement: the request that met it answers 503, not 500, and the pool recovers by
// itself once the database is back (a broken connection is discarded, new ones are
// made). The driver's message, which names the host and user, stays in the log.
func (s *Store) connectionLost(err error) bool {
	if err == nil || s.dialect != Postgres {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: the server is shutting down,
		// crashed or not accepting connections yet.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, sql.ErrConnDone) ||
		strings.Contains(err.Error(), "conn closed")
}

// conflictOf says whether err is PostgreSQL aborting a transaction because of a
// concurrent one, with its SQLSTATE and a reason fit for the user; "" when not.
func (s *Store) conflictOf(err error) (code, reason string) {
	var pe *pgconn.PgError
	if err == nil || s.dialect != Postgres || !errors.As(err, &pe) {
		return "", ""
	}
	switch pe.Code {
	case "40P01":
		return pe.Code, "deadlock detected"
	case "40001":
		return pe.Code, "serialization failure"
	case "23505":
		return pe.Code, "another change took the same unique key " + pe.ConstraintName + " first"
	}
	return "", ""
}

func (s *Store) runTxOnce(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, fn func(*Tx) error) (err error) {
	// A read-write transaction on PostgreSQL runs on a connection of its own, so that
	// bulk writes can reach pgx's COPY on it (copy.go); database/sql keeps a
	// transaction's connection to itself.
	var conn *sqlx.Conn
	if s.dialect == Postgres && opts == nil {
		if conn, err = db.Connx(ctx); err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		defer func() {
			if conn != nil {
				conn.Close()
			}
		}()
	}
	var stx *sqlx.Tx
	if conn != nil {
		stx, err = conn.BeginTxx(ctx, opts)
	} else {
		stx, err = db.BeginTxx(ctx, opts)
	}
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{tx: stx, conn: conn, dialect: s.dialect, observe: s.observe, auditKey: s.auditKey}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err == nil {
			err = tx.flush(ctx)
		}
		if err == nil && tx.coverageWrite {
			// Last, so that the one row is locked only for the commit (PostgreSQL).
			if _, gerr := stx.ExecContext(ctx, `UPDATE coverage_generation SET n = n + 1 WHERE id = 1`); gerr != nil {
				err = fmt.Errorf("store: coverage generation: %w", gerr)
			}
		}
		if err != nil {
			_ = stx.Rollback()
			return
		}
		if cerr := stx.Commit(); cerr != nil {
			err = fmt.Errorf("store: commit: %w", cerr)
			return
		}
		// The index step takes a connection of its own from the same pool: holding this
		// one meanwhile made every writer of a full pool wait for another writer's
		// connection, all of them forever (TestSearchIndexWithAFullPool).
		if conn != nil {
			conn.Close()
			conn = nil
		}
		s.afterCommit(ctx, tx)
	}()
	return fn(tx)
}

// Tx is one transaction; it implements core.Tx.
type Tx struct {
	tx runner
	// pooled says tx is the read pool, not a transaction (Store.Read): statements go
	// straight to the pool, not through per-transaction prepared statements.
	pooled bool
	// conn is the connection of a read-write PostgreSQL transaction (for COPY); nil
	// otherwise.
	conn     *sqlx.Conn
	dialect  string
	auditKey []byte
	stmts    map[string]*sqlx.Stmt // SQLite only; closed with the transaction
	observe  func(query string, args []any)
	// coverageWrite says a statement of the transaction wrote a coverage input: the
	// commit raises the coverage generation.
	coverageWrite bool
	// searchWrite says a statement may have changed the searched text of a rule or a
	// template (PostgreSQL): the index step runs after the commit unless deferSearch
	// (searchindex.go).
	searchWrite, deferSearch bool
	// techIDs caches technique ids by external id (EnsureTechnique).
	techIDs map[string]string
	// techAll says techIDs holds every technique of the database (a held transaction).
	techAll bool
	// pendingRecords are new import_records rows not yet inserted: written many per
	// statement when enough have come, before import_records is read or updated, and
	// before the commit (flush).
	pendingRecords [][]any
	// pendingUpdates are updates of import_records rows held the same way in a
	// transaction that holds writes (importRecordUpdateCols), pendingUpdated their ids.
	pendingUpdates [][]any
	pendingUpdated map[string]bool
	// holding, held and known are the held writes of an import (held.go).
	holding bool
	held    map[string]*heldOp
	known   map[string]map[string]string
	// frameworks are the compliance frameworks a held transaction read, by external id.
	frameworks map[string]*core.ComplianceFramework
}

// flush writes what the transaction holds back.
func (t *Tx) flush(ctx context.Context) error {
	if err := t.flushHeld(ctx); err != nil {
		return err
	}
	if len(t.pendingRecords) > 0 {
		rows := t.pendingRecords
		t.pendingRecords = nil
		if err := t.insertRows(ctx, "import_records", importRecordCols, rows, ""); err != nil {
			return fmt.Errorf("store: add import records: %w", err)
		}
	}
	if len(t.pendingUpdates) > 0 {
		rows := t.pendingUpdates
		t.pendingUpdates, t.pendingUpdated = nil, nil
		return t.updateImportRecords(ctx, rows)
	}
	return nil
}

var _ core.Tx = (*Tx)(nil)

// coverageInput matches a statement that writes what the unfiltered coverage model
// reads (core/coverage caches it by the generation). Every write of the store goes
// through exec, get or sel (a NamedExec of tests is followed by refreshCoverage, which
// writes the kept counts), so none escapes; a new write path must too.
var coverageInput = &queryMatch{re: regexp.MustCompile(`(?is)^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:techniques|tactics|technique_tactics|test_template_techniques|test_templates|technique_test_counts|technique_cell_validations|attack_release_techniques|attack_release_tactics)\b`)}

// queryMatch is a regexp over statement texts with its answers kept: a transaction
// checks every statement it runs, and the texts repeat.
type queryMatch struct {
	re   *regexp.Regexp
	seen sync.Map // query text → bool
}

func (m *queryMatch) match(q string) bool {
	if v, ok := m.seen.Load(q); ok {
		return v.(bool)
	}
	w := m.re.MatchString(q)
	m.seen.Store(q, w)
	return w
}

// CoverageGeneration reads the coverage generation (see core.CoverageGenerationRepo);
// -1 in a transaction that has itself written a coverage input, whose reads differ from
// what any committed generation holds.
func (t *Tx) CoverageGeneration(ctx context.Context) (int64, error) {
	if err := t.flushHeld(ctx); err != nil {
		return 0, err
	}
	if t.coverageWrite {
		return -1, nil
	}
	var n int64
	if err := t.get(ctx, &n, `SELECT n FROM coverage_generation WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("store: coverage generation: %w", err)
	}
	return n, nil
}

// Dialect returns "sqlite" or "postgres".
func (t *Tx) Dialect() string { return t.dialect }

// stmt returns the transaction's prepared statement for q (already rebound). SQLite
// re-parses every statement it is handed; an import runs the same few upserts thousands
// of times in one transaction, and parsing was most of its CPU. The prepare itself is
// served by the connection's statement cache (stmtcache.go) when an earlier
// transaction on it ran q. PostgreSQL's driver caches prepared statements per
// connection itself, so it goes straight through.
func (t *Tx) stmt(ctx context.Context, q string) (*sqlx.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.tx.PreparexContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sqlx.Stmt{}
	}
	t.stmts[q] = st
	return st, nil
}

// begin does what every statement of a Tx does before it runs: refuse a write without a
// transaction, write back what the transaction holds, rebind, note what the statement
// writes and show it to the observer. It returns the rebound statement and, on SQLite
// inside a transaction, its prepared form (nil: run it on t.tx).
func (t *Tx) begin(ctx context.Context, q string, args []any) (string, *sqlx.Stmt, error) {
	if err := t.readOnly(q); err != nil {
		return "", nil, err
	}
	if len(t.held) > 0 {
		if err := t.flushHeld(ctx); err != nil {
			return "", nil, err
		}
	}
	q = t.tx.Rebind(q)
	t.noteWrite(q)
	if t.observe != nil {
		t.observe(q, args)
	}
	if t.dialect != SQLite || t.pooled {
		return q, nil, nil
	}
	st, err := t.stmt(ctx, q)
	return q, st, err
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.pooled {
		return nil, errPooledWrite
	}
	q, st, err := t.begin(ctx, q, args)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return t.tx.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (t *Tx) get(ctx context.Context, dst any, q string, args ...any) error {
	q, st, err := t.begin(ctx, q, args)
	if err != nil {
		return err
	}
	if st == nil {
		return t.tx.GetContext(ctx, dst, q, args...)
	}
	return st.GetContext(ctx, dst, args...)
}

func (t *Tx) sel(ctx context.Context, dst any, q string, args ...any) error {
	q, st, err := t.begin(ctx, q, args)
	if err != nil {
		return err
	}
	if st == nil {
		return t.tx.SelectContext(ctx, dst, q, args...)
	}
	return st.SelectContext(ctx, dst, args...)
}

// notFound turns sql.ErrNoRows into the domain's ENOTFOUND.
func notFound(err error, what string, key any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return core.Errorf(core.ENOTFOUND, "%s %v not found", what, key)
	}
	return fmt.Errorf("store: find %s %v: %w", what, key, err)
}

// isUniqueViolation recognises a unique-key violation in either dialect.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || // SQLite
		strings.Contains(msg, "SQLSTATE 23505") // PostgreSQL unique_violation
}

// like returns the case-insensitive LIKE operator of the dialect.
func (t *Tx) like() string {
	if t.dialect == Postgres {
		return "ILIKE"
	}
	return "LIKE" // SQLite's LIKE is case-insensitive for ASCII
}
