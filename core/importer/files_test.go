package importer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

func sigmaRule(n int, title string) string {
	return fmt.Sprintf("title: %s\nid: 5a1b2c3d-00%02d-4000-8000-0000000000%02d\nstatus: test\nlogsource:\n    product: windows\n"+
		"detection:\n    selection:\n        EventID: %d\n    condition: selection\nlevel: low\ntags:\n    - attack.t1059\n", title, n, n, n)
}

func writeRule(t *testing.T, dir, name string, n int, title string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(sigmaRule(n, title)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ruleRows says, per rule id, whether the source's bookkeeping row is live or retired.
func ruleRows(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.View(ctx, func(tx core.Tx) error {
		recs, err := tx.ImportRecords(ctx, "sig")
		for k, rows := range recs {
			for _, r := range rows {
				state := "live"
				if r.Deprecated {
					state = "deprecated"
				}
				out[k.ExternalID] = state + " " + r.File
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func counts(r *core.ImportRun) string {
	return fmt.Sprintf("added %d updated %d unchanged %d deprecated %d, files read %d unchanged %d",
		r.Added, r.Updated, r.Unchanged, r.Deprecated, r.FilesRead, r.FilesUnchanged)
}

// A re-import skips the files that did not change and keeps their records (counted
// unchanged), updates a changed file's, adds an added file's and retires a deleted
// file's; the catalog ends as a full import leaves it.
func TestReimportSkipsUnchangedFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		dir := t.TempDir()
		writeRule(t, dir, "keep.yml", 1, "Kept")
		writeRule(t, dir, "change.yml", 2, "Changed")
		writeRule(t, dir, "gone.yml", 3, "Gone")
		p := plugin("sig", binary(t, "sigma"), time.Minute, `{}`)
		p.Source = dir
		r := runner(t, s, p)
		mustRun := func(want string) *core.ImportRun {
			t.Helper()
			run, err := r.Run(ctx, importer.Options{Plugin: "sig"})
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(run); got != want {
				t.Fatalf("run: %s, want %s", got, want)
			}
			return run
		}
		mustRun("added 3 updated 0 unchanged 0 deprecated 0, files read 3 unchanged 0")
		before := catalog(t, s)
		mustRun("added 0 updated 0 unchanged 3 deprecated 0, files read 0 unchanged 3")
		if d := storetest.Diff(before, catalog(t, s)); d != "" {
			t.Fatalf("a re-import of unchanged files wrote rows:\n%s", d)
		}

		writeRule(t, dir, "change.yml", 2, "Changed again")
		if err := os.Remove(filepath.Join(dir, "gone.yml")); err != nil {
			t.Fatal(err)
		}
		writeRule(t, dir, "added.yml", 4, "Added")
		mustRun("added 1 updated 1 unchanged 1 deprecated 1, files read 2 unchanged 1")
		want := map[string]string{
			"5a1b2c3d-0001-4000-8000-000000000001": "live keep.yml",
			"5a1b2c3d-0002-4000-8000-000000000002": "live change.yml",
			"5a1b2c3d-0003-4000-8000-000000000003": "deprecated gone.yml",
			"5a1b2c3d-0004-4000-8000-000000000004": "live added.yml",
		}
		if got := ruleRows(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("records after the changes: %v, want %v", got, want)
		}
		mustRun("added 0 updated 0 unchanged 3 deprecated 0, files read 0 unchanged 3")
		if got := ruleRows(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("records after an unchanged re-import: %v, want %v", got, want)
		}

		// Rows the store lost since (here: one retired behind the importer's back) are
		// not silently kept: the run fails, and the next one reads every file.
		if err := s.Update(ctx, func(tx core.Tx) error {
			recs, err := tx.ImportRecords(ctx, "sig")
			if err != nil {
				return err
			}
			for k, rows := range recs {
				if k.ExternalID == "5a1b2c3d-0001-4000-8000-000000000001" {
					rows[0].Deprecated = true
					return tx.PutImportRecord(ctx, rows[0])
				}
			}
			return fmt.Errorf("no row of keep.yml")
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(ctx, importer.Options{Plugin: "sig"}); err == nil || !strings.Contains(err.Error(), "no longer holds the records") {
			t.Fatalf("run over lost rows: %v, want a failure naming them", err)
		}
		mustRun("added 0 updated 1 unchanged 2 deprecated 0, files read 3 unchanged 0")
		if got := ruleRows(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("records after the full re-read: %v, want %v", got, want)
		}

		// Another configuration may read the same files into other records: no skip.
		p2 := p
		p2.Config = []byte(`{"include_deprecated": true}`)
		r = runner(t, s, p2)
		mustRun("added 0 updated 0 unchanged 3 deprecated 0, files read 3 unchanged 0")
	})
}
