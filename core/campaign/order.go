// Package campaign plans and runs test campaigns: a set of tests run together in an
// order, where a test may wait for others; a lifecycle from planned to completed or
// cancelled; recurrence that clones a campaign weekly, monthly or quarterly; and
// campaigns built from a threat actor or an imported campaign profile.
package campaign

import (
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// FindCycle returns a dependency cycle as the path that forms it (first node repeated
// at the end: a → b → a), or nil. deps maps each test to the tests it waits for;
// order fixes the search order so the answer is deterministic.
func FindCycle(order []string, deps map[string][]string) []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var found []string
	var visit func(n string) bool
	visit = func(n string) bool {
		state[n] = open
		stack = append(stack, n)
		for _, d := range deps[n] {
			switch state[d] {
			case open:
				for i, x := range stack {
					if x == d {
						found = append(append([]string{}, stack[i:]...), d)
						return true
					}
				}
			case unseen:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return false
	}
	for _, n := range order {
		if state[n] == unseen && visit(n) {
			return found
		}
	}
	return nil
}

// CheckOrder validates a campaign's tests: each listed once, dependencies only on
// tests of the campaign, none on itself, and no cycle. name labels a test in messages.
func CheckOrder(tests []TestInput, name func(id string) string) error {
	in := map[string]bool{}
	order := make([]string, 0, len(tests))
	deps := map[string][]string{}
	for i, t := range tests {
		if !core.ValidID(t.TestID) {
			return core.FieldError("tests", "item %d: %q is not a test id", i+1, t.TestID)
		}
		if in[t.TestID] {
			return core.FieldError("tests", "test %s is listed twice", name(t.TestID))
		}
		in[t.TestID] = true
		order = append(order, t.TestID)
	}
	for _, t := range tests {
		for _, d := range t.DependsOn {
			switch {
			case d == t.TestID:
				return core.FieldError("tests", "dependency cycle: %s → %s (a test cannot wait for itself)", name(d), name(d))
			case !in[d]:
				return core.FieldError("tests", "test %s depends on %s, which is not in the campaign", name(t.TestID), d)
			}
			deps[t.TestID] = append(deps[t.TestID], d)
		}
	}
	if cyc := FindCycle(order, deps); cyc != nil {
		names := make([]string, len(cyc))
		for i, id := range cyc {
			names[i] = name(id)
		}
		return &core.Error{Code: core.EINVALID, Field: "tests", Message: "dependency cycle: " + strings.Join(names, " → "),
			Detail: map[string]any{"cycle": cyc}}
	}
	return nil
}

// NextRun is the run after from for a recurrence. Months keep the anchor day (the
// campaign's first day of the month), clamped to the month's length: a campaign of the
// 31st runs on 28 or 29 February and on 31 March again.
func NextRun(from time.Time, r core.Recurrence, anchorDay int) time.Time {
	switch r {
	case core.RecurWeekly:
		return from.AddDate(0, 0, 7)
	case core.RecurMonthly:
		return addMonths(from, 1, anchorDay)
	case core.RecurQuarterly:
		return addMonths(from, 3, anchorDay)
	}
	return from
}

func addMonths(t time.Time, n, anchorDay int) time.Time {
	if anchorDay < 1 {
		anchorDay = t.Day()
	}
	y, m := t.Year(), t.Month()+time.Month(n)
	first := time.Date(y, m, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(anchorDay, last)-1)
}

// Progress counts a campaign's tests by where they stand.
type Progress struct {
	Total      int `json:"total"`
	Done       int `json:"done"`        // validated
	Rejected   int `json:"rejected"`    // rejected, waiting for a reopen
	InProgress int `json:"in_progress"` // started, not yet validated
	Ready      int `json:"ready"`       // drafts whose dependencies are all done
	Waiting    int `json:"waiting"`     // drafts that wait for a dependency
	// Percent is Done ÷ Total × 100 (0 for an empty campaign).
	Percent float64 `json:"percent"`
}

// ProgressOf counts tests; a test is done when validated, and a draft is ready when
// every test it depends on is a validated test of the same list.
func ProgressOf(tests []*core.CampaignTest) Progress {
	state := map[string]core.TestState{}
	for _, t := range tests {
		state[t.TestID] = t.State
	}
	counts := make([]core.CampaignStateCount, 0, len(tests))
	for _, t := range tests {
		waiting := false
		if t.State == core.StateDraft {
			for _, d := range t.DependsOn {
				waiting = waiting || state[d] != core.StateValidated
			}
		}
		counts = append(counts, core.CampaignStateCount{State: t.State, Waiting: waiting, N: 1})
	}
	return ProgressOfCounts(counts)
}

// ProgressOfKept is the Progress of counts kept on write
// (core.CampaignPageRepo.CampaignsProgress), what ProgressOf counts from the tests.
func ProgressOfKept(k core.CampaignProgress) Progress {
	p := Progress{Total: k.Total, Done: k.Done, Rejected: k.Rejected, InProgress: k.InProgress, Ready: k.Ready, Waiting: k.Waiting}
	if p.Total > 0 {
		p.Percent = float64(p.Done) * 100 / float64(p.Total)
	}
	return p
}

// ProgressOfCounts is ProgressOf over tests already counted by state.
func ProgressOfCounts(counts []core.CampaignStateCount) Progress {
	var p Progress
	for _, c := range counts {
		p.Total += c.N
		switch c.State {
		case core.StateValidated:
			p.Done += c.N
		case core.StateRejected:
			p.Rejected += c.N
		case core.StateDraft:
			if c.Waiting {
				p.Waiting += c.N
			} else {
				p.Ready += c.N
			}
		default:
			p.InProgress += c.N
		}
	}
	if p.Total > 0 {
		p.Percent = float64(p.Done) * 100 / float64(p.Total)
	}
	return p
}
