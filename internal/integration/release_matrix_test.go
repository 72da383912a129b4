package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/store"
)

// After an upgrade from v17.1 to v18.1 each release's matrix shows exactly the
// techniques and sub-techniques that release's files present as current, each in the
// tactics the files give it, and the release list names both, newest last (issues 12
// and 14). The expectations are read from the files here, not from the plugin.
func TestReleaseMatrices(t *testing.T) {
	dirs := map[string]string{
		"17.1": filepath.Join(upstream(t, "mitre-cti-v17.1"), "enterprise-attack"),
		"18.1": filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack"),
	}
	raw := map[string]*rawRelease{}
	for rel, dir := range dirs {
		raw[rel] = readRelease(t, dir)
	}
	if fmt.Sprint(currentSet(raw["17.1"])) == fmt.Sprint(currentSet(raw["18.1"])) {
		t.Fatal("the two releases present the same techniques: the test would not tell them apart")
	}
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newEnvOn(t, driver, map[string]string{"attack": `{"release_version":"17.1"}`})
			e.Import(t, "attack", dirs["17.1"])
			e.Configure(t, map[string]string{"attack": `{"release_version":"18.1"}`})
			e.Import(t, "attack", dirs["18.1"])
			svc := coverage.New(e.Store, nil)
			def, err := svc.Matrix(ctx, coverage.MatrixQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if def.Release != "18.1" || strings.Join(def.Releases, ",") != "17.1,18.1" {
				t.Fatalf("default matrix: release %q of %v, want 18.1 of 17.1,18.1", def.Release, def.Releases)
			}
			rows := e.Count(t, `SELECT COUNT(*) FROM attack_release_techniques`)
			for _, rel := range []string{"17.1", "18.1"} {
				m, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: rel})
				if err != nil {
					t.Fatal(err)
				}
				checkReleaseMatrix(t, rel, m, raw[rel], raw["18.1"])
				checkReleaseColumns(t, rel, m, dirs[rel], raw[rel])
			}
			// Every technique object of both releases is recorded once per release.
			if want := len(raw["17.1"].byExt) + len(raw["18.1"].byExt); rows != want {
				t.Errorf("%d release rows, want %d (the attack-pattern objects of both releases)", rows, want)
			}
			// Importing the older release again records nothing new, and leaves the
			// catalog in use at 18.1 (issue 14: it made every technique say 17.1 and
			// deprecated what 18.1 added).
			e.Configure(t, map[string]string{"attack": `{"release_version":"17.1"}`})
			e.Import(t, "attack", dirs["17.1"])
			if again := e.Count(t, `SELECT COUNT(*) FROM attack_release_techniques`); again != rows {
				t.Errorf("re-importing 17.1: %d release rows, were %d", again, rows)
			}
			checkCatalogIs(t, e, "18.1", raw["18.1"])
			m, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: "17.1"})
			if err != nil {
				t.Fatal(err)
			}
			checkReleaseMatrix(t, "17.1 again", m, raw["17.1"], raw["18.1"])
			checkReleaseColumns(t, "17.1 again", m, dirs["17.1"], raw["17.1"])
			if def, err := svc.Matrix(ctx, coverage.MatrixQuery{}); err != nil || def.Release != "18.1" {
				t.Fatalf("after re-importing 17.1 the default matrix is %v (%v), want 18.1", def.Release, err)
			}
		})
	}
}

// An older release imported after a newer one (v6.3 after v18.1: other tactics, in
// other positions) is recorded for its matrix, which shows its own tactics as its files
// name and order them, while the catalog in use stays the newer release's: every
// technique keeps last_seen_release 18.1 and 18.1's revoked and deprecated flags, none of
// 18.1's additions is deprecated as gone, and importing 18.1 again changes nothing.
func TestOlderReleaseAfterNewer(t *testing.T) {
	dirs := map[string]string{
		"6.3":  filepath.Join(upstream(t, "mitre-cti-v6.3"), "enterprise-attack"),
		"18.1": filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack"),
	}
	raw := map[string]*rawRelease{"6.3": readRelease(t, dirs["6.3"]), "18.1": readRelease(t, dirs["18.1"])}
	old, cur := releaseTactics(t, dirs["6.3"]), releaseTactics(t, dirs["18.1"])
	if fmt.Sprint(old) == fmt.Sprint(cur) {
		t.Fatal("the two releases have the same tactics: the test would not tell them apart")
	}
	for _, driver := range []string{store.SQLite, store.Postgres} {
		t.Run(driver, func(t *testing.T) {
			e := newEnvOn(t, driver, map[string]string{"attack": `{"release_version":"18.1"}`})
			e.Import(t, "attack", dirs["18.1"])
			checkCatalogIs(t, e, "18.1", raw["18.1"])
			e.Configure(t, map[string]string{"attack": `{"release_version":"6.3"}`})
			run := e.Import(t, "attack", dirs["6.3"])
			if run.Added+run.Updated+run.Deprecated != 0 {
				t.Errorf("the older release changed the catalog: %d added, %d updated, %d deprecated", run.Added, run.Updated, run.Deprecated)
			}
			checkCatalogIs(t, e, "18.1", raw["18.1"])
			svc := coverage.New(e.Store, nil)
			def, err := svc.Matrix(ctx, coverage.MatrixQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if def.Release != "18.1" || strings.Join(def.Releases, ",") != "6.3,18.1" {
				t.Fatalf("default matrix: release %q of %v, want 18.1 of 6.3,18.1", def.Release, def.Releases)
			}
			checkReleaseMatrix(t, "18.1", def, raw["18.1"], raw["18.1"])
			checkReleaseColumns(t, "18.1", def, dirs["18.1"], raw["18.1"])
			m, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: "6.3"})
			if err != nil {
				t.Fatal(err)
			}
			checkReleaseMatrix(t, "6.3", m, raw["6.3"], raw["18.1"])
			checkReleaseColumns(t, "6.3", m, dirs["6.3"], raw["6.3"])
			// The newer release again: its bookkeeping was left as it was.
			e.Configure(t, map[string]string{"attack": `{"release_version":"18.1"}`})
			again := e.Import(t, "attack", dirs["18.1"])
			if again.Added+again.Updated+again.Deprecated != 0 {
				t.Errorf("18.1 again after 6.3: %d added, %d updated, %d deprecated, want nothing changed", again.Added, again.Updated, again.Deprecated)
			}
			checkCatalogIs(t, e, "18.1", raw["18.1"])
		})
	}
}

// checkCatalogIs checks that the technique rows are the release's: each technique of its
// files last seen in it, with its name and its revoked and deprecated flags.
func checkCatalogIs(t *testing.T, e *env, rel string, files *rawRelease) {
	t.Helper()
	var rows []struct {
		ExternalID string `db:"external_id"`
		Name       string `db:"name"`
		Release    string `db:"last_seen_release"`
		Revoked    bool   `db:"revoked"`
		Deprecated bool   `db:"deprecated"`
	}
	if err := e.Store.DB().Select(&rows, `SELECT external_id, name, last_seen_release, revoked, deprecated FROM techniques WHERE known`); err != nil {
		t.Fatal(err)
	}
	bad := 0
	seen := 0
	for _, r := range rows {
		f := files.byExt[r.ExternalID]
		if f == nil {
			continue
		}
		seen++
		if r.Release != rel || r.Name != f.Name || r.Revoked != f.Revoked || r.Deprecated != f.Deprecated {
			if bad++; bad <= 5 {
				t.Errorf("%s: last seen %q, %q, revoked %v, deprecated %v; ATT&CK %s's files: %q, revoked %v, deprecated %v",
					r.ExternalID, r.Release, r.Name, r.Revoked, r.Deprecated, rel, f.Name, f.Revoked, f.Deprecated)
			}
		}
	}
	if bad > 0 || seen != len(files.byExt) {
		t.Errorf("%d of %d techniques differ from ATT&CK %s's files, which have %d", bad, seen, rel, len(files.byExt))
	}
}

// rawTactic is a tactic as a release's files have it, at its matrix position (from 1).
type rawTactic struct {
	ExternalID, Name, Shortname string
	Order                       int
}

// releaseTactics reads a release's tactics in the order of its x-mitre-matrix.
func releaseTactics(t *testing.T, dir string) []rawTactic {
	t.Helper()
	type object struct {
		Type, ID, Name     string
		Shortname          string   `json:"x_mitre_shortname"`
		TacticRefs         []string `json:"tactic_refs"`
		ExternalReferences []struct {
			SourceName string `json:"source_name"`
			ExternalID string `json:"external_id"`
		} `json:"external_references"`
	}
	byID := map[string]object{}
	var order []string
	for _, sub := range []string{"x-mitre-tactic", "x-mitre-matrix"} {
		for _, f := range walkFiles(t, filepath.Join(dir, sub), ".json") {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var b struct{ Objects []object }
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, o := range b.Objects {
				switch o.Type {
				case "x-mitre-tactic":
					byID[o.ID] = o
				case "x-mitre-matrix":
					order = append(order, o.TacticRefs...)
				}
			}
		}
	}
	var out []rawTactic
	for i, id := range order {
		o, ok := byID[id]
		if !ok {
			t.Fatalf("%s: the matrix names tactic %s, which no file has", dir, id)
		}
		for _, ref := range o.ExternalReferences {
			if ref.SourceName == "mitre-attack" {
				out = append(out, rawTactic{ExternalID: ref.ExternalID, Name: o.Name, Shortname: o.Shortname, Order: i + 1})
			}
		}
	}
	return out
}

// checkReleaseColumns checks that a release's matrix has the columns of the release's
// files: the tactics its current techniques are in, with the names, shortnames and
// positions the release gave them, in its order.
func checkReleaseColumns(t *testing.T, rel string, m *coverage.Matrix, dir string, files *rawRelease) {
	t.Helper()
	used := map[string]bool{}
	for _, ext := range currentSet(files) {
		for _, ph := range files.byExt[ext].Tactics {
			used[ph] = true
		}
	}
	var want, got []string
	for _, ta := range releaseTactics(t, dir) {
		if used[ta.Shortname] {
			want = append(want, fmt.Sprintf("%s %s (%s) %d", ta.ExternalID, ta.Name, ta.Shortname, ta.Order))
		}
	}
	for _, col := range m.Tactics {
		got = append(got, fmt.Sprintf("%s %s (%s) %d", col.ExternalID, col.Name, col.Shortname, col.MatrixOrder))
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("%s columns:\n%s\nthe release's files:\n%s", rel, strings.Join(got, "; "), strings.Join(want, "; "))
	}
}

// currentSet lists the ATT&CK ids a release presents as current.
func currentSet(r *rawRelease) []string {
	var out []string
	for ext, o := range r.byExt {
		if !o.Revoked && !o.Deprecated {
			out = append(out, ext)
		}
	}
	sort.Strings(out)
	return out
}

// checkReleaseMatrix compares a matrix with the files of its release: the same
// techniques and sub-techniques, each technique in the columns of its kill-chain
// phases, sub-techniques under their parents, and a technique that latest (the catalog
// in use) no longer has as current marked retired.
func checkReleaseMatrix(t *testing.T, rel string, m *coverage.Matrix, files, latest *rawRelease) {
	t.Helper()
	want := map[string]bool{}
	for _, ext := range currentSet(files) {
		want[ext] = true
	}
	got := map[string]bool{}
	columns := map[string][]string{}
	for _, col := range m.Tactics {
		for _, c := range col.Techniques {
			got[c.ExternalID] = true
			columns[c.ExternalID] = append(columns[c.ExternalID], col.Shortname)
			checkRetiredMark(t, rel, c, latest)
			for _, s := range c.Subtechniques {
				got[s.ExternalID] = true
				if !strings.HasPrefix(s.ExternalID, c.ExternalID+".") {
					t.Errorf("%s: %s is under %s", rel, s.ExternalID, c.ExternalID)
				}
				checkRetiredMark(t, rel, s, latest)
			}
		}
	}
	var missing, extra []string
	for ext := range want {
		if !got[ext] {
			missing = append(missing, ext)
		}
	}
	for ext := range got {
		if !want[ext] {
			extra = append(extra, ext)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s matrix: %d techniques missing %v, %d not in the release %v", rel, len(missing), head(missing), len(extra), head(extra))
	}
	wrong := 0
	for ext, cols := range columns {
		phases := append([]string(nil), files.byExt[ext].Tactics...)
		sort.Strings(phases)
		sort.Strings(cols)
		if strings.Join(phases, ",") != strings.Join(cols, ",") {
			if wrong++; wrong <= 5 {
				t.Errorf("%s: %s in columns %v, the files say %v", rel, ext, cols, phases)
			}
		}
	}
	t.Logf("%s: %d techniques and sub-techniques in %d columns", rel, len(got), len(m.Tactics))
}

// checkRetiredMark checks that a cell is marked revoked or deprecated exactly when the
// catalog in use (latest) no longer has it as current.
func checkRetiredMark(t *testing.T, rel string, c *coverage.MatrixTechnique, latest *rawRelease) {
	t.Helper()
	if retired := !latest.active(c.ExternalID); retired != (c.Revoked || c.Deprecated) {
		t.Errorf("%s: %s marked revoked %v, deprecated %v; retired since: %v", rel, c.ExternalID, c.Revoked, c.Deprecated, retired)
	}
}

func head(xs []string) []string {
	if len(xs) > 10 {
		return xs[:10]
	}
	return xs
}
