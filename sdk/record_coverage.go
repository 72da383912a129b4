package sdk

import (
	"fmt"
	"math"
	"time"
)

// Coverage statuses of a technique, worst to best (the host's words).
const (
	CoverageNotTested  = "not_tested"  // no test at all
	CoverageInProgress = "in_progress" // tests, none validated yet
	CoverageNotCovered = "not_covered" // newest validation: nothing prevented, alerted or logged
	CoveragePartial    = "partial"     // newest validation: logged only
	CoverageCovered    = "covered"     // newest validation: prevented or alerted
)

var coverageStatuses = []string{CoverageNotTested, CoverageInProgress, CoverageNotCovered, CoveragePartial, CoverageCovered}

// Directions of a technique's change between two snapshots (a diff scope).
const (
	ChangeImproved  = "improved"
	ChangeRegressed = "regressed"
	ChangeNew       = "new"     // in the later snapshot only
	ChangeRemoved   = "removed" // in the earlier snapshot only
	ChangeUnchanged = "unchanged"
)

// TestCounts counts a technique's tests by where they stand and, among validated
// ones, by outcome (a test may count under several outcomes).
type TestCounts struct {
	Tests      int `json:"tests"`
	InProgress int `json:"in_progress"`
	Validated  int `json:"validated"`
	Rejected   int `json:"rejected"`
	Prevented  int `json:"prevented"`
	Alerted    int `json:"alerted"`
	Logged     int `json:"logged"`
	None       int `json:"none"`
}

// CoverageChange is how a technique moved between the two snapshots of a diff.
type CoverageChange struct {
	// Direction is improved, regressed, new, removed or unchanged.
	Direction    string   `json:"direction"`
	BeforeStatus string   `json:"before_status,omitempty"`
	BeforeScore  *float64 `json:"before_score"`
	// BeforeTests and BeforeValidated are the earlier snapshot's test counts.
	BeforeTests     int `json:"before_tests"`
	BeforeValidated int `json:"before_validated"`
	// TestsChanged counts the tests whose state or outcome changed.
	TestsChanged int `json:"tests_changed,omitempty"`
}

// TechniqueCoverage is one technique's coverage in a coverage scope (organisation,
// tactic, actor, campaign, snapshot, diff): what the host's coverage API says of it.
type TechniqueCoverage struct {
	// TechniqueID is the ATT&CK id (T1059 or T1059.001).
	TechniqueID string `json:"technique_id"`
	Name        string `json:"name"`
	// Parent is the parent technique of a sub-technique.
	Parent string `json:"parent,omitempty"`
	// Tactics are the shortnames of the technique's tactics, in matrix order.
	Tactics []string `json:"tactics,omitempty"`
	// Platforms as the ATT&CK release spells them.
	Platforms []string `json:"platforms,omitempty"`
	// Status is one of not_tested, in_progress, not_covered, partial, covered.
	Status string `json:"status"`
	// Score is 0–100, the roll-up for a parent; nil when nothing scored it.
	Score *float64 `json:"score"`
	// TacticScores, when set, scores the technique per tactic shortname where that
	// differs from Score. The host's scoring is per technique, so it leaves this empty.
	TacticScores map[string]float64 `json:"tactic_scores,omitempty"`
	Counts       TestCounts         `json:"counts"`
	// Templates counts active test templates that could test the technique.
	Templates int `json:"templates"`
	// LastValidated is the newest validation of a test of the technique (nil for a
	// snapshot, which does not keep it, and when nothing was validated).
	LastValidated *time.Time `json:"last_validated,omitempty"`
	// Weight is the technique's weight for the actor of an actor scope.
	Weight float64 `json:"weight,omitempty"`
	// URL is the technique's page in Aegis (empty without a base URL).
	URL string `json:"url,omitempty"`
	// Change is set in a diff scope.
	Change *CoverageChange `json:"change,omitempty"`
}

func (r *TechniqueCoverage) Kind() string { return KindTechniqueCoverage }
func (r *TechniqueCoverage) ID() string   { return r.TechniqueID }

func (r *TechniqueCoverage) Validate() error {
	c := newChecker(r)
	c.techniqueID("technique_id", r.TechniqueID)
	if r.Parent != "" {
		c.techniqueID("parent", r.Parent)
	}
	c.required("status", r.Status)
	c.oneOf("status", r.Status, coverageStatuses...)
	checkScore := func(field string, s *float64) {
		if s != nil && (math.IsNaN(*s) || *s < 0 || *s > 100) {
			c.add(field, "%v is outside 0..100", *s)
		}
	}
	checkScore("score", r.Score)
	for k, v := range r.TacticScores {
		if !shortnameRe.MatchString(k) {
			c.add("tactic_scores", "%q is not a tactic shortname", k)
		}
		checkScore(fmt.Sprintf("tactic_scores[%s]", k), &v)
	}
	for i, t := range r.Tactics {
		if !shortnameRe.MatchString(t) {
			c.add(fmt.Sprintf("tactics[%d]", i), "%q is not a tactic shortname", t)
		}
	}
	c.nonEmpty("platforms", r.Platforms)
	if r.Counts.Tests < 0 || r.Counts.Validated > r.Counts.Tests {
		c.add("counts", "validated %d of %d tests", r.Counts.Validated, r.Counts.Tests)
	}
	if ch := r.Change; ch != nil {
		c.required("change.direction", ch.Direction)
		c.oneOf("change.direction", ch.Direction, ChangeImproved, ChangeRegressed, ChangeNew, ChangeRemoved, ChangeUnchanged)
		c.oneOf("change.before_status", ch.BeforeStatus, coverageStatuses...)
		checkScore("change.before_score", ch.BeforeScore)
	}
	return c.result()
}
