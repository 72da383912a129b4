package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Held writes (issue 11). An import upserts thousands of templates or rules and their
// technique links in one transaction; one statement each is one round trip each to
// PostgreSQL, which bounded the write phase to a few thousand rows per second. A
// transaction that holds writes (HoldWrites, which only the importer asks for) keeps
// those rows back and writes them many per statement:
//
//   - before any other statement of the transaction runs (exec, get and sel flush
//     first), so nothing ever reads around a held row, and before the commit;
//   - in a fixed order of phases (the upserts, then the link deletes, then the link
//     inserts), which is the order of one record's own statements; records are
//     independent of each other, and a second write of the same row flushes first;
//   - with the ids the rows will have known in advance: the ids of a source's existing
//     rows are read once (the natural key decides whether the upsert inserts or
//     updates), so a held upsert returns its id at once, exactly as the immediate one.
//
// A row another transaction inserted with the same natural key after that read would
// make the upsert return an id the links were not written for: the flush checks the
// ids the upserts return and aborts the transaction as a serialization failure, which
// runTx retries on fresh data.

// HoldWrites makes the transaction hold back the writes of template and rule upserts
// (see above). The importer calls it at the start of its write phase.
func (t *Tx) HoldWrites() { t.holding = true }

// heldPhase orders the flush of held statements.
type heldPhase int

const (
	// phaseTechnique: placeholder techniques the links below point to.
	phaseTechnique heldPhase = iota
	phaseUpsert
	phaseDelete
	phaseInsert
)

// heldOp is the rows of one statement shape held back.
type heldOp struct {
	phase heldPhase
	seq   int // first-held order within the phase
	table string
	// cols are the inserted columns (the id first for an upsert), or the one key
	// column of a delete, whose PostgreSQL type is keyType.
	cols    []string
	keyType string
	// suffix follows the VALUES list: an upsert's ON CONFLICT clause and RETURNING id.
	suffix string
	rows   [][]any
	// keys are the held rows' natural keys (an upsert's), to flush before a second
	// write of one row in the same statement (PostgreSQL refuses it); at is where each
	// key's row is in rows.
	keys map[string]bool
	at   map[string]int
	// updates counts the held upserts of rows that exist already; with none, the rows
	// are all new and may be copied straight into the table (upsertRows).
	updates int
}

// heldOpFor returns the op of the shape name, creating it.
func (t *Tx) heldOpFor(name string, phase heldPhase, table string, cols []string) *heldOp {
	if op, ok := t.held[name]; ok {
		return op
	}
	if t.held == nil {
		t.held = map[string]*heldOp{}
	}
	op := &heldOp{phase: phase, seq: len(t.held), table: table, cols: cols, keys: map[string]bool{}}
	t.held[name] = op
	return op
}

// flushHeld writes every held row, phase by phase.
func (t *Tx) flushHeld(ctx context.Context) error {
	if len(t.held) == 0 {
		return nil
	}
	ops := make([]*heldOp, 0, len(t.held)+1)
	for _, op := range t.held {
		if op.table == "techniques" {
			ops = append(ops, splitSubtechniques(op)...)
			continue
		}
		ops = append(ops, op)
	}
	t.held = nil // the statements below must not flush again
	sort.SliceStable(ops, func(i, j int) bool {
		return ops[i].phase < ops[j].phase || ops[i].phase == ops[j].phase && ops[i].seq < ops[j].seq
	})
	for _, op := range ops {
		var err error
		switch op.phase {
		case phaseTechnique, phaseUpsert:
			err = t.upsertRows(ctx, op)
		case phaseDelete:
			keys := make([][]any, len(op.rows))
			for i, r := range op.rows {
				keys[i] = r
			}
			err = t.deleteRows(ctx, op.table, op.cols, []string{op.keyType}, keys)
		default:
			err = t.insertRows(ctx, op.table, op.cols, op.rows, op.suffix)
		}
		if err != nil {
			return fmt.Errorf("store: write %d held row(s) of %s: %w", len(op.rows), op.table, err)
		}
	}
	return nil
}

// splitSubtechniques writes held techniques (placeholders, and the upserts of an
// ATT&CK import) in two statements, parents first. One statement would do for the foreign key, but not for a concurrent writer:
// a parent another transaction inserted meanwhile is skipped (ON CONFLICT DO NOTHING),
// and its sub-techniques, pointing at the id this one chose, then failed the statement
// on techniques_parent_id_fkey (CI, TestConcurrentWritersOnPostgres) before the id
// check could see the conflict. With parents in a statement of their own the check
// sees it and the transaction is retried as a serialization failure.
func splitSubtechniques(op *heldOp) []*heldOp {
	isSub := slices.Index(op.cols, "is_subtechnique")
	var parents, subs [][]any
	for _, r := range op.rows {
		if sub, _ := r[isSub].(bool); sub {
			subs = append(subs, r)
		} else {
			parents = append(parents, r)
		}
	}
	var out []*heldOp
	for _, rows := range [][][]any{parents, subs} {
		if len(rows) > 0 {
			cp := *op
			cp.rows = rows
			out = append(out, &cp)
		}
	}
	return out
}

// upsertRows runs a held upsert many rows per statement and checks that every row kept
// the id it was given (see the comment at the top).
func (t *Tx) upsertRows(ctx context.Context, op *heldOp) error {
	if op.phase == phaseUpsert && op.updates == 0 && t.canCopy(len(op.rows), copyMinRows) {
		// Every row is new (a first import): copied straight into the table, without
		// the stage and the INSERT … SELECT … ON CONFLICT from it, which cost SigmaHQ's
		// rules as much again as the COPY. A row another transaction added meanwhile
		// with the same natural key fails the COPY on the unique key, which runTx
		// retries as a conflict (23505) on fresh data, as the id check below would.
		return t.copyRows(ctx, op.table, op.cols, op.rows)
	}
	per := batchRows(len(op.cols))
	if t.canCopy(len(op.rows), stageMinRows) {
		per = len(op.rows)
	}
	tuple := "(" + placeholders(len(op.cols)) + ")"
	head := "INSERT INTO " + op.table + " (" + strings.Join(op.cols, ", ") + ") VALUES "
	for start := 0; start < len(op.rows); start += per {
		chunk := op.rows[start:min(start+per, len(op.rows))]
		want := make(map[string]bool, len(chunk))
		for _, r := range chunk {
			want[r[0].(string)] = true
		}
		var got []string
		if t.canCopy(len(chunk), stageMinRows) {
			if err := t.stagedUpsert(ctx, &got, op.table, op.cols, chunk, op.suffix); err != nil {
				return err
			}
		} else {
			args := make([]any, 0, len(chunk)*len(op.cols))
			for _, r := range chunk {
				args = append(args, r...)
			}
			if err := t.sel(ctx, &got, head+strings.Repeat(tuple+",", len(chunk)-1)+tuple+" "+op.suffix, args...); err != nil {
				return err
			}
		}
		ok := len(got) == len(chunk)
		for _, id := range got {
			ok = ok && want[id]
		}
		if !ok {
			return &pgconn.PgError{Code: "40001", Severity: "ERROR", Message: fmt.Sprintf(
				"rows of %s were added by another transaction while this one held its writes", op.table)}
		}
	}
	return nil
}

// knownIDs returns the ids of table's rows of source by external id, read once per
// transaction (rows the transaction adds are added to the map).
func (t *Tx) knownIDs(ctx context.Context, table, source string) (map[string]string, error) {
	return t.knownBy(ctx, table+"\x00"+source, `SELECT external_id AS k, id FROM `+table+` WHERE source = ?`, source)
}

// knownBy returns the ids of the rows q selects (k, id) by k, read once per transaction
// under the name key (rows the transaction adds are added to the map).
func (t *Tx) knownBy(ctx context.Context, key, q string, args ...any) (map[string]string, error) {
	if m, ok := t.known[key]; ok {
		return m, nil
	}
	var rows []struct {
		K  string `db:"k"`
		ID string `db:"id"`
	}
	if err := t.sel(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("store: known ids (%s): %w", strings.ReplaceAll(key, "\x00", " "), err)
	}
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.K] = r.ID
	}
	if t.known == nil {
		t.known = map[string]map[string]string{}
	}
	t.known[key] = m
	return m, nil
}

// holdUpsert holds the upsert of one row of table by (source, external id) with its
// technique links, and sets *id to the id the row has or will have. q is the row's
// single-row named upsert (upsertSQL), arg the value it binds.
func (t *Tx) holdUpsert(ctx context.Context, table, linkTable, ownerCol, q string, arg any, id *string, source, externalID string,
	techniques []string) error {
	known, err := t.knownIDs(ctx, table, source)
	if err != nil {
		return err
	}
	created, err := t.holdNamedUpsert(ctx, table, q, arg, id, known, externalID)
	if err != nil {
		return err
	}
	rows, err := t.techniqueLinks(ctx, *id, techniques)
	if err != nil {
		return err
	}
	t.holdLinks(linkTable, ownerCol, *id, created, []string{ownerCol, "technique_id"}, rows)
	return nil
}

// holdNamedUpsert holds the upsert q (a single-row named upsert of upsertOn, the id
// first) of arg, whose natural key is key among known (the ids of the rows q may
// conflict with), and sets *id to the id the row has or will have; created says the row
// is new.
func (t *Tx) holdNamedUpsert(ctx context.Context, table, q string, arg any, id *string, known map[string]string, key string) (bool, error) {
	name := "upsert " + table
	if op, ok := t.held[name]; ok && op.keys[key] {
		if err := t.flushHeld(ctx); err != nil {
			return false, err
		}
	}
	existing, created := known[key], false
	if existing == "" {
		known[key], created = *id, true
	} else {
		*id = existing
	}
	_, args, err := t.tx.BindNamed(q, arg)
	if err != nil {
		return false, err
	}
	cut := strings.Index(q, ") VALUES (")
	fields := strings.Split(q[strings.Index(q, "(")+1:cut], ", ")
	op := t.holdRow(name, phaseUpsert, table, fields, q[strings.Index(q, " ON CONFLICT "):], key, args)
	if !created {
		op.updates++
	}
	return created, nil
}

// holdRow holds one row of the statement shape name. A row of an upsert (suffix set)
// whose key is already held replaces the held one in the insert phase (a multi-row
// upsert may not touch one row twice; the later write wins, as it would one at a time);
// callers of the upsert phase flush before holding a key twice (holdNamedUpsert).
func (t *Tx) holdRow(name string, phase heldPhase, table string, cols []string, suffix, key string, row []any) *heldOp {
	op := t.heldOpFor(name, phase, table, cols)
	op.suffix = suffix
	if key != "" {
		if i, ok := op.at[key]; ok && phase == phaseInsert {
			op.rows[i] = row
			return op
		}
		op.keys[key] = true
		if op.at == nil {
			op.at = map[string]int{}
		}
		op.at[key] = len(op.rows)
	}
	op.rows = append(op.rows, row)
	return op
}

// holdLinks holds the replacement of an owner row's links in linkTable (rows of cols):
// the delete of the links it had, unless created, then the inserts.
func (t *Tx) holdLinks(linkTable, ownerCol, ownerID string, created bool, cols []string, rows [][]any) {
	if !created {
		del := t.heldOpFor("delete "+linkTable, phaseDelete, linkTable, []string{ownerCol})
		del.keyType = t.idType()
		del.rows = append(del.rows, []any{ownerID})
	}
	ins := t.heldOpFor("insert "+linkTable, phaseInsert, linkTable, cols)
	ins.rows = append(ins.rows, rows...)
}
