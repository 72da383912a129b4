package integration

import (
	"fmt"
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
			}
			// Every technique object of both releases is recorded once per release.
			if want := len(raw["17.1"].byExt) + len(raw["18.1"].byExt); rows != want {
				t.Errorf("%d release rows, want %d (the attack-pattern objects of both releases)", rows, want)
			}
			// Importing the older release again records nothing new.
			e.Configure(t, map[string]string{"attack": `{"release_version":"17.1"}`})
			e.Import(t, "attack", dirs["17.1"])
			if again := e.Count(t, `SELECT COUNT(*) FROM attack_release_techniques`); again != rows {
				t.Errorf("re-importing 17.1: %d release rows, were %d", again, rows)
			}
			m, err := svc.Matrix(ctx, coverage.MatrixQuery{Release: "17.1"})
			if err != nil {
				t.Fatal(err)
			}
			checkReleaseMatrix(t, "17.1 again", m, raw["17.1"], raw["17.1"])
		})
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
