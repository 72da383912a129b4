package store

import (
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestSQLiteTimeMatchesTheDriver holds sqliteTime to what modernc's driver returns for
// the same text in a TIMESTAMP column: the layout the store writes, from random times
// in several zones, with and without fractions, and the other texts the driver reads.
func TestSQLiteTimeMatchesTheDriver(t *testing.T) {
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "t.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE x (at TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	texts := []string{"2026-05-31 00:04:03+00:00", "2026-05-31 00:04:03.5+02:00", "2026-02-28 23:59:59.123456789-07:30",
		"2024-02-29 12:00:00+00:00", "2026-05-31T00:04:03+00:00", "2026-05-31 00:04:03", "2026-05-31T00:04:03Z",
		"2026-05-31 00:04", "2026-05-31", "2026-05-31 00:04:03,25+01:00", "2026-05-31 00:04:03.123 +0000 UTC",
		"2026-05-31 00:04:03.123 +0000 UTC m=+0.001", "2026-05-31 00:04:03+24:00", "2026-05-31 00:04:03+00:00 "}
	rng := rand.New(rand.NewPCG(3, 4))
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 3600), time.FixedZone("z", -5*3600-30*60)}
	for i := 0; i < 300; i++ {
		v := time.Unix(rng.Int64N(4e9), 0).In(zones[rng.IntN(len(zones))])
		if rng.IntN(2) == 0 {
			v = v.Add(time.Duration(rng.IntN(1e9)))
		}
		texts = append(texts, v.Format(sqliteTimeLayouts[0]))
	}
	for _, s := range texts {
		if _, err := db.Exec(`DELETE FROM x`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO x VALUES (?)`, s); err != nil {
			t.Fatal(err)
		}
		var driver any
		if err := db.QueryRow(`SELECT at FROM x`).Scan(&driver); err != nil {
			t.Fatal(err)
		}
		got, ok := sqliteTime(s)
		if want, isTime := driver.(time.Time); isTime != ok || (ok && !reflect.DeepEqual(got, want)) {
			t.Errorf("%q: sqliteTime %v (%v, ok %v), the driver %#v", s, got, got.Location(), ok, driver)
		}
	}
}
