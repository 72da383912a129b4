package coverage

import (
	"context"
	"sort"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// Dashboard is the payload of the SPA's dashboard.
type Dashboard struct {
	Metrics
	// Next is what to test next across every actor (the same ranking as an actor's,
	// over the techniques any live actor uses).
	Next      []scoring.Ranked `json:"next"`
	Snapshots []*core.Snapshot `json:"recent_snapshots"`
	Trend     []TrendPoint     `json:"trend"`
}

// Dashboard gathers the dashboard in one read.
func (s *Service) Dashboard(ctx context.Context, domain string) (*Dashboard, error) {
	var out Dashboard
	err := s.store.View(ctx, func(tx core.Tx) error {
		m, met, err := s.metricsIn(ctx, tx, domain, DefaultWindow)
		if err != nil {
			return err
		}
		out.Metrics = met
		uses, err := tx.ActorUses(ctx)
		if err != nil {
			return err
		}
		actorsOf := map[*node]int{}
		for _, u := range uses {
			if n := m.nodes[u.TechniqueID]; n != nil {
				actorsOf[n]++
			}
		}
		out.Next = []scoring.Ranked{}
		for n, a := range actorsOf {
			if n.score != nil && *n.score >= 100 {
				continue
			}
			r := scoring.Priority(n.score, a, n.te.Templates)
			r.Key = n.te.ExternalID
			out.Next = append(out.Next, r)
		}
		scoring.SortRanked(out.Next)
		if len(out.Next) > 10 {
			out.Next = out.Next[:10]
		}
		if out.Snapshots, _, err = tx.ListSnapshots(ctx, core.Page{Limit: 5}); err != nil {
			return err
		}
		tests, err := tx.MetricTests(ctx)
		if err != nil {
			return err
		}
		snaps, _, err := tx.ListSnapshots(ctx, core.Page{Limit: 500})
		if err != nil {
			return err
		}
		out.Trend = trends(m.now, 12, tests, snaps)
		return nil
	})
	return &out, err
}

// Executive is the one-page summary for executives.
type Executive struct {
	GeneratedAt time.Time         `json:"generated_at"`
	Domain      string            `json:"domain"`
	Score       scoring.Aggregate `json:"score"`
	// Previous is the newest snapshot's organisation score and Change the difference
	// to now (nil without a snapshot or a score).
	Previous          *float64      `json:"previous_score"`
	PreviousTakenAt   *time.Time    `json:"previous_taken_at,omitempty"`
	Change            *float64      `json:"change"`
	CoveredPercent    *float64      `json:"covered_percent"`
	MTTD              Stat          `json:"mttd"`
	MTTR              Stat          `json:"mttr"`
	DetectionEfficacy Stat          `json:"detection_efficacy"`
	CoverageVelocity  Stat          `json:"coverage_velocity"`
	NeverTested       int           `json:"never_tested"`
	Strongest         []TacticScore `json:"strongest_tactics"`
	Weakest           []TacticScore `json:"weakest_tactics"`
	Actors            []ActorLine   `json:"top_actors"`
	Trend             []TrendPoint  `json:"trend"`
}

// ActorLine is an actor's score in the executive summary.
type ActorLine struct {
	ExternalID string            `json:"external_id"`
	Name       string            `json:"name"`
	Techniques int               `json:"techniques"`
	Score      scoring.Aggregate `json:"score"`
}

// Executive summarises coverage for executives: the score and its change since the
// last snapshot, the key metrics, the strongest and weakest tactics, and the score
// against the five actors with the most techniques.
func (s *Service) Executive(ctx context.Context, domain string) (*Executive, error) {
	var out Executive
	err := s.store.View(ctx, func(tx core.Tx) error {
		m, met, err := s.metricsIn(ctx, tx, domain, DefaultWindow)
		if err != nil {
			return err
		}
		out = Executive{GeneratedAt: met.GeneratedAt, Domain: domain, Score: met.Organisation, MTTD: met.MTTD, MTTR: met.MTTR,
			DetectionEfficacy: met.DetectionEfficacy, CoverageVelocity: met.CoverageVelocity, NeverTested: met.NeverTested}
		if total := len(m.top); total > 0 {
			p := float64(met.StatusCounts[core.StatusCovered]) * 100 / float64(total)
			out.CoveredPercent = &p
		}
		snaps, _, err := tx.ListSnapshots(ctx, core.Page{Limit: 500})
		if err != nil {
			return err
		}
		if len(snaps) > 0 {
			out.Previous, out.PreviousTakenAt = snaps[0].OrgScore, &snaps[0].TakenAt
			if out.Previous != nil && out.Score.Score != nil {
				d := *out.Score.Score - *out.Previous
				out.Change = &d
			}
		}
		scored := []TacticScore{}
		for _, t := range met.ByTactic {
			if t.Score.Score != nil {
				scored = append(scored, t)
			}
		}
		sort.SliceStable(scored, func(i, j int) bool { return *scored[i].Score.Score > *scored[j].Score.Score })
		out.Strongest = scored[:min(3, len(scored))]
		weak := append([]TacticScore(nil), met.ByTactic...)
		sort.SliceStable(weak, func(i, j int) bool {
			a, b := weak[i].Score.Score, weak[j].Score.Score
			switch {
			case a == nil:
				return b != nil
			case b == nil:
				return false
			}
			return *a < *b
		})
		out.Weakest = weak[:min(3, len(weak))]
		uses, err := tx.ActorUses(ctx)
		if err != nil {
			return err
		}
		out.Actors = actorLines(m, uses)
		out.Actors = out.Actors[:min(5, len(out.Actors))]
		tests, err := tx.MetricTests(ctx)
		if err != nil {
			return err
		}
		out.Trend = trends(m.now, 12, tests, snaps)
		return nil
	})
	return &out, err
}

// actorLines scores every actor that uses a technique over the model, the actors with
// the most techniques first.
func actorLines(m *model, uses []core.ActorUse) []ActorLine {
	type acc struct {
		line    ActorLine
		members []scoring.Member
	}
	byActor := map[string]*acc{}
	var order []string
	for _, u := range uses {
		a := byActor[u.ActorID]
		if a == nil {
			a = &acc{line: ActorLine{ExternalID: u.ExternalID, Name: u.Name}}
			byActor[u.ActorID] = a
			order = append(order, u.ActorID)
		}
		a.line.Techniques++
		var sc *float64
		if n := m.nodes[u.TechniqueID]; n != nil {
			sc = n.score
		}
		a.members = append(a.members, scoring.Member{Score: sc})
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := byActor[order[i]].line, byActor[order[j]].line
		if a.Techniques != b.Techniques {
			return a.Techniques > b.Techniques
		}
		return a.ExternalID < b.ExternalID
	})
	out := make([]ActorLine, 0, len(order))
	for _, id := range order {
		a := byActor[id]
		a.line.Score = scoring.Combine(a.members)
		out = append(out, a.line)
	}
	return out
}
