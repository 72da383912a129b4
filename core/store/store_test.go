package store_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

var ctx = context.Background()

func mustUpdate(t *testing.T, s *store.Store, fn func(core.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		login := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		u := &core.User{Username: "alice", DisplayName: "Alice", Role: core.RoleRedLead, PasswordHash: "h", LastLoginAt: &login}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateUser(ctx, u) })

		err := s.Update(ctx, func(tx core.Tx) error {
			return tx.CreateUser(ctx, &core.User{Username: "alice", Role: core.RoleViewer, PasswordHash: "x"})
		})
		if core.ErrorCode(err) != core.ECONFLICT {
			t.Fatalf("duplicate username: got %v, want conflict", err)
		}
		err = s.Update(ctx, func(tx core.Tx) error {
			return tx.CreateUser(ctx, &core.User{Username: "bob", Role: "king", PasswordHash: "x"})
		})
		if core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("bad role: got %v, want invalid", err)
		}

		var got *core.User
		s.View(ctx, func(tx core.Tx) error {
			got, err = tx.UserByUsername(ctx, "alice")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != u.ID || got.Role != core.RoleRedLead || got.DisplayName != "Alice" {
			t.Fatalf("read back %+v", got)
		}
		if got.LastLoginAt == nil || !got.LastLoginAt.Equal(login) || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("times do not round-trip: last login %v want %v; created %v want %v", got.LastLoginAt, login, got.CreatedAt, u.CreatedAt)
		}

		got.Disabled = true
		got.Role = core.RoleViewer
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateUser(ctx, got) })
		mustUpdate(t, s, func(tx core.Tx) error {
			return tx.CreateUser(ctx, &core.User{Username: "bob", Role: core.RoleBlueTech, PasswordHash: "x"})
		})
		disabled := true
		s.View(ctx, func(tx core.Tx) error {
			list, total, err := tx.ListUsers(ctx, core.UserFilter{Disabled: &disabled})
			if err != nil || total != 1 || len(list) != 1 || list[0].Username != "alice" || list[0].Role != core.RoleViewer {
				t.Errorf("disabled users: %v %d %v", list, total, err)
			}
			n, err := tx.CountUsers(ctx)
			if n != 2 || err != nil {
				t.Errorf("count = %d, %v", n, err)
			}
			_, err = tx.UserByID(ctx, core.NewID())
			if core.ErrorCode(err) != core.ENOTFOUND {
				t.Errorf("missing user: %v", err)
			}
			return nil
		})
	})
}

func TestRollbackLeavesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx core.Tx) error {
			if err := tx.CreateUser(ctx, &core.User{Username: "ghost", Role: core.RoleViewer, PasswordHash: "h"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v", err)
		}
		s.View(ctx, func(tx core.Tx) error {
			if n, _ := tx.CountUsers(ctx); n != 0 {
				t.Errorf("rolled-back user was kept: %d users", n)
			}
			return nil
		})
	})
}

func seedTechniques(t *testing.T, s *store.Store) (exec, sub *core.Technique) {
	t.Helper()
	mustUpdate(t, s, func(tx core.Tx) error {
		ta := &core.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", MatrixOrder: 3}
		if err := tx.UpsertTactic(ctx, ta); err != nil {
			return err
		}
		tb := &core.Tactic{ExternalID: "TA0005", Name: "Defense Evasion", Shortname: "defense-evasion", MatrixOrder: 6}
		if err := tx.UpsertTactic(ctx, tb); err != nil {
			return err
		}
		exec = &core.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter", Known: true,
			Platforms: core.Strings{"Windows", "Linux"}, Source: "attack"}
		if err := tx.UpsertTechnique(ctx, exec); err != nil {
			return err
		}
		sub = &core.Technique{ExternalID: "T1059.001", Name: "PowerShell", Known: true, ParentID: &exec.ID,
			Platforms: core.Strings{"Windows"}, Source: "attack"}
		if err := tx.UpsertTechnique(ctx, sub); err != nil {
			return err
		}
		if err := tx.SetTechniqueTactics(ctx, exec.ID, []string{ta.ID}); err != nil {
			return err
		}
		return tx.SetTechniqueTactics(ctx, sub.ID, []string{ta.ID, tb.ID})
	})
	return exec, sub
}

func TestTechniques(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		exec, sub := seedTechniques(t, s)

		// An upsert of the same id keeps the row (and its id) and updates the fields.
		again := &core.Technique{ExternalID: "T1059", Name: "Command Interpreter", Known: true, Platforms: core.Strings{"Windows", "Linux"}}
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpsertTechnique(ctx, again) })
		if again.ID != exec.ID {
			t.Fatalf("upsert changed the id: %s vs %s", again.ID, exec.ID)
		}
		err := s.Update(ctx, func(tx core.Tx) error {
			return tx.UpsertTechnique(ctx, &core.Technique{ExternalID: "X1059", Name: "bad", Known: true})
		})
		if core.ErrorCode(err) != core.EINVALID {
			t.Fatalf("bad id accepted: %v", err)
		}

		s.View(ctx, func(tx core.Tx) error {
			got, err := tx.TechniqueByExternalID(ctx, "T1059.001")
			if err != nil {
				t.Fatal(err)
			}
			if !got.IsSubtechnique || got.ParentID == nil || *got.ParentID != exec.ID || got.ID != sub.ID {
				t.Errorf("sub-technique read back wrong: %+v", got)
			}
			if len(got.Tactics) != 2 || got.Tactics[0] != "execution" || got.Tactics[1] != "defense-evasion" {
				t.Errorf("tactics in matrix order: %v", got.Tactics)
			}
			if got.CoverageStatus != core.StatusNotTested {
				t.Errorf("default status %q", got.CoverageStatus)
			}

			cases := []struct {
				f    core.TechniqueFilter
				want []string
			}{
				{core.TechniqueFilter{}, []string{"T1059", "T1059.001"}},
				{core.TechniqueFilter{Tactic: "defense-evasion"}, []string{"T1059.001"}},
				{core.TechniqueFilter{Tactic: "TA0002"}, []string{"T1059", "T1059.001"}},
				{core.TechniqueFilter{Platform: "Linux"}, []string{"T1059"}},
				{core.TechniqueFilter{Platform: "Lin"}, nil},
				{core.TechniqueFilter{Search: "powershell"}, []string{"T1059.001"}},
				{core.TechniqueFilter{Search: "%"}, nil},
				{core.TechniqueFilter{Page: core.Page{Limit: 1, Offset: 1}}, []string{"T1059.001"}},
			}
			for _, c := range cases {
				list, total, err := tx.ListTechniques(ctx, c.f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, te := range list {
					ids = append(ids, te.ExternalID)
				}
				if len(ids) != len(c.want) || (len(ids) > 0 && ids[0] != c.want[0]) {
					t.Errorf("filter %+v: got %v, want %v", c.f, ids, c.want)
				}
				if c.f.Page.Limit == 0 && total != len(c.want) {
					t.Errorf("filter %+v: total %d, want %d", c.f, total, len(c.want))
				}
				if c.f.Page.Limit == 1 && total != 2 {
					t.Errorf("paged total %d, want 2", total)
				}
			}
			tactics, err := tx.ListTactics(ctx, "enterprise-attack")
			if err != nil || len(tactics) != 2 || tactics[0].Shortname != "execution" {
				t.Errorf("tactics: %v %v", tactics, err)
			}
			return nil
		})
	})
}

func newTest(t *testing.T, s *store.Store, techniqueID string) *core.Test {
	t.Helper()
	te := &core.Test{Title: "PowerShell download cradle", TechniqueID: techniqueID, Procedure: "IEX (New-Object Net.WebClient)..."}
	mustUpdate(t, s, func(tx core.Tx) error { return tx.CreateTest(ctx, te) })
	return te
}

func TestTestsOptimisticLocking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, sub := seedTechniques(t, s)
		te := newTest(t, s, sub.ID)
		if te.Version != 1 || te.State != core.StateDraft {
			t.Fatalf("new test: version %d state %s", te.Version, te.State)
		}

		// Two writers read version 1; the first wins, the second gets a conflict that
		// names the current version, and its change is not written.
		a, b := *te, *te
		a.State = core.StateRedExecuting
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateTest(ctx, &a) })
		if a.Version != 2 {
			t.Fatalf("version after update = %d", a.Version)
		}
		b.Title = "overwritten?"
		err := s.Update(ctx, func(tx core.Tx) error { return tx.UpdateTest(ctx, &b) })
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Code != core.ECONFLICT || ce.Detail["current_version"] != 2 {
			t.Fatalf("stale update: got %#v", err)
		}
		s.View(ctx, func(tx core.Tx) error {
			got, err := tx.TestByID(ctx, te.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != te.Title || got.State != core.StateRedExecuting || got.Version != 2 {
				t.Errorf("after conflict: %+v", got)
			}
			return nil
		})
	})
}

func TestConcurrentTestUpdates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, sub := seedTechniques(t, s)
		te := newTest(t, s, sub.ID)
		const writers = 8
		var wg sync.WaitGroup
		results := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c := *te
				c.RedNotes = "writer"
				results <- s.Update(ctx, func(tx core.Tx) error { return tx.UpdateTest(ctx, &c) })
			}(i)
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			switch core.ErrorCode(err) {
			case "":
				ok++
			case core.ECONFLICT:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d writers of version 1 succeeded, want exactly 1", ok)
		}
		s.View(ctx, func(tx core.Tx) error {
			got, _ := tx.TestByID(ctx, te.ID)
			if got.Version != 2 {
				t.Errorf("version = %d, want 2", got.Version)
			}
			return nil
		})
	})
}

func TestListTests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		exec, sub := seedTechniques(t, s)
		t1 := newTest(t, s, sub.ID)
		newTest(t, s, exec.ID)
		t1.State = core.StateRedExecuting
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateTest(ctx, t1) })
		s.View(ctx, func(tx core.Tx) error {
			list, total, err := tx.ListTests(ctx, core.TestFilter{State: core.StateRedExecuting})
			if err != nil || total != 1 || list[0].ID != t1.ID {
				t.Errorf("by state: %v %d %v", list, total, err)
			}
			_, total, _ = tx.ListTests(ctx, core.TestFilter{TechniqueID: exec.ID})
			if total != 1 {
				t.Errorf("by technique: %d", total)
			}
			future := time.Now().Add(time.Hour)
			_, total, _ = tx.ListTests(ctx, core.TestFilter{Since: &future})
			if total != 0 {
				t.Errorf("since the future: %d", total)
			}
			return nil
		})
	})
}

func TestStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, sub := seedTechniques(t, s)
		newTest(t, s, sub.ID)
		mustUpdate(t, s, func(tx core.Tx) error {
			return tx.CreateUser(ctx, &core.User{Username: "admin", Role: core.RoleAdmin, PasswordHash: "h"})
		})
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Entities["techniques"]; got.Total != 2 || got.By["level"]["sub-technique"] != 1 || got.By["standing"]["active"] != 2 {
			t.Errorf("techniques: %+v", got)
		}
		if got := st.Entities["tests"]; got.Total != 1 || got.By["state"]["draft"] != 1 {
			t.Errorf("tests: %+v", got)
		}
		if got := st.Entities["users"]; got.Total != 1 || got.By["role"]["admin"] != 1 || got.By["disabled"]["false"] != 1 {
			t.Errorf("users: %+v", got)
		}
		if _, ok := st.Entities["audit_logs"]; !ok {
			t.Error("audit_logs missing from stats")
		}

		// Every imported record kind splits active / deprecated / revoked.
		mustUpdate(t, s, func(tx core.Tx) error {
			for i, dep := range []bool{false, true} {
				id := strconv.Itoa(i)
				if err := tx.UpsertMitigation(ctx, &core.Mitigation{Source: "attack", ExternalID: "M100" + id, Name: "m", Deprecated: dep}); err != nil {
					return err
				}
				if err := tx.UpsertCampaignProfile(ctx, &core.CampaignProfile{Source: "attack", ExternalID: "C000" + id, Kind: "attack_campaign", Name: "c", Deprecated: dep}); err != nil {
					return err
				}
			}
			for i, a := range []core.ThreatActor{{Revoked: true}, {Deprecated: true}, {}} {
				a.Source, a.ExternalID, a.Name = "attack", "G000"+strconv.Itoa(i), "g"
				if err := tx.UpsertThreatActor(ctx, &a); err != nil {
					return err
				}
			}
			return nil
		})
		st, err = s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for entity, want := range map[string]map[string]int{
			"mitigations":   {"active": 1, "deprecated": 1},
			"threat_actors": {"active": 1, "deprecated": 1, "revoked": 1},
		} {
			if got := st.Entities[entity].By["standing"]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s standing = %v, want %v", entity, got, want)
			}
		}
		if got := st.Entities["campaign_profiles"].By["standing_by_kind"]; got["attack_campaign:active"] != 1 || got["attack_campaign:deprecated"] != 1 {
			t.Errorf("campaign profiles: %v", got)
		}
	})
}

// Every table the migrations create is counted by stats, so `aegis stats` never misses
// an entity a later migration adds.
func TestStatsCoverEveryTable(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	var tables []string
	if err := s.DB().Select(&tables, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'schema_migrations%' AND `+storetest.NotSearchIndex("name")); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if _, ok := st.Entities[table]; !ok {
			t.Errorf("table %s is not in stats", table)
		}
	}
	if len(tables) < 35 {
		t.Fatalf("only %d tables", len(tables))
	}
}

func TestCoverageStatusFollowsTests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		exec, sub := seedTechniques(t, s)
		status := func(id string) core.CoverageStatus {
			var te *core.Technique
			s.View(ctx, func(tx core.Tx) error {
				te, _ = tx.TechniqueByID(ctx, id)
				return nil
			})
			return te.CoverageStatus
		}
		if got := status(sub.ID); got != core.StatusNotTested {
			t.Fatalf("no tests: %s", got)
		}
		te := newTest(t, s, sub.ID)
		if got := status(sub.ID); got != core.StatusInProgress {
			t.Fatalf("a draft test: %s", got)
		}
		yes, no := true, false
		validate := func(te *core.Test, prevented, alerted, logged *bool, at time.Time) {
			te.State, te.Prevented, te.Alerted, te.Logged, te.ValidatedAt = core.StateValidated, prevented, alerted, logged, &at
			mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateTest(ctx, te) })
		}
		base := time.Now().UTC().Truncate(time.Second)
		validate(te, &no, &no, &no, base)
		if got := status(sub.ID); got != core.StatusNotCovered {
			t.Fatalf("validated, nothing seen: %s", got)
		}
		retest := newTest(t, s, sub.ID)
		validate(retest, &no, &no, &yes, base.Add(time.Hour))
		if got := status(sub.ID); got != core.StatusPartial {
			t.Fatalf("latest only logged: %s", got)
		}
		third := newTest(t, s, sub.ID)
		validate(third, nil, &yes, &yes, base.Add(2*time.Hour))
		if got := status(sub.ID); got != core.StatusCovered {
			t.Fatalf("latest alerted: %s", got)
		}
		// Moving the latest test to another technique re-derives both.
		third.TechniqueID = exec.ID
		mustUpdate(t, s, func(tx core.Tx) error { return tx.UpdateTest(ctx, third) })
		if a, b := status(sub.ID), status(exec.ID); a != core.StatusPartial || b != core.StatusCovered {
			t.Fatalf("after the move: %s and %s", a, b)
		}
		s.View(ctx, func(tx core.Tx) error {
			list, total, err := tx.ListTechniques(ctx, core.TechniqueFilter{Status: core.StatusCovered})
			if err != nil || total != 1 || list[0].ID != exec.ID {
				t.Errorf("status filter: %d %v", total, err)
			}
			return nil
		})
	})
}

func TestSearchTerms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		mustUpdate(t, s, func(tx core.Tx) error {
			for _, r := range []*core.DetectionRule{
				{Source: "sigma", ExternalID: "r1", Title: "Suspicious PowerShell Download Cradle", Raw: "CommandLine|contains: 'Net.WebClient'"},
				{Source: "sigma", ExternalID: "r2", Title: "PowerShell Encoded Command", Description: "downloads nothing"},
				{Source: "sigma", ExternalID: "r3", Title: "Certutil download", Raw: "Image|endswith: '\\\\certutil.exe'"},
				{Source: "sigma", ExternalID: "r4", Title: "100% CPU miner_process"},
			} {
				if err := tx.UpsertDetectionRule(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		cases := map[string][]string{
			"powershell download":   {"r1", "r2"}, // both words, any order, any field
			"download powershell":   {"r1", "r2"},
			`"download cradle"`:     {"r1"}, // a phrase stays together
			"net.webclient":         {"r1"}, // what the rule looks for, in its raw text
			"certutil.exe":          {"r3"},
			"100%":                  {"r4"}, // LIKE wildcards are literal
			"miner_":                {"r4"},
			"powershell kerberoast": nil,
		}
		for q, want := range cases {
			got := searchRules(t, s, q)
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("search %q: %v, want %v", q, got, want)
			}
		}
	})
}

// Analyze vacuums and analyzes every table of the store's own schema on PostgreSQL (a
// bulk load's planner statistics and visibility map), and nothing of other schemas.
func TestAnalyzeVacuumsItsOwnSchema(t *testing.T) {
	if os.Getenv(storetest.EnvPostgresDSN) == "" {
		t.Skip("needs PostgreSQL (" + storetest.EnvPostgresDSN + ")")
	}
	s := storetest.Open(t, store.Postgres)
	other := storetest.Open(t, store.Postgres)
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(st *store.Store, cond string) int {
		var n int
		if err := st.DB().Get(&n, `SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() AND `+cond); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if all, missed := count(s, "TRUE"), count(s, "(last_vacuum IS NULL OR last_analyze IS NULL)"); all == 0 || missed != 0 {
		t.Fatalf("%d of %d tables not vacuumed and analyzed", missed, all)
	}
	if done := count(other, "last_vacuum IS NOT NULL"); done != 0 {
		t.Fatalf("%d tables of another schema vacuumed", done)
	}
}
