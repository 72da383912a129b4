package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jmoiron/sqlx"

	"github.com/aegis-sec/aegis/migrations"
)

// Migration status.
type MigrationStatus struct {
	Version uint
	Dirty   bool
	Latest  uint
}

// migrator opens its own connection: golang-migrate closes the database it was given
// when it is closed, which must not take the store's pools with it.
func (s *Store) migrator() (*migrate.Migrate, func(), error) {
	src, err := migrations.For(s.dialect)
	if err != nil {
		return nil, nil, err
	}
	source, err := iofs.New(src, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("store: migrations source: %w", err)
	}
	var db *sql.DB
	var m *migrate.Migrate
	switch s.dialect {
	case SQLite:
		if db, err = sql.Open("sqlite", sqliteDSN(s.dsn, true)); err != nil {
			return nil, nil, err
		}
		drv, err := migratesqlite.WithInstance(db, &migratesqlite.Config{})
		if err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("store: migrate driver: %w", err)
		}
		m, err = migrate.NewWithInstance("iofs", source, "sqlite", drv)
		if err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("store: migrate: %w", err)
		}
	case Postgres:
		if db, err = sql.Open("pgx", s.dsn); err != nil {
			return nil, nil, err
		}
		drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
		if err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("store: migrate driver: %w", err)
		}
		m, err = migrate.NewWithInstance("iofs", source, "pgx", drv)
		if err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("store: migrate: %w", err)
		}
	}
	return m, func() { m.Close() }, nil
}

// Migrate applies every pending up migration.
func (s *Store) Migrate() error {
	m, done, err := s.migrator()
	if err != nil {
		return err
	}
	defer done()
	files, err := upMigrations(s.dialect)
	if err != nil {
		return err
	}
	err = s.withLedger(func(c *sqlx.Conn) error {
		before, err := version(m)
		if err != nil {
			return err
		}
		have, err := ledger(c, before, files)
		if err != nil {
			return err
		}
		if miss := skipped(files, have, before); len(miss) > 0 {
			e := &SkippedMigrationsError{Version: before}
			for _, f := range miss {
				e.Skipped = append(e.Skipped, f.Name)
			}
			return e
		}
		upErr := m.Up()
		if errors.Is(upErr, migrate.ErrNoChange) {
			upErr = nil
		}
		// What Up applied, also when it failed part-way: the versions up to the one it
		// stopped at, that one only when it is not dirty.
		after, dirty, err := m.Version()
		if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
			return fmt.Errorf("store: migration version: %w", err)
		}
		var applied []uint
		for _, f := range files {
			if f.Version > before && (f.Version < after || f.Version == after && !dirty) {
				applied = append(applied, f.Version)
			}
		}
		if err := record(c, applied); err != nil {
			return err
		}
		if upErr != nil {
			return fmt.Errorf("store: migrate up: %w", upErr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Search documents a crash left queued between a commit and its index step
	// (searchindex.go): the server migrates on start.
	if _, err := s.IndexSearch(context.Background()); err != nil {
		return err
	}
	return nil
}

// MigrateDown reverts the given number of migrations (all of them when steps <= 0).
func (s *Store) MigrateDown(steps int) error {
	m, done, err := s.migrator()
	if err != nil {
		return err
	}
	defer done()
	if steps <= 0 {
		err = m.Down()
	} else {
		err = m.Steps(-steps)
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	return s.forgetAbove(m)
}

// forgetAbove drops from the ledger the versions above the database's one.
func (s *Store) forgetAbove(m *migrate.Migrate) error {
	v, err := version(m)
	if err != nil {
		return err
	}
	return s.withLedger(func(c *sqlx.Conn) error { return forget(c, v) })
}

// version is the applied version, 0 for none.
func version(m *migrate.Migrate) (uint, error) {
	v, _, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: migration version: %w", err)
	}
	return v, nil
}

// MigrateDownBelow reverts migrations one at a time until the applied version is below
// version: a test of one migration's backfill goes back to before it whatever
// migrations were added after it.
func (s *Store) MigrateDownBelow(version uint) error {
	m, done, err := s.migrator()
	if err != nil {
		return err
	}
	defer done()
	for {
		v, _, err := m.Version()
		if errors.Is(err, migrate.ErrNilVersion) || err == nil && v < version {
			return s.forgetAbove(m)
		}
		if err != nil {
			return fmt.Errorf("store: migrate down below %d: %w", version, err)
		}
		if err := m.Steps(-1); err != nil {
			return fmt.Errorf("store: migrate down below %d (at %d): %w", version, v, err)
		}
	}
}

// MigrationVersion reports the applied version, whether a failed migration left the
// database dirty, and the newest version the binary carries.
func (s *Store) MigrationVersion() (MigrationStatus, error) {
	m, done, err := s.migrator()
	if err != nil {
		return MigrationStatus{}, err
	}
	defer done()
	var st MigrationStatus
	v, dirty, err := m.Version()
	if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
		return st, fmt.Errorf("store: migration version: %w", err)
	}
	st.Version, st.Dirty = v, dirty
	st.Latest, err = latestVersion(s.dialect)
	return st, err
}

func latestVersion(dialect string) (uint, error) {
	src, err := migrations.For(dialect)
	if err != nil {
		return 0, err
	}
	d, err := iofs.New(src, ".")
	if err != nil {
		return 0, err
	}
	defer d.Close()
	v, err := d.First()
	if err != nil {
		return 0, nil
	}
	for {
		next, err := d.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}
