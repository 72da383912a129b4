package coverage

import (
	"context"
	"sort"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// Stat is a measured value and how many samples it rests on; Value is nil when there
// is no sample (no data is not zero).
type Stat struct {
	Value   *float64 `json:"value"`
	Samples int      `json:"samples"`
	Unit    string   `json:"unit"`
}

func mean(sum float64, n int, unit string) Stat {
	s := Stat{Samples: n, Unit: unit}
	if n > 0 {
		v := sum / float64(n)
		s.Value = &v
	}
	return s
}

// Metrics are the operational measures of docs/SCORING.md ("Metrics").
type Metrics struct {
	GeneratedAt       time.Time              `json:"generated_at"`
	Domain            string                 `json:"domain"`
	WindowDays        int                    `json:"window_days"`
	MTTD              Stat                   `json:"mttd"`
	MTTR              Stat                   `json:"mttr"`
	DetectionEfficacy Stat                   `json:"detection_efficacy"`
	AlertFidelity     Stat                   `json:"alert_fidelity"`
	CoverageVelocity  Stat                   `json:"coverage_velocity"`
	NeverTested       int                    `json:"never_tested"`
	AvgValidationTime Stat                   `json:"avg_validation_time"`
	TestsByState      map[core.TestState]int `json:"tests_by_state"`
	Organisation      scoring.Aggregate      `json:"organisation"`
	StatusCounts      StatusCounts           `json:"status_counts"`
	ByTactic          []TacticScore          `json:"by_tactic"`
	FormulaVersion    int                    `json:"formula_version"`
	NewlyCovered      int                    `json:"newly_covered_in_window"`
}

// DefaultWindow is the period of coverage velocity.
const DefaultWindow = 28 * 24 * time.Hour

func hours(d time.Duration) float64 { return d.Hours() }

// computeMetrics measures the model's tests: byState counts every test, tests need only
// hold those a metric can use (core.CoverageRepo.MeasuredTests).
func computeMetrics(m *model, byState map[core.TestState]int, tests []core.MetricTest, tally core.DetectionTally, tactics []*core.Tactic, window time.Duration) Metrics {
	out := Metrics{GeneratedAt: m.now, Domain: m.domain, WindowDays: int(window.Hours() / 24), FormulaVersion: m.version,
		TestsByState: map[core.TestState]int{}}
	for _, st := range core.TestStates {
		out.TestsByState[st] = 0
	}
	for st, n := range byState {
		out.TestsByState[st] += n
	}
	var mttd, mttr, val float64
	var nd, nr, nv, effN, effHit int
	firstCovered := map[string]time.Time{}
	for i := range tests {
		t := &tests[i]
		if m.nodes[t.TechniqueID] == nil {
			continue // a test of a technique outside the domain or no longer live
		}
		validated := t.State == core.StateValidated && t.ValidatedAt != nil
		if validated && t.ExecutedAt != nil && t.Alerted != nil && *t.Alerted && t.AlertedAt != nil && !t.AlertedAt.Before(*t.ExecutedAt) {
			mttd += hours(t.AlertedAt.Sub(*t.ExecutedAt))
			nd++
		}
		if t.RemediationStatus == "completed" && t.ValidatedAt != nil && t.RemediationCompletedAt != nil && !t.RemediationCompletedAt.Before(*t.ValidatedAt) {
			mttr += hours(t.RemediationCompletedAt.Sub(*t.ValidatedAt))
			nr++
		}
		if validated && t.ExecutedAt != nil && !t.ValidatedAt.Before(*t.ExecutedAt) {
			val += hours(t.ValidatedAt.Sub(*t.ExecutedAt))
			nv++
		}
		if validated && !t.NotApplicable {
			effN++
			if (t.Prevented != nil && *t.Prevented) || (t.Alerted != nil && *t.Alerted) {
				effHit++
				if cur, ok := firstCovered[t.TechniqueID]; !ok || t.ValidatedAt.Before(cur) {
					firstCovered[t.TechniqueID] = *t.ValidatedAt
				}
			}
		}
	}
	out.MTTD, out.MTTR, out.AvgValidationTime = mean(mttd, nd, "hours"), mean(mttr, nr, "hours"), mean(val, nv, "hours")
	out.DetectionEfficacy = mean(float64(effHit)*100, effN, "percent")
	out.AlertFidelity = mean(float64(tally.Triggered)*100, tally.Results, "percent")
	since := m.now.Add(-window)
	for _, at := range firstCovered {
		if !at.Before(since) && !at.After(m.now) {
			out.NewlyCovered++
		}
	}
	weeks := window.Hours() / (24 * 7)
	v := float64(out.NewlyCovered) / weeks
	out.CoverageVelocity = Stat{Value: &v, Samples: len(firstCovered), Unit: "techniques per week"}
	for _, n := range m.all() {
		if n.counts.Tests == 0 {
			out.NeverTested++
		}
	}
	out.Organisation, out.StatusCounts, out.ByTactic = aggregate(m.top), countStatuses(m.top), tacticScores(m, tactics)
	return out
}

func (s *Service) metricsIn(ctx context.Context, tx core.Tx, domain string, window time.Duration) (*model, Metrics, error) {
	m, err := s.build(ctx, tx, domain, core.TestScope{})
	if err != nil {
		return nil, Metrics{}, err
	}
	byState, err := tx.TestStateCounts(ctx)
	if err != nil {
		return nil, Metrics{}, err
	}
	tests, err := tx.MeasuredTests(ctx)
	if err != nil {
		return nil, Metrics{}, err
	}
	tally, err := tx.DetectionTally(ctx)
	if err != nil {
		return nil, Metrics{}, err
	}
	tactics, err := tx.ListTactics(ctx, domain)
	if err != nil {
		return nil, Metrics{}, err
	}
	return m, computeMetrics(m, byState, tests, tally, tactics, window), nil
}

// Metrics measures a domain ("" for every imported domain) over a velocity window.
func (s *Service) Metrics(ctx context.Context, domain string, window time.Duration) (*Metrics, error) {
	if window <= 0 {
		window = DefaultWindow
	}
	var out Metrics
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		_, out, err = s.metricsIn(ctx, tx, domain, window)
		return err
	})
	return &out, err
}

// TrendPoint is one week of activity.
type TrendPoint struct {
	WeekStart          time.Time `json:"week_start"`
	Created            int       `json:"tests_created"`
	Validated          int       `json:"tests_validated"`
	CoveredValidations int       `json:"covered_validations"`
	Remediated         int       `json:"remediations_completed"`
	// OrgScore is the score of the newest snapshot taken in the week, if any.
	OrgScore   *float64 `json:"org_score"`
	SnapshotID string   `json:"snapshot_id,omitempty"`
}

// weekStart returns the Monday 00:00 UTC of t's week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-d, 0, 0, 0, 0, time.UTC)
}

// Trends counts activity per week over the last n weeks (this one included), with the
// organisation score of the snapshots taken in each week.
func (s *Service) Trends(ctx context.Context, n int) ([]TrendPoint, error) {
	if n <= 0 || n > 260 {
		n = 12
	}
	var out []TrendPoint
	err := s.store.View(ctx, func(tx core.Tx) error {
		tests, err := tx.MetricTests(ctx)
		if err != nil {
			return err
		}
		snaps, _, err := tx.ListSnapshots(ctx, core.Page{Limit: 500})
		if err != nil {
			return err
		}
		out = trends(s.now(), n, tests, snaps)
		return nil
	})
	return out, err
}

func trends(now time.Time, n int, tests []core.MetricTest, snaps []*core.Snapshot) []TrendPoint {
	first := weekStart(now).AddDate(0, 0, -7*(n-1))
	out := make([]TrendPoint, n)
	for i := range out {
		out[i].WeekStart = first.AddDate(0, 0, 7*i)
	}
	idx := func(t *time.Time) int {
		if t == nil || t.Before(first) {
			return -1
		}
		i := int(t.Sub(first).Hours() / (24 * 7))
		if i >= n {
			return -1
		}
		return i
	}
	for i := range tests {
		t := &tests[i]
		if k := idx(&t.CreatedAt); k >= 0 {
			out[k].Created++
		}
		if t.State == core.StateValidated {
			if k := idx(t.ValidatedAt); k >= 0 {
				out[k].Validated++
				if (t.Prevented != nil && *t.Prevented) || (t.Alerted != nil && *t.Alerted) {
					out[k].CoveredValidations++
				}
			}
		}
		if t.RemediationStatus == "completed" {
			if k := idx(t.RemediationCompletedAt); k >= 0 {
				out[k].Remediated++
			}
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].TakenAt.Before(snaps[j].TakenAt) })
	for _, sn := range snaps {
		if k := idx(&sn.TakenAt); k >= 0 {
			out[k].OrgScore, out[k].SnapshotID = sn.OrgScore, sn.ID
		}
	}
	return out
}
