package synthetic_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/core/synthetic"
)

var (
	ctx = context.Background()
	end = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
)

// catalog writes 3 tactics and 20 techniques with 2 sub-techniques each, with ids
// fixed by name so two databases hold the same catalog.
func catalog(t *testing.T, st core.Store) {
	t.Helper()
	fixed := func(name string) string { return uuid.NewSHA1(uuid.NameSpaceURL, []byte(name)).String() }
	err := st.Update(ctx, func(tx core.Tx) error {
		var tactics []string
		for i := 0; i < 3; i++ {
			ta := &core.Tactic{ID: fixed(fmt.Sprint("tactic", i)), ExternalID: fmt.Sprintf("TA%04d", i+1), Name: fmt.Sprint("Tactic ", i),
				Shortname: fmt.Sprint("tactic-", i), Domain: "enterprise-attack", MatrixOrder: i}
			if err := tx.UpsertTactic(ctx, ta); err != nil {
				return err
			}
			tactics = append(tactics, ta.ID)
		}
		for i := 0; i < 20; i++ {
			ext := fmt.Sprintf("T%04d", 1000+i)
			p := &core.Technique{ID: fixed(ext), ExternalID: ext, Name: "Technique " + ext, Platforms: []string{"Windows", "Linux"},
				Domains: []string{"enterprise-attack"}, Known: true, LastSeenRelease: "18.1"}
			if err := tx.UpsertTechnique(ctx, p); err != nil {
				return err
			}
			if err := tx.SetTechniqueTactics(ctx, p.ID, []string{tactics[i%3]}); err != nil {
				return err
			}
			for j := 1; j <= 2; j++ {
				sx := fmt.Sprintf("%s.%03d", ext, j)
				s := &core.Technique{ID: fixed(sx), ExternalID: sx, Name: "Sub " + sx, Platforms: []string{"macOS"},
					Domains: []string{"enterprise-attack"}, Known: true, LastSeenRelease: "18.1", ParentID: &p.ID}
				if err := tx.UpsertTechnique(ctx, s); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func seeded(t *testing.T, driver string, o synthetic.Options) (*store.Store, *synthetic.Result) {
	t.Helper()
	st := storetest.Open(t, driver)
	catalog(t, st)
	res, err := synthetic.Generate(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	return st, res
}

// rows reads a query's rows as text, for comparing two databases.
func rows(t *testing.T, st *store.Store, q string) []string {
	t.Helper()
	rs, err := st.DB().Queryx(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		vals, err := rs.SliceScan()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
			if tm, ok := v.(time.Time); ok {
				vals[i] = tm.UTC().Format(time.RFC3339Nano)
			}
		}
		out = append(out, fmt.Sprint(vals))
	}
	return out
}

func count(t *testing.T, st *store.Store, q string) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// What a run writes that must come out the same for the same seed: every test row
// (ids, states, outcomes, times), the votes, the campaign membership and the snapshots'
// technique states.
var samples = []string{
	`SELECT * FROM tests ORDER BY id`,
	`SELECT * FROM test_votes ORDER BY id`,
	`SELECT c.id, c.name, c.status, c.recurrence, c.parent_campaign_id, ct.test_id, ct.position FROM campaigns c
		JOIN campaign_tests ct ON ct.campaign_id = c.id ORDER BY c.id, ct.position`,
	`SELECT campaign_id, test_id, depends_on_test_id FROM campaign_test_dependencies ORDER BY 1, 2, 3`,
	`SELECT s.taken_at, s.org_score, s.tested_count, t.technique_id, t.status, t.score, t.test_count
		FROM coverage_snapshots s JOIN snapshot_technique_states t ON t.snapshot_id = s.id ORDER BY s.taken_at, t.technique_id`,
}

func TestSameSeedSameRows(t *testing.T) {
	o := synthetic.Options{Scale: 0.01, Seed: 7, End: end}
	a, ra := seeded(t, store.SQLite, o)
	b, rb := seeded(t, store.SQLite, o)
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("same seed, different counts:\n%+v\n%+v", ra, rb)
	}
	for _, q := range samples {
		x, y := rows(t, a, q), rows(t, b, q)
		if len(x) == 0 {
			t.Fatalf("%s: no rows", q)
		}
		if !reflect.DeepEqual(x, y) {
			for i := range x {
				if i >= len(y) || x[i] != y[i] {
					t.Fatalf("%s: row %d differs:\n%s\n%v", q, i, x[i], y[min(i, len(y)-1)])
				}
			}
			t.Fatalf("%s: %d rows, then %d", q, len(x), len(y))
		}
	}
	// Another seed draws another organisation of the same size.
	c, rc := seeded(t, store.SQLite, synthetic.Options{Scale: 0.01, Seed: 8, End: end})
	if rc.Tests != ra.Tests || rc.Campaigns != ra.Campaigns {
		t.Fatalf("seed 8 sizes %+v, seed 7 %+v", rc.Sizes, ra.Sizes)
	}
	if reflect.DeepEqual(rows(t, a, samples[0]), rows(t, c, samples[0])) {
		t.Fatal("seeds 7 and 8 wrote the same tests")
	}
}

func TestCountsPerScale(t *testing.T) {
	for _, tc := range []struct {
		driver            string
		scale             float64
		tests, campaigns  int
		users             int
		snapshots, states int
	}{
		{store.SQLite, 0.01, 1000, 20, 12, 26, 6},
		{store.SQLite, 0.025, 2500, 50, 12, 26, 6},
		{store.Postgres, 0.01, 1000, 20, 12, 26, 6},
	} {
		t.Run(fmt.Sprintf("%s/%g", tc.driver, tc.scale), func(t *testing.T) {
			st, res := seeded(t, tc.driver, synthetic.Options{Scale: tc.scale, Seed: 1, End: end})
			want := map[string]int{
				"SELECT COUNT(*) FROM tests":                             tc.tests,
				"SELECT COUNT(*) FROM campaigns":                         tc.campaigns,
				"SELECT COUNT(*) FROM users":                             tc.users,
				"SELECT COUNT(*) FROM coverage_snapshots":                tc.snapshots,
				"SELECT COUNT(DISTINCT state) FROM tests":                tc.states,
				"SELECT COUNT(*) FROM test_votes":                        res.Votes,
				"SELECT COUNT(*) FROM tests WHERE retest_of IS NOT NULL": res.Retests,
				"SELECT COUNT(*) FROM campaign_tests":                    res.CampaignTests,
				"SELECT COUNT(*) FROM campaign_test_dependencies":        res.Dependencies,
				"SELECT COUNT(DISTINCT remediation_status) FROM tests":   5,
				"SELECT COUNT(*) FROM snapshot_test_states WHERE snapshot_id = (SELECT id FROM coverage_snapshots ORDER BY taken_at DESC LIMIT 1)": tc.tests,
			}
			for q, n := range want {
				if got := count(t, st, q); got != n {
					t.Errorf("%s = %d, want %d", q, got, n)
				}
			}
			if n := count(t, st, "SELECT COUNT(DISTINCT status) FROM campaigns"); n < 3 {
				t.Errorf("campaigns in %d statuses", n)
			}
			if res.Tests != tc.tests || res.Retests == 0 || res.Votes == 0 || res.CampaignTests == 0 {
				t.Errorf("result %+v", res)
			}
			// The stored coverage status was kept by the bulk write.
			if n := count(t, st, "SELECT COUNT(*) FROM techniques WHERE coverage_status <> 'not_tested'"); n != res.Techniques {
				t.Errorf("%d techniques have a coverage status, %d were tested", n, res.Techniques)
			}
			// The history grows: the first week's snapshot saw fewer tests than the last.
			if first := count(t, st, "SELECT COUNT(*) FROM snapshot_test_states WHERE snapshot_id = (SELECT id FROM coverage_snapshots ORDER BY taken_at LIMIT 1)"); first <= 0 || first >= tc.tests {
				t.Errorf("the first snapshot saw %d tests", first)
			}
		})
	}
}

func TestRefusesWithoutCatalogOrOnTests(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	if _, err := synthetic.Generate(ctx, st, synthetic.Options{Scale: 0.01, Seed: 1, End: end}); core.ErrorCode(err) != core.ENOTFOUND {
		t.Fatalf("empty catalog: %v", err)
	}
	catalog(t, st)
	if _, err := synthetic.Generate(ctx, st, synthetic.Options{Scale: 0.001, Seed: 1, End: end}); err != nil {
		t.Fatal(err)
	}
	if _, err := synthetic.Generate(ctx, st, synthetic.Options{Scale: 0.001, Seed: 1, End: end}); core.ErrorCode(err) != core.ECONFLICT {
		t.Fatalf("second run: %v", err)
	}
	if _, err := synthetic.Generate(ctx, st, synthetic.Options{Scale: 0, End: end}); core.ErrorCode(err) != core.EINVALID {
		t.Fatalf("scale 0: %v", err)
	}
}
