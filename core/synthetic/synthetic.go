// Package synthetic generates a large, deterministic organisation on top of the imported
// ATT&CK catalog, for development and the benchmarks (`aegis dev seed --scale N`): users,
// tests in every state with outcomes, review votes, remediation and retest chains,
// campaigns with ordered, dependent tests, and a weekly coverage snapshot for each of
// 26 weeks. The same seed, scale and end date write the same rows.
//
// Tests are written week by week through the store's bulk port (one transaction per
// week), and each week ends with a snapshot taken by the coverage service on a clock set
// to that week's end, so the snapshot history grows the way a real one would.
package synthetic

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
)

// At scale 1.
const (
	TestsAtScale1     = 100_000
	CampaignsAtScale1 = 2_000
	UsersAtScale1     = 50
	// Weeks is the length of the history, in weekly snapshots, at every scale.
	Weeks = 26
	// MinUsers keeps every role staffed at small scales.
	MinUsers = 12
)

// Options say what to generate.
type Options struct {
	Scale float64 // 1 is the large organisation; fractions allowed
	Seed  uint64
	// End is the time of the last weekly snapshot; the history runs Weeks weeks back
	// from it. Part of what makes a run repeatable.
	End    time.Time
	Domain string // ATT&CK domain the tests are drawn from (default enterprise-attack)
	// Progress, when set, hears one line per written week.
	Progress func(string)
}

// Sizes are the row counts a scale asks for.
type Sizes struct {
	Tests, Campaigns, Users, Weeks int
}

// SizesAt returns the sizes of scale s.
func SizesAt(s float64) Sizes {
	return Sizes{
		Tests:     int(math.Round(TestsAtScale1 * s)),
		Campaigns: int(math.Round(CampaignsAtScale1 * s)),
		Users:     max(MinUsers, int(math.Round(UsersAtScale1*s))),
		Weeks:     Weeks,
	}
}

// Result counts what was written.
type Result struct {
	Sizes
	Retests        int                    `json:"retests"`
	Votes          int                    `json:"votes"`
	CampaignTests  int                    `json:"campaign_tests"`
	Dependencies   int                    `json:"dependencies"`
	Snapshots      int                    `json:"snapshots"`
	ByState        map[core.TestState]int `json:"by_state"`
	ByRemediation  map[string]int         `json:"by_remediation"`
	Techniques     int                    `json:"techniques"` // distinct techniques tested
	CatalogTargets int                    `json:"catalog_techniques"`
}

// gen holds one run's random source and what it has made so far.
type gen struct {
	o      Options
	rng    *rand.Rand
	start  time.Time
	techs  []*core.CoverageTechnique
	byID   map[string]*core.CoverageTechnique
	tpls   map[string][]core.TemplateChoice // by ATT&CK id
	users  map[core.Role][]*core.User
	tests  []*core.Test
	votes  map[string][]*core.Vote // by test id
	result *Result
}

// Read fills p from the seeded source, so ids come out the same for the same seed.
func (g *gen) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(g.rng.Uint32())
	}
	return len(p), nil
}

func (g *gen) id() string { return uuid.Must(uuid.NewRandomFromReader(g)).String() }

func (g *gen) pick(us []*core.User) *core.User { return us[g.rng.IntN(len(us))] }

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

// between returns a time in [from, from+d).
func (g *gen) between(from time.Time, d time.Duration) time.Time {
	return from.Add(time.Duration(g.rng.Int64N(int64(d)))).Truncate(time.Second)
}

// Generate writes a synthetic organisation of scale o.Scale into st. The database must
// hold the ATT&CK catalog of o.Domain and no tests yet.
func Generate(ctx context.Context, st core.Store, o Options) (*Result, error) {
	if o.Scale <= 0 || o.Scale > 100 {
		return nil, core.FieldError("scale", "must be above 0 and at most 100, not %v", o.Scale)
	}
	if o.End.IsZero() {
		return nil, core.FieldError("end", "is required (the time of the last weekly snapshot)")
	}
	if o.Domain == "" {
		o.Domain = coverage.DefaultDomain
	}
	o.End = o.End.UTC().Truncate(time.Second)
	sz := SizesAt(o.Scale)
	g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), start: o.End.AddDate(0, 0, -7*sz.Weeks),
		tpls: map[string][]core.TemplateChoice{}, users: map[core.Role][]*core.User{}, votes: map[string][]*core.Vote{},
		result: &Result{Sizes: sz, ByState: map[core.TestState]int{}, ByRemediation: map[string]int{}}}
	if err := g.loadCatalog(ctx, st); err != nil {
		return nil, err
	}
	if err := g.writeUsers(ctx, st); err != nil {
		return nil, err
	}
	g.planTests(sz.Tests)
	if err := g.writeWeeks(ctx, st); err != nil {
		return nil, err
	}
	if err := g.writeCampaigns(ctx, st, sz.Campaigns); err != nil {
		return nil, err
	}
	// A bulk load leaves the database's statistics describing empty tables (see
	// store.Store.Analyze); a store that keeps such statistics refreshes them.
	if a, ok := st.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			return nil, err
		}
	}
	return g.result, nil
}

// loadCatalog reads the live techniques of the domain (by ATT&CK id, so the draw does
// not depend on database ids) and the templates that test them.
func (g *gen) loadCatalog(ctx context.Context, st core.Store) error {
	return st.View(ctx, func(tx core.Tx) error {
		_, n, err := tx.ListTests(ctx, core.TestFilter{Page: core.Page{Limit: 1}})
		if err != nil {
			return err
		}
		if n > 0 {
			return core.Errorf(core.ECONFLICT, "the database holds %d tests already: seed an empty one (a second run would write the same ids)", n)
		}
		techs, err := tx.CoverageTechniques(ctx, g.o.Domain)
		if err != nil {
			return err
		}
		for _, te := range techs {
			if te.Known && !te.Revoked && !te.Deprecated {
				g.techs = append(g.techs, te)
			}
		}
		if len(g.techs) == 0 {
			return core.Errorf(core.ENOTFOUND, "no live techniques of domain %q: import ATT&CK first (aegis import attack)", g.o.Domain)
		}
		sort.Slice(g.techs, func(i, j int) bool { return g.techs[i].ExternalID < g.techs[j].ExternalID })
		g.byID = make(map[string]*core.CoverageTechnique, len(g.techs))
		for _, te := range g.techs {
			g.byID[te.ID] = te
		}
		g.result.CatalogTargets = len(g.techs)
		ext := make([]string, len(g.techs))
		for i, te := range g.techs {
			ext[i] = te.ExternalID
		}
		choices, err := tx.TemplateChoices(ctx, core.TemplateQuery{Techniques: ext})
		if err != nil {
			return err
		}
		for _, c := range choices {
			g.tpls[c.TechniqueID] = append(g.tpls[c.TechniqueID], c)
		}
		for k := range g.tpls {
			sort.Slice(g.tpls[k], func(i, j int) bool { return g.tpls[k][i].ExternalID < g.tpls[k][j].ExternalID })
		}
		return nil
	})
}

// roleShares is how 50 people split over the roles.
var roleShares = []struct {
	role  core.Role
	share float64
}{{core.RoleAdmin, 2}, {core.RoleRedLead, 4}, {core.RoleRedTech, 15}, {core.RoleBlueLead, 4}, {core.RoleBlueTech, 15}, {core.RoleViewer, 10}}

// UnusablePassword is the password hash of generated users: no password matches it,
// so a seeded database never holds an account anyone can sign in to.
const UnusablePassword = "!synthetic"

func (g *gen) writeUsers(ctx context.Context, st core.Store) error {
	n := g.result.Users
	per := make([]int, len(roleShares))
	total := 0
	for i, rs := range roleShares {
		per[i] = max(1, int(rs.share*float64(n)/50))
		total += per[i]
	}
	// What rounding down left goes to the technicians and viewers first.
	for i := 0; total < n; i++ {
		per[[]int{2, 4, 5, 1, 3, 0}[i%6]]++
		total++
	}
	var us []*core.User
	for r, rs := range roleShares {
		for i := 1; i <= per[r]; i++ {
			name := fmt.Sprintf("seed-%s-%02d", strings.ReplaceAll(string(rs.role), "_", "-"), i)
			u := &core.User{ID: g.id(), Username: name, DisplayName: fmt.Sprintf("Seeded %s %d", rs.role, i),
				Email: name + "@example.invalid", PasswordHash: UnusablePassword, Role: rs.role}
			us = append(us, u)
			g.users[rs.role] = append(g.users[rs.role], u)
		}
	}
	g.result.Users = len(us)
	return st.Update(ctx, func(tx core.Tx) error {
		for _, u := range us {
			if err := tx.CreateUser(ctx, u); err != nil {
				return fmt.Errorf("seed user %s: %w", u.Username, err)
			}
		}
		return nil
	})
}

// planTests draws n tests (originals and their retests) in memory, sorted by creation.
func (g *gen) planTests(n int) {
	span := g.o.End.Sub(g.start)
	popular := min(50, len(g.techs))
	for len(g.tests) < n {
		var te *core.CoverageTechnique
		if g.chance(0.3) {
			te = g.techs[g.rng.IntN(popular)*len(g.techs)/popular]
		} else {
			te = g.techs[g.rng.IntN(len(g.techs))]
		}
		created := g.between(g.start, span)
		t := g.newTest(te, created, len(g.tests)+1)
		g.tests = append(g.tests, t)
		g.advance(t, n)
	}
	sort.SliceStable(g.tests, func(i, j int) bool { return g.tests[i].CreatedAt.Before(g.tests[j].CreatedAt) })
	seen := map[string]bool{}
	for _, t := range g.tests {
		g.result.ByState[t.State]++
		g.result.ByRemediation[t.RemediationStatus]++
		if t.RetestOf != nil {
			g.result.Retests++
		}
		seen[t.TechniqueID] = true
	}
	g.result.Techniques = len(seen)
}

// newTest makes a draft of technique te.
func (g *gen) newTest(te *core.CoverageTechnique, created time.Time, seq int) *core.Test {
	platform := "windows"
	if len(te.Platforms) > 0 {
		platform = strings.ToLower(te.Platforms[g.rng.IntN(len(te.Platforms))])
	}
	author := g.pick(slices.Concat(g.users[core.RoleRedLead], g.users[core.RoleRedTech]))
	t := &core.Test{ID: g.id(), TechniqueID: te.ID, Platform: platform, State: core.StateDraft, Version: 1,
		Title: fmt.Sprintf("%s %s on %s #%d", te.ExternalID, te.Name, platform, seq), CreatedBy: &author.ID,
		CreatedAt: created, UpdatedAt: created, RemediationStatus: core.RemediationNone, ControlOutcomes: core.JSON("[]")}
	if tp := g.tpls[te.ExternalID]; len(tp) > 0 && g.chance(0.6) {
		c := tp[g.rng.IntN(len(tp))]
		t.TemplateID, t.Procedure, t.Command = &c.TemplateID, c.Name, c.Command
	} else {
		t.Procedure = fmt.Sprintf("Custom procedure %d for %s", g.rng.IntN(5)+1, te.ExternalID)
		t.Command = fmt.Sprintf("run-%s --variant %d", strings.ToLower(te.ExternalID), g.rng.IntN(5)+1)
	}
	t.Target = fmt.Sprintf("host-%03d.corp.example", g.rng.IntN(400))
	return t
}

// advance moves t along the lifecycle to a state drawn by its age (older tests are
// further along), filling what each step records, and adds the retest a completed
// remediation creates while the total stays within n.
func (g *gen) advance(t *core.Test, n int) {
	age := float64(g.o.End.Sub(t.CreatedAt)) / float64(g.o.End.Sub(g.start))
	pValidated := 0.15 + 0.55*age
	var target core.TestState
	switch u := g.rng.Float64(); {
	case u < pValidated:
		target = core.StateValidated
	case u < pValidated+0.05:
		target = core.StateRejected
	default:
		target = []core.TestState{core.StateDraft, core.StateRedExecuting, core.StateBlueEvaluating, core.StateInReview}[g.rng.IntN(4)]
	}
	at := t.CreatedAt
	step := func(max time.Duration) time.Time {
		// Nothing happens after the history ends.
		if at = g.between(at.Add(time.Minute), max); at.After(g.o.End) {
			at = g.o.End
		}
		t.Version++
		t.UpdatedAt = at
		return at
	}
	rank := slices.Index(core.TestStates, target)
	if target == core.StateRejected {
		rank = slices.Index(core.TestStates, core.StateInReview)
	}
	if rank >= 1 {
		red := g.pick(g.users[core.RoleRedTech])
		t.AssignedRed = &red.ID
		step(24 * time.Hour)
		t.State = core.StateRedExecuting
	}
	if rank >= 2 {
		ex := step(72 * time.Hour)
		t.ExecutedAt, t.ExecutedBy = &ex, t.AssignedRed
		t.AttackOutcome = core.AttackOutcomes[g.rng.IntN(len(core.AttackOutcomes))]
		t.RedNotes = "Executed as planned."
		blue := g.pick(g.users[core.RoleBlueTech])
		t.AssignedBlue = &blue.ID
		t.State = core.StateBlueEvaluating
	}
	if rank >= 3 {
		ev := step(48 * time.Hour)
		if g.chance(0.03) {
			t.NotApplicable = true
		} else {
			fact := func(p float64) (*bool, *time.Time) {
				v := g.chance(p)
				if !v {
					return &v, nil
				}
				when := ev.Add(-time.Duration(g.rng.IntN(3600)) * time.Second)
				return &v, &when
			}
			t.Prevented, t.PreventedAt = fact(0.3)
			t.Alerted, t.AlertedAt = fact(0.45)
			t.Logged, t.LoggedAt = fact(0.7)
		}
		t.BlueNotes = "Evaluated against EDR and SIEM telemetry."
		t.ReviewRound = 1
		t.State = core.StateInReview
		if target == core.StateInReview && g.chance(0.5) {
			g.vote(t, g.leadRole(), core.VoteApprove, step(24*time.Hour))
		}
	}
	switch target {
	case core.StateRejected:
		g.vote(t, g.leadRole(), core.VoteReject, step(48*time.Hour))
		t.RejectionReason = "Evidence does not show the technique ran."
		t.State = core.StateRejected
	case core.StateValidated:
		if g.chance(0.2) {
			// Rejected once, reopened and resubmitted: the second round validates.
			g.vote(t, g.leadRole(), core.VoteReject, step(48*time.Hour))
			step(72 * time.Hour)
			t.ReviewRound = 2
		}
		g.vote(t, core.RoleRedLead, core.VoteApprove, step(48*time.Hour))
		val := step(48 * time.Hour)
		g.vote(t, core.RoleBlueLead, core.VoteApprove, val)
		t.ValidatedAt = &val
		t.State = core.StateValidated
		g.remediate(t, n)
	}
}

func (g *gen) leadRole() core.Role {
	if g.chance(0.5) {
		return core.RoleRedLead
	}
	return core.RoleBlueLead
}

func (g *gen) vote(t *core.Test, role core.Role, d core.VoteDecision, at time.Time) {
	v := &core.Vote{ID: g.id(), TestID: t.ID, ReviewRound: t.ReviewRound, LeadRole: role, UserID: g.pick(g.users[role]).ID,
		Decision: d, CreatedAt: at}
	if d == core.VoteReject {
		v.Reason = "Evidence does not show the technique ran."
	}
	g.votes[t.ID] = append(g.votes[t.ID], v)
	g.result.Votes++
}

// remediate opens a remediation on most validated tests that were neither prevented
// nor alerted on; a completed one brings its retest.
func (g *gen) remediate(t *core.Test, n int) {
	if t.NotApplicable || (t.Prevented != nil && *t.Prevented) || (t.Alerted != nil && *t.Alerted) || !g.chance(0.6) {
		return
	}
	owner := g.pick(slices.Concat(g.users[core.RoleBlueLead], g.users[core.RoleBlueTech]))
	due := t.ValidatedAt.AddDate(0, 0, 30)
	t.RemediationOwner, t.RemediationDue = &owner.ID, &due
	t.RemediationNotes = "Add a detection for the technique's telemetry."
	t.Version++
	switch u := g.rng.Float64(); {
	case u < 0.3:
		t.RemediationStatus = core.RemediationOpen
		return
	case u < 0.6:
		t.RemediationStatus = core.RemediationInProgress
		return
	case u < 0.7:
		t.RemediationStatus = core.RemediationWontFix
		return
	}
	done := g.between(t.ValidatedAt.Add(48*time.Hour), 28*24*time.Hour)
	if !done.Before(g.o.End) || t.RetestDepth >= core.MaxRetestDepth || len(g.tests) >= n {
		t.RemediationStatus = core.RemediationInProgress
		return
	}
	t.RemediationStatus, t.RemediationCompletedAt, t.UpdatedAt = core.RemediationCompleted, &done, done
	t.Version++
	r := g.newTest(g.byID[t.TechniqueID], done, len(g.tests)+1)
	r.Title = "Retest: " + t.Title
	r.Platform, r.TemplateID, r.Procedure, r.Command, r.Target = t.Platform, t.TemplateID, t.Procedure, t.Command, t.Target
	r.RetestOf, r.RetestDepth = &t.ID, t.RetestDepth+1
	g.tests = append(g.tests, r)
	g.advance(r, n)
}

// writeWeeks writes the tests created in each week, then that week's snapshot.
func (g *gen) writeWeeks(ctx context.Context, st core.Store) error {
	i := 0
	for w := 1; w <= g.result.Weeks; w++ {
		end := g.start.AddDate(0, 0, 7*w)
		j := i
		for j < len(g.tests) && g.tests[j].CreatedAt.Before(end) {
			j++
		}
		if w == g.result.Weeks {
			j = len(g.tests)
		}
		batch := g.tests[i:j]
		var votes []*core.Vote
		for _, t := range batch {
			votes = append(votes, g.votes[t.ID]...)
		}
		err := st.Update(ctx, func(tx core.Tx) error {
			if err := tx.InsertTests(ctx, batch); err != nil {
				return err
			}
			return tx.InsertVotes(ctx, votes)
		})
		if err != nil {
			return fmt.Errorf("seed week %d: %w", w, err)
		}
		svc := coverage.New(st, func() time.Time { return end })
		if _, err := svc.CreateSnapshot(ctx, nil, "Weekly snapshot "+end.Format("2006-01-02")); err != nil {
			return fmt.Errorf("seed snapshot of week %d: %w", w, err)
		}
		g.result.Snapshots++
		if g.o.Progress != nil {
			g.o.Progress(fmt.Sprintf("week %d/%d: %d tests, %d votes, snapshot at %s", w, g.result.Weeks, len(batch), len(votes), end.Format(time.RFC3339)))
		}
		i = j
	}
	return nil
}

// writeCampaigns groups about 40% of the original tests, in creation order, into
// campaigns of consecutive tests; some tests wait for the one before, and some
// campaigns are later runs of an earlier one.
func (g *gen) writeCampaigns(ctx context.Context, st core.Store, n int) error {
	if n == 0 {
		return nil
	}
	var pool []*core.Test
	for _, t := range g.tests {
		if t.RetestOf == nil && g.chance(0.4) {
			pool = append(pool, t)
		}
	}
	lead := slices.Concat(g.users[core.RoleRedLead], g.users[core.RoleBlueLead])
	var camps []*core.Campaign
	members := map[string][]*core.CampaignTest{}
	for k := 0; k < n; k++ {
		from, to := k*len(pool)/n, (k+1)*len(pool)/n
		tests := pool[from:to]
		c := &core.Campaign{ID: g.id(), Name: fmt.Sprintf("Campaign %04d", k+1), Status: core.CampaignPlanned,
			Recurrence: core.RecurNone, CreatedBy: &g.pick(lead).ID, Source: "", Description: "Generated by aegis dev seed."}
		if len(camps) > 10 && g.chance(0.1) {
			parent := camps[g.rng.IntN(len(camps))]
			c.ParentCampaignID, c.Name = &parent.ID, parent.Name+fmt.Sprintf(" (run %d)", k+1)
		}
		if g.chance(0.03) {
			c.Recurrence = []core.Recurrence{core.RecurWeekly, core.RecurMonthly, core.RecurQuarterly}[g.rng.IntN(3)]
			// After the history ends, so a server started on the seed does not clone them at once.
			next := g.o.End.AddDate(0, 3, 0)
			c.NextRunAt = &next
		}
		if len(tests) > 0 {
			s, e := tests[0].CreatedAt, tests[len(tests)-1].CreatedAt.AddDate(0, 0, 7)
			c.StartDate, c.EndDate = &s, &e
			done, started := 0, 0
			for _, t := range tests {
				if t.State == core.StateValidated || t.State == core.StateRejected {
					done++
				}
				if t.State != core.StateDraft {
					started++
				}
			}
			// Old campaigns with most of their tests done are completed, the newest
			// are often still planned, a few were cancelled, the rest are running.
			switch age := g.o.End.Sub(e); {
			case g.chance(0.05):
				c.Status = core.CampaignCancelled
			case done == len(tests) || (age > 8*7*24*time.Hour && 2*done > len(tests)):
				c.Status = core.CampaignCompleted
			case started == 0 || (age < 2*7*24*time.Hour && g.chance(0.3)):
				c.Status = core.CampaignPlanned
			default:
				c.Status = core.CampaignActive
			}
		}
		for i, t := range tests {
			ct := &core.CampaignTest{TestID: t.ID, Position: i + 1}
			if i > 0 && g.chance(0.3) {
				ct.DependsOn = []string{tests[i-1].ID}
				g.result.Dependencies++
			}
			members[c.ID] = append(members[c.ID], ct)
		}
		g.result.CampaignTests += len(tests)
		camps = append(camps, c)
	}
	const perTx = 200
	for i := 0; i < len(camps); i += perTx {
		batch := camps[i:min(i+perTx, len(camps))]
		err := st.Update(ctx, func(tx core.Tx) error {
			for _, c := range batch {
				if err := tx.CreateCampaign(ctx, c); err != nil {
					return fmt.Errorf("seed campaign %s: %w", c.Name, err)
				}
				if err := tx.SetCampaignTests(ctx, c.ID, members[c.ID]); err != nil {
					return fmt.Errorf("seed tests of campaign %s: %w", c.Name, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
