package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// COPY on PostgreSQL (issue 11). A multi-row INSERT of 1,000 import records (16
// parameters each, 5 MB of packed records for SigmaHQ) cost PostgreSQL far more to
// parse, plan and bind than the rows cost to store: 1.5-2 s per import against 0.2-0.3 s
// for the same rows through COPY. Large batches of a read-write transaction therefore go
// through pgx's CopyFrom on the transaction's own connection: plain inserts straight
// into their table, upserts into a temporary staging table first and from there into
// the table in one INSERT … SELECT … ON CONFLICT, which keeps the upsert's rules.
// Small batches stay multi-row statements: COPY costs a round trip more.
const (
	// copyMinRows is the smallest batch of a plain insert that goes through COPY.
	copyMinRows = 64
	// stageMinRows is the smallest batch of an upsert that goes through a staging
	// table (its creation, the COPY, the INSERT … SELECT and the drop are four round
	// trips).
	stageMinRows = 256
	// stageTable is the staging table's name; it lives as long as one flush.
	stageTable = "aegis_stage"
)

// canCopy says whether the transaction can write rows with COPY.
func (t *Tx) canCopy(rows int, least int) bool {
	return t.conn != nil && t.dialect == Postgres && rows >= least
}

// copyRows writes rows (each a value per column) into table with COPY.
func (t *Tx) copyRows(ctx context.Context, table string, cols []string, rows [][]any) error {
	t.noteWrite("INSERT INTO " + table)
	if t.observe != nil {
		t.observe(fmt.Sprintf("COPY %s (%s) FROM STDIN", table, strings.Join(cols, ", ")), nil)
	}
	err := t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: COPY needs pgx's driver, the connection is a %T", dc)
		}
		n, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		if err == nil && n != int64(len(rows)) {
			err = fmt.Errorf("store: COPY into %s wrote %d of %d rows", table, n, len(rows))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: copy %d row(s) into %s: %w", len(rows), table, err)
	}
	return nil
}

// stagedExec copies rows into a staging table of table's cols, runs q (which reads the
// stage) and drops the stage.
func (t *Tx) stagedExec(ctx context.Context, table string, cols []string, rows [][]any, q string) error {
	return t.staged(ctx, table, cols, rows, func() error {
		_, err := t.exec(ctx, q)
		return err
	})
}

// staged runs fn with rows in the staging table.
func (t *Tx) staged(ctx context.Context, table string, cols []string, rows [][]any, fn func() error) error {
	// Only the named columns, without constraints or defaults: the stage holds exactly
	// what a VALUES list would, typed as the table's columns.
	if _, err := t.exec(ctx, `CREATE TEMPORARY TABLE `+stageTable+` ON COMMIT DROP AS SELECT `+strings.Join(cols, ", ")+
		` FROM `+table+` WITH NO DATA`); err != nil {
		return fmt.Errorf("store: stage %s: %w", table, err)
	}
	if err := t.copyRows(ctx, stageTable, cols, rows); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DROP TABLE `+stageTable); err != nil {
		return fmt.Errorf("store: drop the stage of %s: %w", table, err)
	}
	return nil
}

// stagedUpsert runs an upsert's rows through a staging table: COPY into it, then
// INSERT INTO table (cols) SELECT cols FROM the stage followed by suffix (the upsert's
// ON CONFLICT clause and RETURNING id); dst receives the returned ids.
func (t *Tx) stagedUpsert(ctx context.Context, dst *[]string, table string, cols []string, rows [][]any, suffix string) error {
	list := strings.Join(cols, ", ")
	return t.staged(ctx, table, cols, rows, func() error {
		return t.sel(ctx, dst, `INSERT INTO `+table+` (`+list+`) SELECT `+list+` FROM `+stageTable+` `+suffix)
	})
}
