package store

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aegis-sec/aegis/migrations"
)

// golang-migrate keeps only the newest version applied, and Up starts above it. A
// database migrated by a build that lacked one migration (a branch build, a build made
// before a migration with a lower number landed) would never get that migration, and
// nothing would say so: the schema would just lack a table or an index. The ledger keeps
// every version applied; Migrate refuses a database whose version is past a migration
// the ledger lacks, and ApplySkipped applies such migrations when an admin asks.
const ledgerTable = "schema_migrations_ledger"

// migrationFile is one up migration the binary carries.
type migrationFile struct {
	Version uint
	Name    string // e.g. 0270_campaign_tests_state.up.sql
}

// upMigrations lists the binary's up migrations of the dialect, by version.
func upMigrations(dialect string) ([]migrationFile, error) {
	src, err := migrations.For(dialect)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(src, "*.up.sql")
	if err != nil {
		return nil, err
	}
	var out []migrationFile
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: no version number", n)
		}
		out = append(out, migrationFile{Version: uint(v), Name: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// ledger creates the ledger when it is missing and returns the versions it holds. A
// database from before the ledger (or a fresh one) is taken as having every migration up
// to its version: the past cannot be checked, only what comes after.
func ledger(c *sqlx.Conn, version uint, files []migrationFile) (map[uint]bool, error) {
	ctx := context.Background()
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+ledgerTable+` (version BIGINT PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return nil, fmt.Errorf("store: migration ledger: %w", err)
	}
	var have []uint
	if err := c.SelectContext(ctx, &have, `SELECT version FROM `+ledgerTable); err != nil {
		return nil, fmt.Errorf("store: migration ledger: %w", err)
	}
	out := map[uint]bool{}
	for _, v := range have {
		out[v] = true
	}
	if len(have) == 0 && version > 0 {
		var upTo []uint
		for _, f := range files {
			if f.Version <= version {
				upTo = append(upTo, f.Version)
				out[f.Version] = true
			}
		}
		if err := record(c, upTo); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// record notes versions as applied.
func record(c *sqlx.Conn, versions []uint) error {
	now := time.Now().UTC()
	for _, v := range versions {
		q := `INSERT INTO ` + ledgerTable + ` (version, applied_at) VALUES (?, ?) ON CONFLICT (version) DO NOTHING`
		if _, err := c.ExecContext(context.Background(), c.Rebind(q), v, now); err != nil {
			return fmt.Errorf("store: migration ledger: record %d: %w", v, err)
		}
	}
	return nil
}

// forget removes versions above version from the ledger (after a migrate down).
func forget(c *sqlx.Conn, version uint) error {
	if _, err := c.ExecContext(context.Background(), c.Rebind(`DELETE FROM `+ledgerTable+` WHERE version > ?`), version); err != nil {
		return fmt.Errorf("store: migration ledger: %w", err)
	}
	return nil
}

// skipped returns the binary's migrations at or below version that the ledger lacks.
func skipped(files []migrationFile, have map[uint]bool, version uint) []migrationFile {
	var out []migrationFile
	for _, f := range files {
		if f.Version <= version && !have[f.Version] {
			out = append(out, f)
		}
	}
	return out
}

// SkippedMigrationsError is Migrate's answer for a database that is past migrations
// it never had.
type SkippedMigrationsError struct {
	Version uint
	Skipped []string // file names
}

func (e *SkippedMigrationsError) Error() string {
	return fmt.Sprintf("store: the database is at migration %d but never had %s: a build without them migrated it past their numbers. "+
		"Back it up, then run `aegis migrate up --apply-skipped` to apply them now", e.Version, strings.Join(e.Skipped, ", "))
}

// ApplySkipped applies, in order, the migrations at or below the database's version
// that it never had (see SkippedMigrationsError), each in its own transaction, and
// returns their file names. Then Migrate runs as usual.
func (s *Store) ApplySkipped() ([]string, error) {
	st, err := s.MigrationVersion()
	if err != nil {
		return nil, err
	}
	if st.Dirty {
		return nil, fmt.Errorf("store: the database is dirty at migration %d; fix it first", st.Version)
	}
	files, err := upMigrations(s.dialect)
	if err != nil {
		return nil, err
	}
	src, err := migrations.For(s.dialect)
	if err != nil {
		return nil, err
	}
	var applied []string
	err = s.withLedger(func(c *sqlx.Conn) error {
		have, err := ledger(c, st.Version, files)
		if err != nil {
			return err
		}
		ctx := context.Background()
		for _, f := range skipped(files, have, st.Version) {
			body, err := fs.ReadFile(src, f.Name)
			if err != nil {
				return err
			}
			tx, err := c.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			q := c.Rebind(`INSERT INTO ` + ledgerTable + ` (version, applied_at) VALUES (?, ?)`)
			if _, err := tx.Exec(string(body)); err != nil {
				tx.Rollback()
				return fmt.Errorf("store: apply skipped migration %s: %w", f.Name, err)
			}
			if _, err := tx.Exec(q, f.Version, time.Now().UTC()); err != nil {
				tx.Rollback()
				return fmt.Errorf("store: apply skipped migration %s: %w", f.Name, err)
			}
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("store: apply skipped migration %s: %w", f.Name, err)
			}
			applied = append(applied, f.Name)
		}
		return nil
	})
	if err != nil {
		return applied, err
	}
	return applied, s.Migrate()
}

// migrateLock keeps two instances starting together on one PostgreSQL database from
// reading the ledger while the other is between migrating and recording.
const migrateLock = 0x61656769730a01

// withLedger runs fn on one connection of the write pool, holding migrateLock on
// PostgreSQL (SQLite has one writer per file anyway).
func (s *Store) withLedger(fn func(c *sqlx.Conn) error) error {
	ctx := context.Background()
	c, err := s.write.Connx(ctx)
	if err != nil {
		return fmt.Errorf("store: migration ledger: %w", err)
	}
	defer c.Close()
	if s.dialect == Postgres {
		if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer c.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, migrateLock)
	}
	return fn(c)
}
