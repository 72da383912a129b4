package store_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// listCase is one list query of the store with one filter: what the API runs for a list
// endpoint's default order, or for one of its filters.
type listCase struct {
	name string
	run  func(tx core.Tx) error
}

// listCases returns every list of the store with its default order and each
// index-backed filter (equality filters and date ranges; a search box is a substring
// match no index serves, and stays out). ids come from the fixture.
func listCases(ids planIDs) []listCase {
	page := core.Page{Limit: 50}
	deep := core.Page{Limit: 50, Offset: 5000}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := since.AddDate(0, 6, 0)
	disabled := false
	c := func(name string, run func(tx core.Tx) error) listCase { return listCase{name, run} }
	ignore2 := func(_ any, _ int, err error) error { return err }
	return []listCase{
		c("tests", func(tx core.Tx) error { return ignore2(tx.ListTests(ctx, core.TestFilter{Page: page})) }),
		c("tests deep offset", func(tx core.Tx) error { return ignore2(tx.ListTests(ctx, core.TestFilter{Page: deep})) }),
		c("tests by state", func(tx core.Tx) error {
			return ignore2(tx.ListTests(ctx, core.TestFilter{State: core.StateValidated, Page: page}))
		}),
		c("tests by technique", func(tx core.Tx) error {
			return ignore2(tx.ListTests(ctx, core.TestFilter{TechniqueID: ids.technique, Page: page}))
		}),
		c("tests by campaign", func(tx core.Tx) error {
			return ignore2(tx.ListTests(ctx, core.TestFilter{CampaignID: ids.campaign, Page: page}))
		}),
		c("tests by assignee", func(tx core.Tx) error {
			return ignore2(tx.ListTests(ctx, core.TestFilter{AssigneeID: ids.user, Page: page}))
		}),
		c("tests by assignee and state", func(tx core.Tx) error {
			return ignore2(tx.ListTests(ctx, core.TestFilter{AssigneeID: ids.user, State: core.StateDraft, Page: page}))
		}),
		c("tests by date", func(tx core.Tx) error {
			return ignore2(tx.ListTests(ctx, core.TestFilter{Since: &since, Until: &until, Page: page}))
		}),
		c("campaigns", func(tx core.Tx) error { return ignore2(tx.ListCampaigns(ctx, core.CampaignFilter{Page: page})) }),
		c("campaigns by status", func(tx core.Tx) error {
			return ignore2(tx.ListCampaigns(ctx, core.CampaignFilter{Status: core.CampaignActive, Page: page}))
		}),
		c("campaigns by actor", func(tx core.Tx) error {
			return ignore2(tx.ListCampaigns(ctx, core.CampaignFilter{ThreatActorID: core.NewID(), Page: page}))
		}),
		c("campaigns by parent", func(tx core.Tx) error {
			return ignore2(tx.ListCampaigns(ctx, core.CampaignFilter{ParentID: ids.campaign, Page: page}))
		}),
		c("campaign tests", func(tx core.Tx) error { _, err := tx.CampaignTests(ctx, ids.campaign); return err }),
		c("techniques", func(tx core.Tx) error { return ignore2(tx.ListTechniques(ctx, core.TechniqueFilter{Page: page})) }),
		c("techniques by status", func(tx core.Tx) error {
			return ignore2(tx.ListTechniques(ctx, core.TechniqueFilter{Status: core.CoverageStatus("covered"), Page: page}))
		}),
		c("templates", func(tx core.Tx) error { return ignore2(tx.ListTestTemplates(ctx, core.TemplateFilter{Page: page})) }),
		c("rules", func(tx core.Tx) error { return ignore2(tx.ListDetectionRules(ctx, core.RuleFilter{Page: page})) }),
		c("users", func(tx core.Tx) error { return ignore2(tx.ListUsers(ctx, core.UserFilter{Page: page})) }),
		c("users by role", func(tx core.Tx) error {
			return ignore2(tx.ListUsers(ctx, core.UserFilter{Role: core.RoleViewer, Disabled: &disabled, Page: page}))
		}),
		c("api tokens", func(tx core.Tx) error { return ignore2(tx.ListAPITokens(ctx, ids.user, page)) }),
		c("audit", func(tx core.Tx) error { return ignore2(tx.ListAudit(ctx, core.AuditFilter{Page: page})) }),
		c("audit by entity", func(tx core.Tx) error {
			return ignore2(tx.ListAudit(ctx, core.AuditFilter{EntityType: "test", EntityID: ids.test, Page: page}))
		}),
		c("audit by actor", func(tx core.Tx) error {
			return ignore2(tx.ListAudit(ctx, core.AuditFilter{ActorID: ids.user, Page: page}))
		}),
		c("evidence of a test", func(tx core.Tx) error {
			return ignore2(tx.ListEvidence(ctx, core.EvidenceFilter{TestID: ids.test, Page: page}))
		}),
		c("notifications", func(tx core.Tx) error {
			return ignore2(tx.ListNotifications(ctx, core.NotificationFilter{UserID: ids.user, Page: page}))
		}),
		c("unread notifications", func(tx core.Tx) error {
			return ignore2(tx.ListNotifications(ctx, core.NotificationFilter{UserID: ids.user, UnreadOnly: true, Page: page}))
		}),
		c("worklogs of a test", func(tx core.Tx) error {
			return ignore2(tx.ListWorklogs(ctx, core.WorklogFilter{TestID: ids.test, Page: page}))
		}),
		c("worklogs of a user", func(tx core.Tx) error {
			return ignore2(tx.ListWorklogs(ctx, core.WorklogFilter{UserID: ids.user, Page: page}))
		}),
		c("import runs", func(tx core.Tx) error { return ignore2(tx.ListImportRuns(ctx, core.ImportRunFilter{Page: page})) }),
		c("import runs of a plugin", func(tx core.Tx) error {
			return ignore2(tx.ListImportRuns(ctx, core.ImportRunFilter{Plugin: "attack", Page: page}))
		}),
		c("export runs", func(tx core.Tx) error { return ignore2(tx.ListExportRuns(ctx, core.ExportRunFilter{Page: page})) }),
		c("export runs of a plugin", func(tx core.Tx) error {
			return ignore2(tx.ListExportRuns(ctx, core.ExportRunFilter{Plugin: "navigator", Page: page}))
		}),
		c("job runs", func(tx core.Tx) error { return ignore2(tx.ListJobRuns(ctx, core.JobRunFilter{Page: page})) }),
		c("job runs of a job", func(tx core.Tx) error {
			return ignore2(tx.ListJobRuns(ctx, core.JobRunFilter{Job: "coverage_snapshot", Page: page}))
		}),
		c("snapshots", func(tx core.Tx) error { return ignore2(tx.ListSnapshots(ctx, page)) }),
		c("scoring configs", func(tx core.Tx) error { return ignore2(tx.ListScoringConfigs(ctx, page)) }),
		c("technique reviews", func(tx core.Tx) error {
			return ignore2(tx.ListTechniqueReviews(ctx, core.ReviewFilter{Status: "pending", Page: page}))
		}),
		c("threat actors", func(tx core.Tx) error { return ignore2(tx.ListThreatActors(ctx, core.ActorFilter{Page: page})) }),
		c("campaign profiles", func(tx core.Tx) error {
			return ignore2(tx.ListCampaignProfiles(ctx, core.ProfileFilter{Page: page}))
		}),
		c("mitigations", func(tx core.Tx) error { return ignore2(tx.ListMitigations(ctx, core.MitigationFilter{Page: page})) }),
		c("compliance controls", func(tx core.Tx) error {
			return ignore2(tx.ListComplianceControls(ctx, core.ControlFilter{Page: page}))
		}),
		c("intel items", func(tx core.Tx) error { return ignore2(tx.ListIntelItems(ctx, core.IntelFilter{Page: page})) }),
		c("intel items by date", func(tx core.Tx) error {
			return ignore2(tx.ListIntelItems(ctx, core.IntelFilter{Since: &since, Until: &until, Page: page}))
		}),
		c("defensive techniques", func(tx core.Tx) error {
			return ignore2(tx.ListDefensiveTechniques(ctx, core.DefenseFilter{Page: page}))
		}),
	}
}

type planIDs struct{ user, technique, test, campaign string }

// planFixture writes one row of each kind a list's follow-up queries need (a page's
// tactics, a campaign's tests), so that they run too.
func planFixture(t *testing.T, s *store.Store) planIDs {
	var ids planIDs
	mustUpdate(t, s, func(tx core.Tx) error {
		u := &core.User{Username: "planner", Role: core.RoleRedLead, PasswordHash: "x"}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		ta := &core.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: "enterprise-attack"}
		if err := tx.UpsertTactic(ctx, ta); err != nil {
			return err
		}
		te := &core.Technique{ExternalID: "T1059", Name: "Command", Domains: []string{"enterprise-attack"}, Known: true}
		if err := tx.UpsertTechnique(ctx, te); err != nil {
			return err
		}
		if err := tx.SetTechniqueTactics(ctx, te.ID, []string{ta.ID}); err != nil {
			return err
		}
		x := &core.Test{Title: "t", TechniqueID: te.ID, Platform: "windows", AssignedRed: &u.ID}
		if err := tx.CreateTest(ctx, x); err != nil {
			return err
		}
		c := &core.Campaign{Name: "c", Status: core.CampaignPlanned, Recurrence: "none"}
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		if err := tx.SetCampaignTests(ctx, c.ID, []*core.CampaignTest{{TestID: x.ID, Position: 1}}); err != nil {
			return err
		}
		ids = planIDs{user: u.ID, technique: te.ID, test: x.ID, campaign: c.ID}
		return nil
	})
	return ids
}

// growingTables grow with the organisation's use of Aegis (tests, campaigns, the audit
// trail, run histories): a full scan of one of them to filter or to sort grows with the
// data. The catalogs (techniques, templates, rules, actors, ...) are bounded by what the
// importers bring, a few thousand rows; a scan of one to count a flag filter is allowed,
// a sort for the page order is not.
var growingTables = map[string]bool{
	"tests": true, "x": true, "campaigns": true, "campaign_tests": true, "ct": true, "audit_logs": true,
	"notifications": true, "evidences": true, "worklogs": true, "import_runs": true, "export_runs": true,
	"job_runs": true, "coverage_snapshots": true, "snapshot_test_states": true, "api_tokens": true, "test_votes": true, "intel_items": true,
}

// boundedSorts are the sorts left in a plan on purpose: each sorts a set bounded by
// one parent row, never a growing table, keyed by a fragment of the query.
var boundedSorts = map[string]string{
	"FROM technique_tactics tt JOIN tactics ta":                         "the tactics of one page of techniques",
	"FROM campaign_tests ct JOIN tests x":                               "the tests of one campaign",
	"(SELECT test_id FROM campaign_tests WHERE campaign_id = ":          "the tests of one campaign",
	"FROM technique_reviews r JOIN techniques te":                       "the reviews of revoked techniques, at most one per technique and release, in the order of their ATT&CK id (a column of the joined technique)",
	" r UNION SELECT id FROM (SELECT id FROM tests WHERE assigned_blue": "at most twice offset+limit of one user's tests, each half read in order from its index",
}

var (
	sqliteFullScan = regexp.MustCompile(`^SCAN (\w+)(?: AS \w+)?$`)
	pgSeqScan      = regexp.MustCompile(`Seq Scan on (\w+)`)
	pgSort         = regexp.MustCompile(`(?:^|->\s+)Sort\s+\(`)
)

// badPlan explains q and says what is wrong with its plan, or "" when it is
// index-backed: a sort of the rows (no index serves the order) other than a bounded
// one, or a full scan of a growing table to filter or to sort it. An ordered walk of a
// table (SQLite's SCAN without a sort, stopped by LIMIT) is what an index on the order
// gives, and passes. On PostgreSQL the planner is told that sequential scans and sorts
// cost too much (enable_seqscan, enable_sort off), so that on the fixture's few rows it
// picks an index whenever one can serve, and a Seq Scan or Sort left in the plan means
// none can.
func badPlan(t *testing.T, s *store.Store, q string, args []any) string {
	t.Helper()
	var plan []string
	if s.Dialect() == store.SQLite {
		plan = sqlitePlan(t, s, q, args)
	} else {
		tx, err := s.DB().Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`SET LOCAL enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`SET LOCAL enable_sort = off`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Select(&plan, `EXPLAIN `+q, args...); err != nil {
			t.Fatalf("explain %s: %v", q, err)
		}
	}
	sorts := false
	for _, line := range plan {
		if strings.Contains(line, "USE TEMP B-TREE FOR ORDER BY") || pgSort.MatchString(line) {
			sorts = true
		}
	}
	bounded := false
	for frag := range boundedSorts {
		if strings.Contains(oneLine(q), frag) {
			bounded = true
		}
	}
	filtered := strings.Contains(q, " WHERE ")
	var bad []string
	if sorts && !bounded {
		bad = append(bad, "sort")
	}
	for _, line := range plan {
		if m := sqliteFullScan.FindStringSubmatch(line); m != nil && growingTables[m[1]] && (filtered || sorts) {
			bad = append(bad, "full scan of "+m[1])
		}
		if m := pgSeqScan.FindStringSubmatch(line); m != nil && growingTables[m[1]] {
			bad = append(bad, "full scan of "+m[1])
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return strings.Join(bad, ", ") + "\n\t" + strings.Join(plan, "\n\t")
}

// Every list query the store runs for a list endpoint (its default order, a deep
// offset, each filter that is an equality or a date range) is index-backed on both
// databases: its plan has no full scan of a table and no sort of the rows. The queries
// are the ones the store really sends (caught with ObserveQueries), explained with their
// arguments.
func TestListQueriesUseIndexes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := planFixture(t, s)
		for _, lc := range listCases(ids) {
			t.Run(lc.name, func(t *testing.T) {
				type query struct {
					q    string
					args []any
				}
				var mu sync.Mutex
				var qs []query
				s.ObserveQueries(func(q string, args []any) {
					mu.Lock()
					defer mu.Unlock()
					qs = append(qs, query{q, append([]any(nil), args...)})
				})
				err := s.View(ctx, lc.run)
				s.ObserveQueries(nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(qs) == 0 {
					t.Fatal("no query observed")
				}
				for _, q := range qs {
					if !strings.HasPrefix(strings.TrimSpace(q.q), "SELECT") {
						continue
					}
					if why := badPlan(t, s, q.q, q.args); why != "" {
						t.Errorf("%s\n%s", oneLine(q.q), why)
					}
				}
			})
		}
	})
}

// sqlitePlan returns the detail lines of SQLite's EXPLAIN QUERY PLAN of q.
func sqlitePlan(t *testing.T, s *store.Store, q string, args []any) []string {
	t.Helper()
	rows, err := s.DB().Queryx(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// The assignee filter reads its page from two ordered halves (red, blue); every page,
// with and without another filter, equals the same page of all the tests sorted in Go.
func TestListTestsByAssigneePages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := planFixture(t, s)
		var other string
		mustUpdate(t, s, func(tx core.Tx) error {
			u := &core.User{Username: "other", Role: core.RoleBlueLead, PasswordHash: "x"}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			other = u.ID
			states := []core.TestState{core.StateDraft, core.StateRedExecuting}
			for i := 0; i < 30; i++ {
				x := &core.Test{Title: fmt.Sprint("t", i), TechniqueID: ids.technique, Platform: "linux", State: states[i%2]}
				switch i % 3 {
				case 0:
					x.AssignedRed = &ids.user
				case 1:
					x.AssignedBlue = &ids.user
					x.AssignedRed = &other
				default:
					x.AssignedBlue = &other
				}
				if err := tx.CreateTest(ctx, x); err != nil {
					return err
				}
			}
			return nil
		})
		var all []*core.Test
		mustUpdate(t, s, func(tx core.Tx) error {
			var err error
			all, _, err = tx.ListTests(ctx, core.TestFilter{Page: core.Page{Limit: 500}})
			return err
		})
		for _, state := range []core.TestState{"", core.StateDraft} {
			var want []string
			for _, x := range all {
				mine := (x.AssignedRed != nil && *x.AssignedRed == ids.user) || (x.AssignedBlue != nil && *x.AssignedBlue == ids.user)
				if mine && (state == "" || x.State == state) {
					want = append(want, x.ID)
				}
			}
			for _, pg := range []core.Page{{Limit: 4}, {Limit: 4, Offset: 4}, {Limit: 5, Offset: 9}, {Limit: 50}, {Limit: 3, Offset: 30}} {
				var got []string
				var total int
				mustUpdate(t, s, func(tx core.Tx) error {
					page, n, err := tx.ListTests(ctx, core.TestFilter{AssigneeID: ids.user, State: state, Page: pg})
					for _, x := range page {
						got = append(got, x.ID)
					}
					total = n
					return err
				})
				end := min(len(want), pg.Offset+pg.Limit)
				exp := []string(nil)
				if pg.Offset < len(want) {
					exp = want[pg.Offset:end]
				}
				if total != len(want) || strings.Join(got, ",") != strings.Join(exp, ",") {
					t.Errorf("state %q page %+v: total %d, got %v; want total %d, %v", state, pg, total, got, len(want), exp)
				}
			}
		}
	})
}

// The total of a test list with no filter, a technique, or a state the summary counts
// comes from technique_test_counts, never from a count of the tests, and equals the
// count of the tests after creates, state changes and a move to another technique.
func TestListTestsTotalFromSummary(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ids := planFixture(t, s)
		var other string
		var moved *core.Test
		mustUpdate(t, s, func(tx core.Tx) error {
			te := &core.Technique{ExternalID: "T1003", Name: "Dump", Domains: []string{"enterprise-attack"}, Known: true}
			if err := tx.UpsertTechnique(ctx, te); err != nil {
				return err
			}
			other = te.ID
			for i, st := range []core.TestState{core.StateDraft, core.StateValidated, core.StateRejected, core.StateValidated, core.StateInReview} {
				x := &core.Test{Title: fmt.Sprint("s", i), TechniqueID: []string{ids.technique, other}[i%2], Platform: "linux", State: st}
				if err := tx.CreateTest(ctx, x); err != nil {
					return err
				}
				moved = x
			}
			moved.TechniqueID = ids.technique
			moved.State = core.StateValidated
			return tx.UpdateTest(ctx, moved)
		})
		for _, f := range []core.TestFilter{{}, {State: core.StateValidated}, {State: core.StateRejected},
			{TechniqueID: ids.technique}, {TechniqueID: other}, {TechniqueID: other, State: core.StateValidated}} {
			var fromTests []string
			s.ObserveQueries(func(q string, _ []any) {
				if strings.Contains(q, "COUNT(*) FROM tests") {
					fromTests = append(fromTests, q)
				}
			})
			var total int
			mustUpdate(t, s, func(tx core.Tx) error {
				var err error
				_, total, err = tx.ListTests(ctx, f)
				return err
			})
			s.ObserveQueries(nil)
			if len(fromTests) > 0 {
				t.Errorf("%+v: counted the tests: %v", f, fromTests)
			}
			w := []string{"1=1"}
			var args []any
			if f.State != "" {
				w, args = append(w, "state = ?"), append(args, f.State)
			}
			if f.TechniqueID != "" {
				w, args = append(w, "technique_id = ?"), append(args, f.TechniqueID)
			}
			var want int
			if err := s.DB().Get(&want, s.DB().Rebind(`SELECT COUNT(*) FROM tests WHERE `+strings.Join(w, " AND ")), args...); err != nil {
				t.Fatal(err)
			}
			if total != want {
				t.Errorf("%+v: total %d, the tests count %d", f, total, want)
			}
		}
	})
}

// A snapshot's two reads of every test (the copy of their states and the tests its
// metrics use) come from covering indexes on SQLite, not from the tests table with all
// its text: at 100,000 tests those reads were most of a snapshot's time (migration
// 0190). The campaign list's progress reads the row kept per campaign (migration
// 0290) by its primary key. The queries are the
// ones the store sends, caught with ObserveQueries and explained with their arguments.
// PostgreSQL has no such covering indexes.
func TestSnapshotReadsTestsFromCoveringIndexes(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	ids := planFixture(t, s)
	type query struct {
		q    string
		args []any
	}
	var qs []query
	s.ObserveQueries(func(q string, args []any) { qs = append(qs, query{q, append([]any(nil), args...)}) })
	mustUpdate(t, s, func(tx core.Tx) error {
		if _, err := tx.MeasuredTests(ctx); err != nil {
			return err
		}
		if _, err := tx.CampaignsProgress(ctx, []string{ids.campaign}); err != nil {
			return err
		}
		return tx.CreateSnapshot(ctx, &core.Snapshot{Name: "plan", TakenAt: time.Now()}, nil)
	})
	s.ObserveQueries(nil)
	want := map[string]string{"FROM tests WHERE validated_at IS NOT NULL": "SCAN tests USING COVERING INDEX tests_measured_idx",
		"INSERT INTO snapshot_test_states":            "SCAN tests USING COVERING INDEX tests_snapshot_idx",
		"FROM campaign_progress WHERE campaign_id IN": "SEARCH campaign_progress USING PRIMARY KEY (campaign_id=?)"}
	for frag, step := range want {
		found := false
		for _, q := range qs {
			if !strings.Contains(oneLine(q.q), frag) {
				continue
			}
			found = true
			p := strings.Join(sqlitePlan(t, s, q.q, q.args), "\n\t")
			if !strings.Contains(p, step) {
				t.Errorf("%s\nwant %q in the plan:\n\t%s", oneLine(q.q), step, p)
			}
			// The kept progress is read by its primary key (migration 0290), without
			// sorting.
			if strings.HasPrefix(frag, "FROM campaign_progress") && strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("%s\nsorts its rows:\n\t%s", oneLine(q.q), p)
			}
		}
		if !found {
			t.Errorf("no query with %q observed in %d queries", frag, len(qs))
		}
	}
}
