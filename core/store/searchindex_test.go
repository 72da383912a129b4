package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// deferred is what the importer does: held writes, the search index step left to
// the caller (PostgreSQL writes the documents after the commit, migration 0250).
func deferred(t *testing.T, s *store.Store, fn func(core.Tx) error) {
	t.Helper()
	mustUpdate(t, s, func(tx core.Tx) error {
		tx.(*store.Tx).HoldWrites()
		tx.(*store.Tx).DeferSearchIndex()
		return fn(tx)
	})
}

func upsertRules(rules ...*core.DetectionRule) func(core.Tx) error {
	return func(tx core.Tx) error {
		for _, r := range rules {
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}
}

// queued counts the entries of the search queue (0 on SQLite, which has none).
func queued(t *testing.T, s *store.Store) int {
	t.Helper()
	if s.Dialect() != store.Postgres {
		return 0
	}
	var n int
	if err := s.DB().Get(&n, `SELECT COUNT(*) FROM search_fts_queue`); err != nil {
		t.Fatal(err)
	}
	return n
}

// docVersions maps each rule's external id to the row version (xmin) of its search
// document: a document written again gets a new one.
func docVersions(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	var rows []struct {
		ExternalID string `db:"external_id"`
		Xmin       string `db:"xmin"`
	}
	if err := s.DB().Select(&rows, `SELECT r.external_id, f.xmin::text AS xmin FROM detection_rules_fts f JOIN detection_rules r ON r.id = f.id`); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ExternalID] = r.Xmin
	}
	return out
}

func indexSearch(t *testing.T, s *store.Store) int {
	t.Helper()
	n, err := s.IndexSearch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The search index written after the commit (PostgreSQL) is exact once the index step
// has run: an import's rules are found right after it, a re-import that changes one
// rule writes that rule's document only, a rolled-back write leaves search as it was.
// On SQLite the FTS5 triggers write in the transaction, and every check holds at once.
func TestSearchIndexAfterCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		pg := s.Dialect() == store.Postgres
		rules := []*core.DetectionRule{
			{Source: "sigma", ExternalID: "a", Title: "Zebrafish loader", Raw: "detection: CommandLine|contains: quokka.exe"},
			{Source: "sigma", ExternalID: "b", Title: "Narwhal dropper"},
			{Source: "sigma", ExternalID: "c", Title: "Axolotl beacon"},
		}
		deferred(t, s, upsertRules(rules...))
		if pg {
			if got := searchRules(t, s, "zebrafish"); len(got) != 0 {
				t.Fatalf("found %v before the index step", got)
			}
			if n := queued(t, s); n != 3 {
				t.Fatalf("%d rows queued, want 3", n)
			}
			if n := indexSearch(t, s); n != 3 {
				t.Fatalf("the index step wrote %d documents, want 3", n)
			}
		}
		for q, want := range map[string]string{"zebrafish": "a", "quokka.exe": "a", "narwhal dropper": "b", "axolotl": "c"} {
			if got := strings.Join(searchRules(t, s, q), ","); got != want {
				t.Errorf("search %q after the index step: %q, want %q", q, got, want)
			}
		}
		if n := queued(t, s); n != 0 {
			t.Fatalf("%d rows still queued", n)
		}

		// A re-import: a's title changes, b's level only (not indexed), c not at all.
		var before map[string]string
		if pg {
			before = docVersions(t, s)
		}
		deferred(t, s, upsertRules(
			&core.DetectionRule{Source: "sigma", ExternalID: "a", Title: "Platypus loader", Raw: rules[0].Raw},
			&core.DetectionRule{Source: "sigma", ExternalID: "b", Title: "Narwhal dropper", Level: "high"},
		))
		if pg {
			if n := indexSearch(t, s); n != 1 {
				t.Fatalf("the index step after changing one rule's text wrote %d documents, want 1", n)
			}
			after := docVersions(t, s)
			if after["a"] == before["a"] || after["b"] != before["b"] || after["c"] != before["c"] {
				t.Errorf("documents written again: before %v, after %v (only a's should be)", before, after)
			}
		}
		if got := searchRules(t, s, "zebrafish"); len(got) != 0 {
			t.Errorf("the old title is still found: %v", got)
		}
		if got := strings.Join(searchRules(t, s, "platypus"), ","); got != "a" {
			t.Errorf("the new title: %q", got)
		}

		// A rolled-back write: nothing queued, search as it was.
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx core.Tx) error {
			tx.(*store.Tx).HoldWrites()
			tx.(*store.Tx).DeferSearchIndex()
			if err := upsertRules(&core.DetectionRule{Source: "sigma", ExternalID: "c", Title: "Walrus beacon"},
				&core.DetectionRule{Source: "sigma", ExternalID: "d", Title: "Walrus implant"})(tx); err != nil {
				return err
			}
			// A read writes the held rows (and fires the triggers) first.
			if _, err := tx.(*store.Tx).CoverageGeneration(ctx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("the rolled-back write: %v", err)
		}
		if n := queued(t, s); n != 0 {
			t.Fatalf("a rolled-back write left %d rows queued", n)
		}
		if n := indexSearch(t, s); n != 0 {
			t.Fatalf("the index step after a rollback wrote %d documents", n)
		}
		if got := searchRules(t, s, "walrus"); len(got) != 0 {
			t.Errorf("a rolled-back write is found: %v", got)
		}
		if got := strings.Join(searchRules(t, s, "axolotl"), ","); got != "c" {
			t.Errorf("after a rollback, c: %q", got)
		}

		// Any other writer (the API's) gets its index step at the commit.
		mustUpdate(t, s, upsertRules(&core.DetectionRule{Source: "custom", ExternalID: "e", Title: "Manatee persistence"}))
		if got := strings.Join(searchRules(t, s, "manatee"), ","); got != "e" {
			t.Errorf("a rule written outside an import: %q", got)
		}
		if n := queued(t, s); n != 0 {
			t.Errorf("%d rows queued after a write that runs its own index step", n)
		}
	})
}

// A crash between an import's commit and its index step leaves the ids queued; the
// next start (Migrate) writes their documents.
func TestSearchIndexRepairedOnStart(t *testing.T) {
	dsn := storetest.DSN(t, store.Postgres)
	open := func() *store.Store {
		s, err := store.Open(context.Background(), store.Options{Driver: store.Postgres, DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	deferred(t, s, upsertRules(&core.DetectionRule{Source: "sigma", ExternalID: "a", Title: "Pangolin stealer"}))
	mustUpdate(t, s, func(tx core.Tx) error {
		tx.(*store.Tx).DeferSearchIndex()
		return tx.UpsertTestTemplate(ctx, &core.TestTemplate{Source: "atomic", ExternalID: "t", Name: "Capybara discovery"})
	})
	if n := queued(t, s); n != 2 {
		t.Fatalf("%d rows queued, want 2", n)
	}
	s.Close() // the process dies before its index step

	s2 := open()
	if n := queued(t, s2); n != 0 {
		t.Fatalf("%d rows still queued after the start", n)
	}
	if got := strings.Join(searchRules(t, s2, "pangolin"), ","); got != "a" {
		t.Errorf("the rule after the start: %q", got)
	}
	s2.View(ctx, func(tx core.Tx) error {
		list, _, err := tx.ListTestTemplates(ctx, core.TemplateFilter{Search: "capybara"})
		if err != nil || len(list) != 1 {
			t.Errorf("the template after the start: %d, %v", len(list), err)
		}
		return nil
	})
}

// More writers of rules than the pool has connections, each indexing after its commit
// (PostgreSQL): the index step must not wait for a connection while the writer still
// holds its own. It did, and a full pool of writers each waited for another's
// connection forever (a server under twenty concurrent rule and template writers hung).
func TestSearchIndexWithAFullPool(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			s, err := store.Open(context.Background(), store.Options{Driver: driver, DSN: storetest.DSN(t, driver), MaxOpenConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const writers = 8
			errs := make(chan error, writers)
			for i := 0; i < writers; i++ {
				go func(i int) {
					errs <- s.Update(ctx, func(tx core.Tx) error {
						return tx.UpsertDetectionRule(ctx, &core.DetectionRule{Source: "sigma", ExternalID: fmt.Sprint("w", i), Title: fmt.Sprintf("Pangolin%d loader", i)})
					})
				}(i)
			}
			for i := 0; i < writers; i++ {
				if err := <-errs; err != nil {
					t.Fatalf("writer: %v (a deadline here is the pool deadlock)", err)
				}
			}
			for i := 0; i < writers; i++ {
				if got := searchRules(t, s, fmt.Sprintf("pangolin%d", i)); len(got) != 1 {
					t.Errorf("writer %d's rule found %d times by search right after its write, want 1", i, len(got))
				}
			}
		})
	}
}
