// Package scoring is the coverage formula of Aegis: a 0–100 score per technique from its
// validated tests, rolled up to parents, tactics, threat actors and the organisation.
// docs/SCORING.md states the formula with a worked example; the tests in this package
// compute that example by hand. The package is pure arithmetic: callers hand it the
// facts, it never reads a database.
package scoring

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// FormulaVersion is stored with every snapshot and every weights row, so a score is
// always read with the formula that produced it. Bump it when the arithmetic changes.
const FormulaVersion = 1

// Weights are the tunable parts of the formula. Outcome weights and composition
// weights each sum to 100; both groups are non-negative.
type Weights struct {
	// Outcome weights: what each fact recorded on a validated test is worth.
	Prevented float64 `json:"prevented" api:"required"`
	Alerted   float64 `json:"alerted" api:"required"`
	Logged    float64 `json:"logged" api:"required"`
	// None is what a validated test with no prevention, alert or log is worth
	// (normally 0: the attack went unseen).
	None float64 `json:"none" api:"required"`
	// Composition: how much of a technique's score its outcomes carry, and how much
	// depends on the breadth of testing over platforms and procedures.
	Outcome           float64 `json:"outcome" api:"required"`
	PlatformBreadth   float64 `json:"platform_breadth" api:"required"`
	ProcedureBreadth  float64 `json:"procedure_breadth" api:"required"`
	HalfLifeDays      float64 `json:"half_life_days" api:"required"`
	MinRecencyPercent float64 `json:"min_recency_percent" api:"required"`
}

// DefaultWeights are the weights of a new installation.
func DefaultWeights() Weights {
	return Weights{Prevented: 50, Alerted: 30, Logged: 20, None: 0,
		Outcome: 70, PlatformBreadth: 15, ProcedureBreadth: 15,
		HalfLifeDays: 365, MinRecencyPercent: 25}
}

// ValidationError names the weight that is wrong.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Validate checks the rules of DESIGN.md §2: non-negative, each group summing to 100,
// a positive half-life and a recency floor between 0 and 100.
func (w Weights) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"prevented", w.Prevented}, {"alerted", w.Alerted}, {"logged", w.Logged}, {"none", w.None},
		{"outcome", w.Outcome}, {"platform_breadth", w.PlatformBreadth}, {"procedure_breadth", w.ProcedureBreadth},
		{"half_life_days", w.HalfLifeDays}, {"min_recency_percent", w.MinRecencyPercent}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return &ValidationError{f.name, fmt.Sprintf("must be a non-negative number, not %v", f.v)}
		}
	}
	const eps = 1e-9
	if s := w.Prevented + w.Alerted + w.Logged + w.None; math.Abs(s-100) > eps {
		return &ValidationError{"prevented", fmt.Sprintf("the outcome weights (prevented, alerted, logged, none) must sum to 100, not %g", s)}
	}
	if s := w.Outcome + w.PlatformBreadth + w.ProcedureBreadth; math.Abs(s-100) > eps {
		return &ValidationError{"outcome", fmt.Sprintf("the composition weights (outcome, platform_breadth, procedure_breadth) must sum to 100, not %g", s)}
	}
	if w.HalfLifeDays <= 0 {
		return &ValidationError{"half_life_days", "must be more than 0"}
	}
	if w.MinRecencyPercent > 100 {
		return &ValidationError{"min_recency_percent", fmt.Sprintf("must be at most 100, not %g", w.MinRecencyPercent)}
	}
	return nil
}

// Validation is one validated test as the formula sees it.
type Validation struct {
	TestID      string
	Platform    string // as recorded on the test; compared without letter case
	Procedure   string // the template id, or the test's own procedure text when it has no template
	ValidatedAt time.Time
	Prevented   bool
	Alerted     bool
	Logged      bool
}

// Known is what could be tested for a technique: its ATT&CK platforms and how many
// procedures (test templates) exist for it.
type Known struct {
	Platforms  []string
	Procedures int
}

// TechniqueScore is a technique's own score and the parts it is made of. Score is nil
// when the technique has no validated test: unscored, which is not 0.
type TechniqueScore struct {
	Score            *float64 `json:"score"`
	Outcome          float64  `json:"outcome"`
	PlatformBreadth  float64  `json:"platform_breadth"`
	ProcedureBreadth float64  `json:"procedure_breadth"`
	Cells            int      `json:"cells"`
}

// OutcomeValue is what one validated test is worth before recency: the sum of the
// weights of the facts it recorded, or None when it recorded none.
func (w Weights) OutcomeValue(v Validation) float64 {
	s := 0.0
	if v.Prevented {
		s += w.Prevented
	}
	if v.Alerted {
		s += w.Alerted
	}
	if v.Logged {
		s += w.Logged
	}
	if !v.Prevented && !v.Alerted && !v.Logged {
		return w.None
	}
	return s
}

// Recency is the factor by which a validation of the given age counts: it halves every
// HalfLifeDays and never drops below MinRecencyPercent.
func (w Weights) Recency(age time.Duration) float64 {
	days := age.Hours() / 24
	if days < 0 {
		days = 0
	}
	f := math.Pow(0.5, days/w.HalfLifeDays)
	return math.Max(f, w.MinRecencyPercent/100)
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Technique scores one technique at time now from its validated tests. Tests are
// grouped into cells of (platform, procedure); the newest validation of a cell stands
// for it (a retest supersedes what it repeats). The outcome part is the mean over cells
// of value × recency; the breadth parts are the shares of known platforms and
// procedures that were tested. Score = outcome × (Outcome + PlatformBreadth×platform
// share + ProcedureBreadth×procedure share) / 100.
func (w Weights) Technique(now time.Time, known Known, vals []Validation) TechniqueScore {
	return w.Score(now, Prepare(known, vals))
}

// Prepared is the part of a technique's score that depends on neither the time nor the
// weights: the validation that stands for each cell and the breadth shares. The
// coverage service keeps it with the validations it was made from, so a request
// computes only the recency and the weighted sum.
type Prepared struct {
	cells            []Validation // the newest of each (platform, procedure), ordered by cell
	platformBreadth  float64
	procedureBreadth float64
}

// Prepare groups a technique's validations into cells (see Technique).
func Prepare(known Known, vals []Validation) Prepared {
	if len(vals) == 0 {
		return Prepared{}
	}
	type cellKey struct{ platform, procedure string }
	latest := map[cellKey]Validation{}
	for _, v := range vals {
		k := cellKey{norm(v.Platform), v.Procedure}
		if cur, ok := latest[k]; !ok || v.ValidatedAt.After(cur.ValidatedAt) ||
			(v.ValidatedAt.Equal(cur.ValidatedAt) && v.TestID > cur.TestID) {
			latest[k] = v
		}
	}
	keys := make([]cellKey, 0, len(latest))
	platforms, procedures := map[string]bool{}, map[string]bool{}
	for k := range latest {
		keys = append(keys, k)
		platforms[k.platform] = true
		procedures[k.procedure] = true
	}
	// A fixed order makes the sum of the cells the same float at every request.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].platform != keys[j].platform {
			return keys[i].platform < keys[j].platform
		}
		return keys[i].procedure < keys[j].procedure
	})
	p := Prepared{cells: make([]Validation, len(keys)), platformBreadth: 1, procedureBreadth: 1}
	for i, k := range keys {
		p.cells[i] = latest[k]
	}
	if len(known.Platforms) > 0 {
		hit := 0
		for _, pl := range known.Platforms {
			if platforms[norm(pl)] {
				hit++
			}
		}
		p.platformBreadth = float64(hit) / float64(len(known.Platforms))
	}
	if known.Procedures > 0 {
		p.procedureBreadth = math.Min(1, float64(len(procedures))/float64(known.Procedures))
	}
	return p
}

// Score is Technique over prepared cells.
func (w Weights) Score(now time.Time, p Prepared) TechniqueScore {
	if len(p.cells) == 0 {
		return TechniqueScore{}
	}
	sum := 0.0
	for _, v := range p.cells {
		sum += w.OutcomeValue(v) * w.Recency(now.Sub(v.ValidatedAt))
	}
	out := TechniqueScore{Cells: len(p.cells), Outcome: sum / float64(len(p.cells)),
		PlatformBreadth: p.platformBreadth, ProcedureBreadth: p.procedureBreadth}
	s := out.Outcome * (w.Outcome + w.PlatformBreadth*out.PlatformBreadth + w.ProcedureBreadth*out.ProcedureBreadth) / 100
	s = clamp(s)
	out.Score = &s
	return out
}

func clamp(s float64) float64 {
	// Rounding to 1e-9 keeps sums that are 100 on paper from printing as 100.00000000001.
	s = math.Round(s*1e9) / 1e9
	return math.Max(0, math.Min(100, s))
}

// RollUp is a parent technique's score: the mean of the scores among its own and its
// sub-techniques' that exist. Unscored members are left out; nil when all are unscored.
func RollUp(own *float64, subs []*float64) *float64 {
	n, sum := 0, 0.0
	for _, s := range append([]*float64{own}, subs...) {
		if s != nil {
			n++
			sum += *s
		}
	}
	if n == 0 {
		return nil
	}
	r := clamp(sum / float64(n))
	return &r
}

// Member is one technique in an aggregate (a tactic, an actor, the organisation), with
// its weight there (1 unless the aggregate says otherwise) and its score (nil: unscored).
type Member struct {
	Weight float64
	Score  *float64
}

// Aggregate is the score of a set of techniques.
type Aggregate struct {
	// Score is Σ weight×score over scored members ÷ Σ weight over all members: the
	// share of the set whose coverage is shown by tests. Nil when no member is scored.
	Score *float64 `json:"score"`
	// TestedScore is the weighted mean over scored members only: how good the tested
	// part is. Nil when no member is scored.
	TestedScore *float64 `json:"tested_score"`
	Techniques  int      `json:"techniques"`
	Scored      int      `json:"scored"`
}

// Combine aggregates members. Members with a non-positive weight count as weight 1.
func Combine(members []Member) Aggregate {
	a := Aggregate{Techniques: len(members)}
	var all, scoredW, sum float64
	for _, m := range members {
		w := m.Weight
		if w <= 0 {
			w = 1
		}
		all += w
		if m.Score != nil {
			a.Scored++
			scoredW += w
			sum += w * *m.Score
		}
	}
	if a.Scored == 0 {
		return a
	}
	s, t := clamp(sum/all), clamp(sum/scoredW)
	a.Score, a.TestedScore = &s, &t
	return a
}

// Ranked is one candidate of "what to test next".
type Ranked struct {
	Key       string  `json:"technique_id"`
	Gap       float64 `json:"gap"`
	Actors    int     `json:"actors"`
	Templates int     `json:"templates"`
	Priority  float64 `json:"priority"`
}

// Priority ranks a technique for testing: its gap (100 − score, 100 when unscored) ×
// how many actors use it × (1 + how many templates could test it, capped at 10), so a
// widely used, untested technique that can be tested today comes first.
func Priority(score *float64, actors, templates int) Ranked {
	gap := 100.0
	if score != nil {
		gap = 100 - *score
	}
	if actors < 1 {
		actors = 1
	}
	t := templates
	if t > 10 {
		t = 10
	}
	return Ranked{Gap: gap, Actors: actors, Templates: templates, Priority: gap * float64(actors) * float64(1+t) / 100}
}

// SortRanked orders candidates by priority, then gap, then key.
func SortRanked(rs []Ranked) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Priority != rs[j].Priority {
			return rs[i].Priority > rs[j].Priority
		}
		if rs[i].Gap != rs[j].Gap {
			return rs[i].Gap > rs[j].Gap
		}
		return rs[i].Key < rs[j].Key
	})
}
