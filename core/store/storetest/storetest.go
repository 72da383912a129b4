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
