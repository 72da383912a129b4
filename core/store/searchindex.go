package store

import (
	"context"
	"fmt"
	"regexp"
	"time"
)

// The search documents of detection rules and test templates on PostgreSQL are written
// after the writer's transaction (migration 0250, issue 11): computing them took most of
// an import's write phase. Triggers queue the ids of the rows whose indexed text a
// transaction changed (search_fts_queue, committed or rolled back with the rows);
// IndexSearch writes their documents. The store runs it right after the commit of every
// transaction that wrote one of the two tables, so a caller that gets its write back
// also finds it by search; the importer defers it (DeferSearchIndex) to run it as a step
// of its own, timed and reported apart. Migrate runs it too, which consumes what a crash
// between a commit and its index step left queued. SQLite keeps its FTS5 triggers in
// the writer's transaction (migration 0200).

// searchDocs are the tables whose documents IndexSearch writes: each queued id of table
// gets doc(columns) in table_fts.
var searchDocs = []struct{ table, doc string }{
	{"detection_rules", "search_doc_detection_rule(r.title, r.external_id, r.description, r.query, r.raw)"},
	{"test_templates", "search_doc_test_template(r.name, r.external_id, r.description, r.command)"},
}

// searchInput matches a statement that may change the indexed text of a rule or a
// template (what the triggers of migration 0250 watch).
var searchInput = &queryMatch{re: regexp.MustCompile(`(?is)^\s*(?:INSERT\s+INTO|UPDATE)\s+(?:detection_rules|test_templates)\b`)}

// noteWrite records what a statement about to run writes: a coverage input raises the
// coverage generation at the commit, a search input calls for the index step after it.
func (t *Tx) noteWrite(q string) {
	if !t.coverageWrite && coverageInput.match(q) {
		t.coverageWrite = true
	}
	if !t.searchWrite && t.dialect == Postgres && searchInput.match(q) {
		t.searchWrite = true
	}
}

// DeferSearchIndex leaves the index step of this transaction's writes to the caller
// (IndexSearch after the commit), instead of the store running it at the commit. The
// importer calls it so that its write phase ends at the commit and the index step is a
// phase of its own.
func (t *Tx) DeferSearchIndex() { t.deferSearch = true }

// indexTimeout bounds an index step run after a commit: the caller's context may end
// with its request, the step must not.
const indexTimeout = 5 * time.Minute

// afterCommit runs the index step of a committed transaction that wrote searched text.
// Its failure does not undo the commit: the entries stay queued for the next step (the
// next write of a rule or template, the next import, the next start), and it is logged.
func (s *Store) afterCommit(ctx context.Context, tx *Tx) {
	if !tx.searchWrite || tx.deferSearch {
		return
	}
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), indexTimeout)
	defer cancel()
	if _, err := s.IndexSearch(ictx); err != nil {
		s.log.Warn("the search index was not brought up to date; the next write of a rule or template, or the next start, will", "error", err)
	}
}

// IndexSearch writes the search documents of every queued rule and template and
// returns how many it wrote (PostgreSQL; 0 on SQLite, whose index is written with the
// rows). Steps run one at a time across every instance sharing the database (an
// advisory lock held to the commit), and each reads the queue and the rows in one
// snapshot taken after the lock: a document is never older than the entries it
// consumes, and an entry committed after the snapshot stays for the step of the
// transaction that committed it, which waits for this one.
func (s *Store) IndexSearch(ctx context.Context) (int, error) {
	if s.dialect != Postgres {
		return 0, nil
	}
	tx, err := s.write.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: index search: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after a commit it does nothing
	// The key is per schema: the tests give each store a schema of its own in one
	// database, and their steps need not wait for each other.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('aegis:search-index:' || current_schema()))`); err != nil {
		return 0, fmt.Errorf("store: index search: lock: %w", err)
	}
	n := 0
	for _, d := range searchDocs {
		res, err := tx.ExecContext(ctx, `WITH q AS (DELETE FROM search_fts_queue WHERE tbl = '`+d.table+`' RETURNING id)
			INSERT INTO `+d.table+`_fts (id, search_doc)
			SELECT r.id, `+d.doc+` FROM `+d.table+` r WHERE r.id IN (SELECT id FROM q)
			ON CONFLICT (id) DO UPDATE SET search_doc = excluded.search_doc`)
		if err != nil {
			return 0, fmt.Errorf("store: index search of %s: %w", d.table, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: index search: commit: %w", err)
	}
	return n, nil
}
