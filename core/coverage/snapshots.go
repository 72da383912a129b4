package coverage

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// SnapshotTakers may take a snapshot on demand (the weekly job takes them as "system").
var SnapshotTakers = []core.Role{core.RoleAdmin, core.RoleRedLead, core.RoleBlueLead}

// CreateSnapshot records the organisation's coverage now: every live technique's
// status, score and test counts, every test's state and outcome, the metrics and the
// formula version. actor is nil for the scheduled job.
func (s *Service) CreateSnapshot(ctx context.Context, actor *core.User, name string) (*core.Snapshot, error) {
	if actor != nil && !slices.Contains(SnapshotTakers, actor.Role) {
		return nil, core.Errorf(core.EFORBIDDEN, "the %s role may not take snapshots", actor.Role)
	}
	name = strings.TrimSpace(name)
	if len(name) > 200 {
		return nil, core.FieldError("name", "is longer than 200 characters")
	}
	var snap *core.Snapshot
	err := s.store.Update(ctx, func(tx core.Tx) error {
		m, met, err := s.metricsIn(ctx, tx, "", DefaultWindow)
		if err != nil {
			return err
		}
		doc, err := json.Marshal(met)
		if err != nil {
			return err
		}
		if name == "" {
			name = "Snapshot " + m.now.Format("2006-01-02 15:04")
		}
		all := m.all()
		snap = &core.Snapshot{Name: name, TakenAt: m.now, FormulaVersion: m.version, OrgScore: met.Organisation.Score,
			TechniqueCount: len(all), Metrics: doc}
		if actor != nil {
			snap.CreatedBy = &actor.ID
		}
		states := make([]core.SnapshotTechniqueState, 0, len(all))
		for _, n := range all {
			if n.counts.Tests > 0 {
				snap.TestedCount++
			}
			states = append(states, core.SnapshotTechniqueState{TechniqueID: n.te.ID, ExternalID: n.te.ExternalID, Name: n.te.Name,
				Status: n.status, Score: n.score, TestCount: n.counts.Tests, ValidatedCount: n.counts.Validated})
		}
		if err := tx.CreateSnapshot(ctx, snap, states); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, "snapshot.created", "snapshot", snap.ID,
			map[string]any{"name": snap.Name, "formula_version": snap.FormulaVersion, "org_score": snap.OrgScore, "techniques": snap.TechniqueCount}))
	})
	return snap, err
}

// PruneSnapshots keeps the newest keep snapshots.
func (s *Service) PruneSnapshots(ctx context.Context, keep int) (int, error) {
	var n int
	err := s.store.Update(ctx, func(tx core.Tx) error {
		var err error
		if n, err = tx.PruneSnapshots(ctx, keep); err != nil || n == 0 {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(nil, "snapshot.pruned", "snapshot", "", map[string]any{"deleted": n, "kept": keep}))
	})
	return n, err
}

// Snapshots lists snapshots, newest first.
func (s *Service) Snapshots(ctx context.Context, p core.Page) ([]*core.Snapshot, int, error) {
	var out []*core.Snapshot
	var total int
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		out, total, err = tx.ListSnapshots(ctx, p)
		return err
	})
	return out, total, err
}

// SnapshotDetail is a snapshot with its techniques.
type SnapshotDetail struct {
	*core.Snapshot
	Techniques []core.SnapshotTechniqueState `json:"techniques"`
}

// Snapshot reads one snapshot with its technique states.
func (s *Service) Snapshot(ctx context.Context, id string) (*SnapshotDetail, error) {
	var out SnapshotDetail
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		if out.Snapshot, err = tx.SnapshotByID(ctx, id); err != nil {
			return err
		}
		out.Techniques, err = tx.SnapshotTechniqueStates(ctx, id)
		return err
	})
	return &out, err
}

// TestChange is a test whose state or outcome differs between two snapshots.
type TestChange struct {
	TestID        string         `json:"test_id"`
	Title         string         `json:"title"`
	TechniqueID   string         `json:"technique_id"`
	Change        string         `json:"change"` // added, removed, state, outcome, state+outcome
	BeforeState   core.TestState `json:"before_state,omitempty"`
	AfterState    core.TestState `json:"after_state,omitempty"`
	BeforeOutcome string         `json:"before_outcome,omitempty"`
	AfterOutcome  string         `json:"after_outcome,omitempty"`
}

// TechniqueChange is a technique whose coverage differs, with the tests that explain it.
type TechniqueChange struct {
	TechniqueID  string              `json:"technique_id"`
	Name         string              `json:"name"`
	BeforeStatus core.CoverageStatus `json:"before_status,omitempty"`
	AfterStatus  core.CoverageStatus `json:"after_status,omitempty"`
	BeforeScore  *float64            `json:"before_score"`
	AfterScore   *float64            `json:"after_score"`
	Tests        []TestChange        `json:"tests"`
}

// Comparison of two snapshots.
type SnapshotComparison struct {
	From        *core.Snapshot `json:"from"`
	To          *core.Snapshot `json:"to"`
	ScoreChange *float64       `json:"score_change"`
	// SameFormula is false when the two were scored by different formula versions:
	// score changes may then come from the formula, not from the tests.
	SameFormula bool              `json:"same_formula"`
	Improved    []TechniqueChange `json:"improved"`
	Regressed   []TechniqueChange `json:"regressed"`
	New         []TechniqueChange `json:"new"`     // in "to" only (a technique ATT&CK added)
	Removed     []TechniqueChange `json:"removed"` // in "from" only
	Unchanged   int               `json:"unchanged"`
	// TestsChanged is every test that changed, whether or not it moved its technique.
	TestsChanged []TestChange `json:"tests_changed"`
}

// OutcomeWords spells a stored outcome ("PA") as "prevented+alerted"; "" is "none".
func OutcomeWords(code string) string {
	var w []string
	for _, c := range code {
		switch c {
		case 'P':
			w = append(w, "prevented")
		case 'A':
			w = append(w, "alerted")
		case 'L':
			w = append(w, "logged")
		}
	}
	if len(w) == 0 {
		return "none"
	}
	return strings.Join(w, "+")
}

// CompareSnapshots says which techniques improved, regressed, appeared or went away
// between two snapshots, and why: the tests that changed state or outcome.
func (s *Service) CompareSnapshots(ctx context.Context, fromID, toID string) (*SnapshotComparison, error) {
	var out *SnapshotComparison
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		out, err = compareIn(ctx, tx, fromID, toID)
		return err
	})
	return out, err
}

func compareIn(ctx context.Context, tx core.Tx, fromID, toID string) (*SnapshotComparison, error) {
	out := &SnapshotComparison{Improved: []TechniqueChange{}, Regressed: []TechniqueChange{}, New: []TechniqueChange{},
		Removed: []TechniqueChange{}, TestsChanged: []TestChange{}}
	err := func() error {
		var err error
		if out.From, err = tx.SnapshotByID(ctx, fromID); err != nil {
			return err
		}
		if out.To, err = tx.SnapshotByID(ctx, toID); err != nil {
			return err
		}
		out.SameFormula = out.From.FormulaVersion == out.To.FormulaVersion
		if out.From.OrgScore != nil && out.To.OrgScore != nil {
			d := *out.To.OrgScore - *out.From.OrgScore
			out.ScoreChange = &d
		}
		before, err := tx.SnapshotTechniqueStates(ctx, fromID)
		if err != nil {
			return err
		}
		after, err := tx.SnapshotTechniqueStates(ctx, toID)
		if err != nil {
			return err
		}
		tb, err := tx.SnapshotTestStates(ctx, fromID)
		if err != nil {
			return err
		}
		ta, err := tx.SnapshotTestStates(ctx, toID)
		if err != nil {
			return err
		}
		techs, err := tx.CoverageTechniques(ctx, "")
		if err != nil {
			return err
		}
		ext := map[string]string{}
		for _, t := range techs {
			ext[t.ID] = t.ExternalID
		}
		compare(out, before, after, tb, ta, ext)
		return nil
	}()
	return out, err
}

func compare(out *SnapshotComparison, before, after []core.SnapshotTechniqueState, tb, ta []core.SnapshotTestState, ext map[string]string) {
	testsBefore := map[string]core.SnapshotTestState{}
	for _, t := range tb {
		testsBefore[t.TestID] = t
	}
	byTechnique := map[string][]TestChange{}
	add := func(c TestChange, techniqueID string) {
		c.TechniqueID = ext[techniqueID]
		out.TestsChanged = append(out.TestsChanged, c)
		byTechnique[techniqueID] = append(byTechnique[techniqueID], c)
	}
	seen := map[string]bool{}
	for _, a := range ta {
		seen[a.TestID] = true
		b, ok := testsBefore[a.TestID]
		if !ok {
			add(TestChange{TestID: a.TestID, Title: a.Title, Change: "added", AfterState: a.State, AfterOutcome: OutcomeWords(a.Outcome)}, a.TechniqueID)
			continue
		}
		var kinds []string
		if a.State != b.State {
			kinds = append(kinds, "state")
		}
		if a.Outcome != b.Outcome {
			kinds = append(kinds, "outcome")
		}
		if b.TechniqueID != a.TechniqueID {
			// Moved to another technique (an ATT&CK remap): it left one and joined the other.
			add(TestChange{TestID: b.TestID, Title: b.Title, Change: "removed", BeforeState: b.State, BeforeOutcome: OutcomeWords(b.Outcome)}, b.TechniqueID)
			add(TestChange{TestID: a.TestID, Title: a.Title, Change: "added", AfterState: a.State, AfterOutcome: OutcomeWords(a.Outcome)}, a.TechniqueID)
			continue
		}
		if len(kinds) > 0 {
			add(TestChange{TestID: a.TestID, Title: a.Title, Change: strings.Join(kinds, "+"), BeforeState: b.State, AfterState: a.State,
				BeforeOutcome: OutcomeWords(b.Outcome), AfterOutcome: OutcomeWords(a.Outcome)}, a.TechniqueID)
		}
	}
	for _, b := range tb {
		if !seen[b.TestID] {
			add(TestChange{TestID: b.TestID, Title: b.Title, Change: "removed", BeforeState: b.State, BeforeOutcome: OutcomeWords(b.Outcome)}, b.TechniqueID)
		}
	}
	sort.Slice(out.TestsChanged, func(i, j int) bool {
		a, b := out.TestsChanged[i], out.TestsChanged[j]
		if a.TechniqueID != b.TechniqueID {
			return a.TechniqueID < b.TechniqueID
		}
		return a.TestID < b.TestID
	})

	prev := map[string]core.SnapshotTechniqueState{}
	for _, b := range before {
		prev[b.TechniqueID] = b
	}
	change := func(b, a *core.SnapshotTechniqueState) TechniqueChange {
		c := TechniqueChange{Tests: byTechnique[pick(a, b).TechniqueID]}
		if c.Tests == nil {
			c.Tests = []TestChange{}
		}
		sort.Slice(c.Tests, func(i, j int) bool { return c.Tests[i].TestID < c.Tests[j].TestID })
		c.TechniqueID, c.Name = pick(a, b).ExternalID, pick(a, b).Name
		if b != nil {
			c.BeforeStatus, c.BeforeScore = b.Status, b.Score
		}
		if a != nil {
			c.AfterStatus, c.AfterScore = a.Status, a.Score
		}
		return c
	}
	inAfter := map[string]bool{}
	for i := range after {
		a := &after[i]
		inAfter[a.TechniqueID] = true
		b, ok := prev[a.TechniqueID]
		if !ok {
			out.New = append(out.New, change(nil, a))
			continue
		}
		switch d := direction(&b, a); {
		case d > 0:
			out.Improved = append(out.Improved, change(&b, a))
		case d < 0:
			out.Regressed = append(out.Regressed, change(&b, a))
		default:
			out.Unchanged++
		}
	}
	for i := range before {
		if b := &before[i]; !inAfter[b.TechniqueID] {
			out.Removed = append(out.Removed, change(b, nil))
		}
	}
}

func pick(a, b *core.SnapshotTechniqueState) *core.SnapshotTechniqueState {
	if a != nil {
		return a
	}
	return b
}

// direction is +1 when a technique's coverage got better from b to a, -1 when worse,
// 0 when the same: by score when both are scored, else gaining a score is better, else
// by status (not tested < in progress < not covered < partial < covered).
func direction(b, a *core.SnapshotTechniqueState) int {
	switch {
	case b.Score != nil && a.Score != nil && math.Abs(*a.Score-*b.Score) > 1e-9:
		if *a.Score > *b.Score {
			return 1
		}
		return -1
	case b.Score == nil && a.Score != nil:
		return 1
	case b.Score != nil && a.Score == nil:
		return -1
	}
	switch rb, ra := statusRank(b.Status), statusRank(a.Status); {
	case ra > rb:
		return 1
	case ra < rb:
		return -1
	}
	return 0
}
