package store

import (
	"context"
	"fmt"
	"strings"
)

// Many rows per statement: one round trip to PostgreSQL and one statement step in
// SQLite for a batch instead of one per row. Batches are cut so that a statement has at
// most maxParams parameters (SQLite allows 32,766, PostgreSQL 65,535) and maxBatch rows;
// full batches of one shape share one statement text, which SQLite's per-transaction
// statement cache (Tx.stmt) prepares once.
const (
	maxParams = 30000
	maxBatch  = 1000
	// inChunk is how many ids go into one IN (...) list.
	inChunk = 500
	// deleteChunk is how many composite keys go into one DELETE.
	deleteChunk = 200
)

// placeholders returns "?,?,…" with n question marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// batchRows is how many rows of ncols columns go into one statement.
func batchRows(ncols int) int {
	return max(1, min(maxBatch, maxParams/max(1, ncols)))
}

// insertRows inserts rows (each a value per column) into table, batchRows at a time;
// suffix follows the VALUES list (an ON CONFLICT clause, say).
func (t *Tx) insertRows(ctx context.Context, table string, cols []string, rows [][]any, suffix string) error {
	if len(rows) == 0 {
		return nil
	}
	if suffix == "" && t.canCopy(len(rows), copyMinRows) {
		return t.copyRows(ctx, table, cols, rows)
	}
	per := batchRows(len(cols))
	tuple := "(" + placeholders(len(cols)) + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	args := make([]any, 0, min(per, len(rows))*len(cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		q := head + strings.Repeat(tuple+",", len(chunk)-1) + tuple
		if suffix != "" {
			q += " " + suffix
		}
		if _, err := t.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// deleteRows deletes the rows of table whose key columns equal one of keys (strings).
// pgTypes are the key columns' PostgreSQL types: there the keys go as one text array
// per column, unnested and cast (a chain of ORs costs PostgreSQL tens of milliseconds
// to plan per statement); SQLite gets chains of ORs, deleteChunk keys at a time.
func (t *Tx) deleteRows(ctx context.Context, table string, keyCols, pgTypes []string, keys [][]any) error {
	if len(keys) == 0 {
		return nil
	}
	if t.dialect == Postgres {
		cols := make([][]string, len(keyCols))
		sel := make([]string, len(keyCols))
		un := make([]string, len(keyCols))
		args := make([]any, len(keyCols))
		for i := range keyCols {
			cols[i] = make([]string, len(keys))
			for j, k := range keys {
				cols[i][j] = k[i].(string)
			}
			sel[i] = fmt.Sprintf("k%d::%s", i, pgTypes[i])
			un[i] = "?::text[]"
			args[i] = cols[i]
		}
		names := make([]string, len(keyCols))
		for i := range names {
			names[i] = fmt.Sprintf("k%d", i)
		}
		q := "DELETE FROM " + table + " WHERE (" + strings.Join(keyCols, ", ") + ") IN (SELECT " + strings.Join(sel, ", ") +
			" FROM unnest(" + strings.Join(un, ", ") + ") AS u(" + strings.Join(names, ", ") + "))"
		_, err := t.exec(ctx, q, args...)
		return err
	}
	conds := make([]string, len(keyCols))
	for i, c := range keyCols {
		conds[i] = c + " = ?"
	}
	one := "(" + strings.Join(conds, " AND ") + ")"
	args := make([]any, 0, deleteChunk*len(keyCols))
	for start := 0; start < len(keys); start += deleteChunk {
		chunk := keys[start:min(start+deleteChunk, len(keys))]
		args = args[:0]
		for _, k := range chunk {
			args = append(args, k...)
		}
		q := "DELETE FROM " + table + " WHERE " + strings.Repeat(one+" OR ", len(chunk)-1) + one
		if _, err := t.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// idType is the column type of ids: uuid on PostgreSQL, text in SQLite.
func (t *Tx) idType() string {
	if t.dialect == Postgres {
		return "uuid"
	}
	return "text"
}
