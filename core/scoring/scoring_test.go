package scoring

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestWorkedExample is the example of docs/SCORING.md, with the arithmetic written out.
func TestWorkedExample(t *testing.T) {
	w := DefaultWeights()
	now := day("2026-06-30")
	vals := []Validation{
		{TestID: "a", Platform: "windows", Procedure: "tpl-1", ValidatedAt: day("2026-06-30"), Prevented: true, Alerted: true},
		{TestID: "b", Platform: "Windows", Procedure: "tpl-1", ValidatedAt: day("2026-01-01"), Logged: true}, // superseded by a
		{TestID: "c", Platform: "linux", Procedure: "tpl-2", ValidatedAt: day("2025-06-30"), Logged: true},
		{TestID: "d", Platform: "windows", Procedure: "tpl-3", ValidatedAt: day("2024-06-30"), Alerted: true},
	}
	got := w.Technique(now, Known{Platforms: []string{"Windows", "Linux"}, Procedures: 4}, vals)
	// cells: (windows,tpl-1) = (50+30)×1 = 80; (linux,tpl-2) = 20×0.5^(365/365) = 10;
	// (windows,tpl-3) = 30×max(0.5^(730/365), 0.25) = 7.5
	outcome := (80.0 + 10 + 7.5) / 3 // 32.5
	score := outcome * (70 + 15*1.0 + 15*(3.0/4)) / 100
	if got.Score == nil || !near(*got.Score, score) || !near(score, 31.28125) || !near(got.Outcome, outcome) ||
		got.Cells != 3 || got.PlatformBreadth != 1 || got.ProcedureBreadth != 0.75 {
		t.Fatalf("technique = %+v (score %v), want %v", got, deref(got.Score), score)
	}
	parent := RollUp(nil, []*float64{got.Score, f(100), nil})
	if parent == nil || !near(*parent, (31.28125+100)/2) {
		t.Fatalf("roll-up = %v, want 65.640625", deref(parent))
	}
	org := Combine([]Member{{Score: parent}, {Score: nil}, {Score: f(50)}})
	if org.Score == nil || !near(*org.Score, (65.640625+50)/3) || !near(*org.TestedScore, (65.640625+50)/2) ||
		org.Scored != 2 || org.Techniques != 3 {
		t.Fatalf("org = %+v", org)
	}
	// Weighted: an actor using the first technique twice as heavily.
	actor := Combine([]Member{{Weight: 2, Score: f(40)}, {Weight: 1, Score: nil}, {Weight: 1, Score: f(80)}})
	if !near(*actor.Score, (2*40.0+80)/4) || !near(*actor.TestedScore, (2*40.0+80)/3) {
		t.Fatalf("weighted actor = %v %v", *actor.Score, *actor.TestedScore)
	}
}

func f(v float64) *float64 { return &v }

func deref(p *float64) any {
	if p == nil {
		return "unscored"
	}
	return *p
}

func TestUntestedIsUnscored(t *testing.T) {
	w := DefaultWeights()
	if s := w.Technique(time.Now(), Known{Platforms: []string{"Linux"}}, nil); s.Score != nil {
		t.Fatalf("no validation scored %v", *s.Score)
	}
	// A validated test in which nothing was seen scores 0, which is not unscored.
	s := w.Technique(time.Now(), Known{}, []Validation{{TestID: "x", ValidatedAt: time.Now()}})
	if s.Score == nil || *s.Score != 0 {
		t.Fatalf("a blind validation = %v, want 0", deref(s.Score))
	}
	if RollUp(nil, []*float64{nil, nil}) != nil {
		t.Fatal("roll-up of unscored members is scored")
	}
	if a := Combine([]Member{{}, {}}); a.Score != nil || a.TestedScore != nil || a.Techniques != 2 {
		t.Fatalf("aggregate of unscored = %+v", a)
	}
}

// TestProperties checks bounds and monotonicity on random inputs.
func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	now := day("2026-06-30")
	platforms := []string{"windows", "linux", "macos"}
	for i := 0; i < 2000; i++ {
		w := randomWeights(rng)
		if err := w.Validate(); err != nil {
			t.Fatalf("random weights invalid: %v", err)
		}
		n := 1 + rng.Intn(6)
		vals := make([]Validation, n)
		for j := range vals {
			vals[j] = Validation{TestID: string(rune('a' + j)), Platform: platforms[rng.Intn(3)], Procedure: string(rune('p' + rng.Intn(3))),
				ValidatedAt: now.Add(-time.Duration(rng.Intn(2000)) * 24 * time.Hour),
				Prevented:   rng.Intn(2) == 0, Alerted: rng.Intn(2) == 0, Logged: rng.Intn(2) == 0}
		}
		known := Known{Platforms: platforms[:1+rng.Intn(3)], Procedures: rng.Intn(5)}
		s := w.Technique(now, known, vals)
		if s.Score == nil || *s.Score < 0 || *s.Score > 100 {
			t.Fatalf("score out of bounds: %v for %+v", deref(s.Score), vals)
		}
		// Better outcomes never lower the score: add a fact to one test.
		better := append([]Validation(nil), vals...)
		k := rng.Intn(n)
		switch rng.Intn(3) {
		case 0:
			better[k].Prevented = true
		case 1:
			better[k].Alerted = true
		default:
			better[k].Logged = true
		}
		if b := w.Technique(now, known, better); *b.Score < *s.Score-1e-9 {
			t.Fatalf("a better outcome lowered the score: %v → %v\n%+v\n%+v", *s.Score, *b.Score, vals, better)
		}
		// A fresher validation never lowers the score either.
		fresher := append([]Validation(nil), vals...)
		fresher[k].ValidatedAt = now
		if fr := w.Technique(now, known, fresher); fr.Score == nil {
			t.Fatal("fresher unscored")
		}
		a := Combine([]Member{{Score: s.Score}, {Score: nil}, {Weight: 3, Score: f(rng.Float64() * 100)}})
		if *a.Score < 0 || *a.Score > 100 || *a.TestedScore < *a.Score-1e-9 {
			t.Fatalf("aggregate out of bounds: %+v", a)
		}
	}
}

func randomWeights(rng *rand.Rand) Weights {
	split := func(n int) []float64 {
		cuts := make([]float64, n)
		total := 0.0
		for i := range cuts {
			cuts[i] = float64(rng.Intn(10))
			total += cuts[i]
		}
		if total == 0 {
			cuts[0], total = 1, 1
		}
		out := make([]float64, n)
		sum := 0.0
		for i := range cuts[:n-1] {
			out[i] = math.Floor(cuts[i] / total * 100)
			sum += out[i]
		}
		out[n-1] = 100 - sum
		return out
	}
	o, c := split(3), split(3)
	// None stays 0: a positive None would make "nothing seen" worth more than "logged"
	// under some draws, and monotonicity is claimed for the documented weights only
	// when None ≤ every fact's weight.
	w := Weights{Prevented: o[0], Alerted: o[1], Logged: o[2], Outcome: c[0], PlatformBreadth: c[1], ProcedureBreadth: c[2],
		HalfLifeDays: float64(1 + rng.Intn(700)), MinRecencyPercent: float64(rng.Intn(101))}
	return w
}

func TestValidate(t *testing.T) {
	if err := DefaultWeights().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mut   func(*Weights)
		field string
	}{
		"negative":        {func(w *Weights) { w.Logged = -5; w.Prevented = 75 }, "logged"},
		"outcome sum":     {func(w *Weights) { w.Prevented = 60 }, "prevented"},
		"composition sum": {func(w *Weights) { w.Outcome = 80 }, "outcome"},
		"half-life":       {func(w *Weights) { w.HalfLifeDays = 0 }, "half_life_days"},
		"floor":           {func(w *Weights) { w.MinRecencyPercent = 120 }, "min_recency_percent"},
		"nan":             {func(w *Weights) { w.None = math.NaN() }, "none"},
	} {
		w := DefaultWeights()
		c.mut(&w)
		err := w.Validate()
		ve, ok := err.(*ValidationError)
		if !ok || ve.Field != c.field {
			t.Errorf("%s: %v, want an error on %s", name, err, c.field)
		}
	}
}

func TestPriority(t *testing.T) {
	rs := []Ranked{Priority(nil, 3, 2), Priority(f(90), 10, 0), Priority(f(20), 1, 40)}
	rs[0].Key, rs[1].Key, rs[2].Key = "untested", "covered", "weak"
	// untested: 100×3×3/100 = 9; covered: 10×10×1/100 = 1; weak: 80×1×11/100 = 8.8
	SortRanked(rs)
	if rs[0].Key != "untested" || !near(rs[0].Priority, 9) || rs[1].Key != "weak" || !near(rs[1].Priority, 8.8) || rs[2].Key != "covered" {
		t.Fatalf("ranking = %+v", rs)
	}
}
