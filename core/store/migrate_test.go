package store_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/migrations"
)

// column is what the two dialects must agree on: the name and whether NULL is allowed.
type column struct {
	Table, Name string
	NotNull     bool
}

func schemaOf(t *testing.T, s *store.Store) []column {
	t.Helper()
	var cols []column
	var q string
	switch s.Dialect() {
	case store.SQLite:
		// A primary key column of SQLite may hold NULL unless declared NOT NULL; PostgreSQL
		// makes it NOT NULL implicitly, so count pk columns as NOT NULL.
		q = `SELECT m.name AS table_name, p.name AS column_name, (p."notnull" = 1 OR p.pk > 0) AS not_null
			FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'schema_migrations%' AND ` + storetest.NotSearchIndex("m.name")
	case store.Postgres:
		// search_doc and the <table>_fts tables with their queue (migration 0250) are the
		// full-text index of a table (the FTS5 tables on SQLite).
		q = `SELECT table_name, column_name, (is_nullable = 'NO') AS not_null FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name NOT LIKE 'schema_migrations%' AND data_type <> 'tsvector' AND ` +
			storetest.NotSearchIndex("table_name")
	}
	rows, err := s.DB().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.Table, &c.Name, &c.NotNull); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	sort.Slice(cols, func(i, j int) bool {
		if cols[i].Table != cols[j].Table {
			return cols[i].Table < cols[j].Table
		}
		return cols[i].Name < cols[j].Name
	})
	return cols
}

func TestMigrationFilesPaired(t *testing.T) {
	names := map[string][]string{}
	for _, d := range []string{"sqlite", "postgres"} {
		f, err := migrations.For(d)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(f, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names[d] = append(names[d], e.Name())
		}
	}
	if strings.Join(names["sqlite"], ",") != strings.Join(names["postgres"], ",") {
		t.Fatalf("the dialects carry different migrations:\nsqlite:   %v\npostgres: %v", names["sqlite"], names["postgres"])
	}
	for _, n := range names["sqlite"] {
		if strings.HasSuffix(n, ".up.sql") {
			down := strings.TrimSuffix(n, ".up.sql") + ".down.sql"
			if !contains(names["sqlite"], down) {
				t.Errorf("%s has no %s", n, down)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDialectsHaveSameSchema(t *testing.T) {
	if os.Getenv(storetest.EnvPostgresDSN) == "" {
		t.Skipf("PostgreSQL not configured: set %s to compare the two schemas", storetest.EnvPostgresDSN)
	}
	lite := schemaOf(t, storetest.Open(t, store.SQLite))
	pg := schemaOf(t, storetest.Open(t, store.Postgres))
	if len(lite) < 100 {
		t.Fatalf("only %d columns in SQLite: the schema did not load", len(lite))
	}
	index := func(cols []column) map[string]column {
		m := map[string]column{}
		for _, c := range cols {
			m[c.Table+"."+c.Name] = c
		}
		return m
	}
	li, pi := index(lite), index(pg)
	var diffs []string
	for k, c := range li {
		p, ok := pi[k]
		switch {
		case !ok:
			diffs = append(diffs, k+" only in SQLite")
		case p.NotNull != c.NotNull:
			diffs = append(diffs, fmt.Sprintf("%s NOT NULL: sqlite %v, postgres %v", k, c.NotNull, p.NotNull))
		}
	}
	for k := range pi {
		if _, ok := li[k]; !ok {
			diffs = append(diffs, k+" only in PostgreSQL")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("the migrations disagree:\n%s", strings.Join(diffs, "\n"))
	}
}

func TestMigrationsGoDownAndUp(t *testing.T) {
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			s := storetest.OpenUnmigrated(t, d)
			st, err := s.MigrationVersion()
			if err != nil || st.Version != 0 || st.Latest == 0 {
				t.Fatalf("fresh database: %+v %v", st, err)
			}
			if err := s.Migrate(); err != nil {
				t.Fatal(err)
			}
			first := schemaOf(t, s)
			// Step down one migration at a time, then all the way up again.
			for v := st.Latest; v > 0; {
				if err := s.MigrateDown(1); err != nil {
					t.Fatalf("down from %d: %v", v, err)
				}
				now, err := s.MigrationVersion()
				if err != nil || now.Dirty {
					t.Fatalf("after down from %d: %+v %v", v, now, err)
				}
				v = now.Version
			}
			if left := schemaOf(t, s); len(left) != 0 {
				t.Fatalf("tables left after migrating all the way down: %v", left)
			}
			if err := s.Migrate(); err != nil {
				t.Fatalf("up again: %v", err)
			}
			again := schemaOf(t, s)
			if fmt.Sprint(first) != fmt.Sprint(again) {
				t.Fatal("schema after down and up differs from the first")
			}
			now, _ := s.MigrationVersion()
			if now.Version != st.Latest || now.Dirty {
				t.Fatalf("final version %+v, want %d", now, st.Latest)
			}
		})
	}
}

// A database migrated past a migration it never had (by a build that lacked it) is
// refused with the migration's name, and `migrate up --apply-skipped` applies it.
func TestSkippedMigrationsAreRefusedAndApplied(t *testing.T) {
	for _, d := range []string{store.SQLite, store.Postgres} {
		t.Run(d, func(t *testing.T) {
			s := storetest.Open(t, d)
			var n int
			if err := s.DB().Get(&n, `SELECT COUNT(*) FROM schema_migrations_ledger`); err != nil {
				t.Fatal(err)
			}
			files, _ := fs.Glob(migrationsOf(t, d), "*.up.sql")
			if n != len(files) || n < 20 {
				t.Fatalf("ledger holds %d versions, the binary carries %d migrations", n, len(files))
			}
			// Undo migration 0003 (an index) as a build without it would never have made
			// it, and drop it from the ledger.
			if _, err := s.DB().Exec(`DROP INDEX tests_retest_once_idx`); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().Exec(`DELETE FROM schema_migrations_ledger WHERE version = 3`); err != nil {
				t.Fatal(err)
			}
			err := s.Migrate()
			var skipped *store.SkippedMigrationsError
			if !errors.As(err, &skipped) || len(skipped.Skipped) != 1 || !strings.HasPrefix(skipped.Skipped[0], "0003_") ||
				!strings.Contains(err.Error(), "--apply-skipped") {
				t.Fatalf("migrate: %v", err)
			}
			applied, err := s.ApplySkipped()
			if err != nil || len(applied) != 1 || applied[0] != skipped.Skipped[0] {
				t.Fatalf("apply skipped: %v %v", applied, err)
			}
			if !hasIndex(t, s, "tests_retest_once_idx") {
				t.Error("the skipped migration's index is still missing")
			}
			if err := s.Migrate(); err != nil {
				t.Errorf("migrate after applying: %v", err)
			}

			// Migrating down forgets the versions it reverts, so up again is no skip; a
			// database from before the ledger is taken as complete up to its version.
			if err := s.MigrateDown(2); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Get(&n, `SELECT COUNT(*) FROM schema_migrations_ledger`); err != nil || n != len(files)-2 {
				t.Errorf("after down 2: %d versions (%v)", n, err)
			}
			if _, err := s.DB().Exec(`DROP TABLE schema_migrations_ledger`); err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Get(&n, `SELECT COUNT(*) FROM schema_migrations_ledger`); err != nil || n != len(files) {
				t.Errorf("rebuilt ledger: %d versions (%v)", n, err)
			}
		})
	}
}

func migrationsOf(t *testing.T, dialect string) fs.FS {
	t.Helper()
	f, err := migrations.For(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func hasIndex(t *testing.T, s *store.Store, name string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?`
	if s.Dialect() == store.Postgres {
		q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1`
	}
	var n int
	if err := s.DB().Get(&n, q, name); err != nil {
		t.Fatal(err)
	}
	return n == 1
}
