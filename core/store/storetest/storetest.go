// Package storetest opens real databases for tests: SQLite in a file under t.TempDir()
// always, and PostgreSQL when AEGIS_TEST_POSTGRES_DSN is set (each test in a schema of
// its own, dropped afterwards), so one table of tests runs on both drivers.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
)

// EnvPostgresDSN names the variable that points tests at a PostgreSQL database.
const EnvPostgresDSN = "AEGIS_TEST_POSTGRES_DSN"

// Drivers returns the drivers to test on: sqlite, and postgres when configured.
func Drivers() []string {
	if os.Getenv(EnvPostgresDSN) != "" {
		return []string{store.SQLite, store.Postgres}
	}
	return []string{store.SQLite}
}

// Each runs fn once per driver, as a subtest named after it, on a fresh migrated store.
// Without PostgreSQL it says so once, so a skipped half is visible in the output.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			s := Open(t, d)
			fn(t, s)
		})
	}
}

// Open returns a fresh, migrated store of the given driver, closed when the test ends.
// For postgres without AEGIS_TEST_POSTGRES_DSN the test is skipped with the reason.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	s := OpenUnmigrated(t, driver)
	if err := s.Migrate(); err != nil {
		t.Fatalf("migrate %s: %v", driver, err)
	}
	return s
}

// OpenUnmigrated is Open without the migrations, for tests of the migrations themselves.
func OpenUnmigrated(t testing.TB, driver string) *store.Store {
	t.Helper()
	dsn := DSN(t, driver)
	s, err := store.Open(context.Background(), store.Options{Driver: driver, DSN: dsn})
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DSN returns a DSN for an empty database of the given driver that lives as long as the test.
func DSN(t testing.TB, driver string) string {
	t.Helper()
	switch driver {
	case store.SQLite:
		return filepath.Join(t.TempDir(), "aegis.db")
	case store.Postgres:
		base := os.Getenv(EnvPostgresDSN)
		if base == "" {
			t.Skipf("PostgreSQL not configured: set %s to run this on PostgreSQL", EnvPostgresDSN)
		}
		return pgSchema(t, base)
	}
	t.Fatalf("unknown driver %q", driver)
	return ""
}

// pgSchema creates a schema of the test's own and returns base with its search_path.
func pgSchema(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	schema := "t_" + strings.ToLower(core.RandomToken(12))
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Logf("postgres: drop schema %s: %v", schema, err)
		}
	})
	if strings.Contains(base, "://") {
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		return base + sep + "search_path=" + schema
	}
	return fmt.Sprintf("%s search_path=%s", base, schema)
}

// NotSearchIndex is a condition on a table name column (sqlite_master's name, or
// information_schema's table_name) that leaves out the search indexes: SQLite's FTS5
// tables (<table>_fts and their shadow tables <table>_fts_data, ...), PostgreSQL's
// <table>_fts document tables and their search_fts_queue (migration 0250). They are an
// index of a table, not data of their own.
func NotSearchIndex(col string) string {
	return col + ` NOT LIKE '%\_fts' ESCAPE '\' AND ` + col + ` NOT LIKE '%\_fts\_%' ESCAPE '\'`
}

// Dump returns every row of every table (except those named in skip) as text, in a
// stable order, so a test can prove that an operation left the database exactly as it
// was.
func Dump(t testing.TB, s *store.Store, skip ...string) map[string][]string {
	t.Helper()
	skipped := map[string]bool{"schema_migrations": true, "schema_migrations_ledger": true}
	for _, n := range skip {
		skipped[n] = true
	}
	var tables []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if s.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	if err := s.DB().Select(&tables, q); err != nil {
		t.Fatalf("dump: list tables: %v", err)
	}
	out := map[string][]string{}
	for _, table := range tables {
		if skipped[table] {
			continue
		}
		rows, err := s.DB().Queryx(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		var lines []string
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = fmt.Sprint(v)
			}
			lines = append(lines, strings.Join(parts, "|"))
		}
		rows.Close()
		sort.Strings(lines)
		out[table] = lines
	}
	return out
}

// Diff describes how two dumps differ ("" when they are equal).
func Diff(before, after map[string][]string) string {
	var b strings.Builder
	names := map[string]bool{}
	for n := range before {
		names[n] = true
	}
	for n := range after {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		x, y := strings.Join(before[n], "\n"), strings.Join(after[n], "\n")
		if x != y {
			fmt.Fprintf(&b, "table %s: %d rows before, %d after\n", n, len(before[n]), len(after[n]))
		}
	}
	return b.String()
}
