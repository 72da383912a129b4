package coverage

import (
	"context"
	"sort"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// ActorTechnique is a technique an actor uses, with its coverage and its weight for
// that actor (1 + the number of the actor's imported campaigns that used it).
type ActorTechnique struct {
	TechniqueID string              `json:"technique_id"`
	Name        string              `json:"name"`
	Status      core.CoverageStatus `json:"status"`
	Score       *float64            `json:"score"`
	Weight      float64             `json:"weight"`
	Procedure   string              `json:"procedure,omitempty"`
	// Retired is true for an id the current ATT&CK release does not have (revoked,
	// deprecated, or newer than the imported release).
	Retired bool `json:"retired,omitempty"`
}

// ActorCoverage is how well the organisation is covered against one actor.
type ActorCoverage struct {
	ID           string            `json:"id"`
	ExternalID   string            `json:"external_id"`
	Name         string            `json:"name"`
	Aliases      []string          `json:"aliases"`
	Techniques   int               `json:"techniques"`
	Score        scoring.Aggregate `json:"score"`
	StatusCounts StatusCounts      `json:"status_counts"`
	// Gaps group the actor's techniques: untested (no validated test yet), not
	// covered (the newest validation prevented and alerted nothing), covered; each
	// heaviest first.
	Untested   []ActorTechnique `json:"untested"`
	NotCovered []ActorTechnique `json:"not_covered"`
	Covered    []ActorTechnique `json:"covered"`
}

func (m *model) actor(a *core.ThreatActor, weights map[string]float64) *ActorCoverage {
	out := &ActorCoverage{ID: a.ID, ExternalID: a.ExternalID, Name: a.Name, Aliases: a.Aliases, Techniques: len(a.Techniques),
		StatusCounts: StatusCounts{}, Untested: []ActorTechnique{}, NotCovered: []ActorTechnique{}, Covered: []ActorTechnique{}}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	for _, st := range []core.CoverageStatus{core.StatusNotTested, core.StatusInProgress, core.StatusNotCovered, core.StatusPartial, core.StatusCovered} {
		out.StatusCounts[st] = 0
	}
	members := make([]scoring.Member, 0, len(a.Techniques))
	for _, l := range a.Techniques {
		at := ActorTechnique{TechniqueID: l.TechniqueID, Weight: weights[l.TechniqueID], Procedure: l.Note, Status: core.StatusNotTested}
		if at.Weight == 0 {
			at.Weight = 1
		}
		if n := m.byExt[l.TechniqueID]; n != nil {
			at.Name, at.Status, at.Score = n.te.Name, n.status, n.score
		} else {
			at.Retired = true
		}
		members = append(members, scoring.Member{Weight: at.Weight, Score: at.Score})
		out.StatusCounts[at.Status]++
		switch at.Status {
		case core.StatusCovered:
			out.Covered = append(out.Covered, at)
		case core.StatusNotCovered, core.StatusPartial:
			out.NotCovered = append(out.NotCovered, at)
		default:
			out.Untested = append(out.Untested, at)
		}
	}
	out.Score = scoring.Combine(members)
	for _, g := range [][]ActorTechnique{out.Untested, out.NotCovered, out.Covered} {
		sort.SliceStable(g, func(i, j int) bool {
			if g[i].Weight != g[j].Weight {
				return g[i].Weight > g[j].Weight
			}
			return g[i].TechniqueID < g[j].TechniqueID
		})
	}
	return out
}

// Actor computes the coverage and gaps against one actor (Aegis or group id).
func (s *Service) Actor(ctx context.Context, ref string) (*ActorCoverage, error) {
	var out *ActorCoverage
	err := s.store.View(ctx, func(tx core.Tx) error {
		a, err := actorByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		w, err := actorWeights(ctx, tx, a)
		if err != nil {
			return err
		}
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		out = m.actor(a, w)
		return nil
	})
	return out, err
}

// ActorSummary is an actor's line in a comparison.
type ActorSummary struct {
	ID           string            `json:"id"`
	ExternalID   string            `json:"external_id"`
	Name         string            `json:"name"`
	Techniques   int               `json:"techniques"`
	Score        scoring.Aggregate `json:"score"`
	StatusCounts StatusCounts      `json:"status_counts"`
}

// ComparedTechnique is a technique in a comparison and which of the actors use it.
type ComparedTechnique struct {
	TechniqueID string              `json:"technique_id"`
	Name        string              `json:"name"`
	Status      core.CoverageStatus `json:"status"`
	Score       *float64            `json:"score"`
	UsedBy      []string            `json:"used_by"` // group ids, in the order asked
}

// Comparison sets actors side by side.
type Comparison struct {
	Actors     []ActorSummary      `json:"actors"`
	Techniques []ComparedTechnique `json:"techniques"`
}

// MaxCompared bounds a comparison.
const MaxCompared = 10

// Compare sets several actors side by side: each one's score, and every technique any
// of them uses with who uses it (shared ones first).
func (s *Service) Compare(ctx context.Context, refs []string) (*Comparison, error) {
	if len(refs) < 2 || len(refs) > MaxCompared {
		return nil, core.FieldError("ids", "compare between 2 and %d actors, not %d", MaxCompared, len(refs))
	}
	out := &Comparison{Actors: []ActorSummary{}, Techniques: []ComparedTechnique{}}
	err := s.store.View(ctx, func(tx core.Tx) error {
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		byTech := map[string]*ComparedTechnique{}
		for _, ref := range refs {
			a, err := actorByRef(ctx, tx, ref)
			if err != nil {
				return err
			}
			w, err := actorWeights(ctx, tx, a)
			if err != nil {
				return err
			}
			ac := m.actor(a, w)
			out.Actors = append(out.Actors, ActorSummary{a.ID, a.ExternalID, a.Name, ac.Techniques, ac.Score, ac.StatusCounts})
			for _, l := range a.Techniques {
				ct := byTech[l.TechniqueID]
				if ct == nil {
					ct = &ComparedTechnique{TechniqueID: l.TechniqueID, Status: core.StatusNotTested}
					if n := m.byExt[l.TechniqueID]; n != nil {
						ct.Name, ct.Status, ct.Score = n.te.Name, n.status, n.score
					}
					byTech[l.TechniqueID] = ct
				}
				ct.UsedBy = append(ct.UsedBy, a.ExternalID)
			}
		}
		for _, ct := range byTech {
			out.Techniques = append(out.Techniques, *ct)
		}
		sort.Slice(out.Techniques, func(i, j int) bool {
			a, b := out.Techniques[i], out.Techniques[j]
			if len(a.UsedBy) != len(b.UsedBy) {
				return len(a.UsedBy) > len(b.UsedBy)
			}
			return a.TechniqueID < b.TechniqueID
		})
		return nil
	})
	return out, err
}

// NextTest is one suggestion of what to test next, with templates that could do it.
type NextTest struct {
	scoring.Ranked
	Name      string              `json:"name"`
	Status    core.CoverageStatus `json:"status"`
	Score     *float64            `json:"score"`
	Suggested []SuggestedTemplate `json:"suggested_templates"`
}

// SuggestedTemplate is a template that tests a suggested technique.
type SuggestedTemplate struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Source    string   `json:"source"`
	Platforms []string `json:"platforms"`
}

// Next ranks an actor's techniques by what testing them would gain: gap × how many
// actors use the technique × templates available (scoring.Priority), techniques
// already in progress last. Fully covered techniques (score 100) are left out.
func (s *Service) Next(ctx context.Context, ref string, limit int) ([]NextTest, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	out := []NextTest{}
	err := s.store.View(ctx, func(tx core.Tx) error {
		a, err := actorByRef(ctx, tx, ref)
		if err != nil {
			return err
		}
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		uses, err := tx.ActorUses(ctx)
		if err != nil {
			return err
		}
		actorsOf := map[string]int{}
		for _, u := range uses {
			if n := m.nodes[u.TechniqueID]; n != nil {
				actorsOf[n.te.ExternalID]++
			}
		}
		var ranked []NextTest
		for _, l := range a.Techniques {
			n := m.byExt[l.TechniqueID]
			if n == nil || (n.score != nil && *n.score >= 100) {
				continue
			}
			r := scoring.Priority(n.score, actorsOf[l.TechniqueID], n.te.Templates)
			r.Key = l.TechniqueID
			ranked = append(ranked, NextTest{Ranked: r, Name: n.te.Name, Status: n.status, Score: n.score})
		}
		// A technique with a test under way and none validated is already being
		// tested: it comes after every technique nobody has started, or a campaign
		// built from the actor fills the whole list with its own drafts.
		var open, started []scoring.Ranked
		byKey := map[string]NextTest{}
		for _, r := range ranked {
			byKey[r.Key] = r
			if r.Status == core.StatusInProgress {
				started = append(started, r.Ranked)
			} else {
				open = append(open, r.Ranked)
			}
		}
		scoring.SortRanked(open)
		scoring.SortRanked(started)
		rs := append(open, started...)
		for i, r := range rs {
			if i == limit {
				break
			}
			nt := byKey[r.Key]
			tpls, _, err := tx.ListTestTemplates(ctx, core.TemplateFilter{TechniqueID: r.Key, Status: "active", Page: core.Page{Limit: 3}})
			if err != nil {
				return err
			}
			nt.Suggested = []SuggestedTemplate{}
			for _, tp := range tpls {
				nt.Suggested = append(nt.Suggested, SuggestedTemplate{tp.ID, tp.Name, tp.Source, tp.Platforms})
			}
			out = append(out, nt)
		}
		return nil
	})
	return out, err
}
