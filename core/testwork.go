package core

import (
	"context"
	"time"
)

// VoteDecision is what a lead says about a test in review.
type VoteDecision string

const (
	VoteApprove VoteDecision = "approve"
	VoteReject  VoteDecision = "reject"
)

// VoteDecisions are the decisions a lead may vote.
var VoteDecisions = []VoteDecision{VoteApprove, VoteReject}

// Vote is one lead's verdict on one review round of a test. The store keeps at most
// one vote per (test, round, lead role): that unique key, not a read-then-write check,
// is what keeps two simultaneous votes for the same role from both counting.
type Vote struct {
	ID          string       `db:"id" json:"id"`
	TestID      string       `db:"test_id" json:"test_id"`
	ReviewRound int          `db:"review_round" json:"review_round"`
	LeadRole    Role         `db:"lead_role" json:"lead_role"`
	UserID      string       `db:"user_id" json:"user_id"`
	Decision    VoteDecision `db:"decision" json:"decision"`
	Reason      string       `db:"reason" json:"reason"`
	CreatedAt   time.Time    `db:"created_at" json:"created_at"`
}

// Remediation statuses of a validated test. "none" means nobody opened one.
const (
	RemediationNone       = "none"
	RemediationOpen       = "open"
	RemediationInProgress = "in_progress"
	RemediationCompleted  = "completed"
	RemediationWontFix    = "wont_fix"
)

// RemediationStatuses are the statuses a remediation may be set to (completing one
// is an action of its own, with the retest it asks for).
var RemediationStatuses = []string{RemediationOpen, RemediationInProgress, RemediationWontFix}

// Attack outcomes the red team records.
var AttackOutcomes = []string{"succeeded", "failed", "partial", "blocked"}

// ControlOutcome is the blue team's verdict for one named defensive control (an EDR,
// a SIEM rule set, a firewall): prevention, alerting and logging are separate facts,
// each undecided (null) until the team says.
type ControlOutcome struct {
	Control   string     `json:"control"`
	Prevented *bool      `json:"prevented"`
	Alerted   *bool      `json:"alerted"`
	Logged    *bool      `json:"logged"`
	At        *time.Time `json:"at,omitempty"`
	Notes     string     `json:"notes,omitempty"`
}

// Detection result methods: "manual" is a person's verdict; "evaluated" means Aegis ran
// the rule over the telemetry attached as evidence.
const (
	DetectionManual    = "manual"
	DetectionEvaluated = "evaluated"
)

// DetectionResult says whether one detection rule fired during one test.
type DetectionResult struct {
	ID              string  `db:"id" json:"id"`
	TestID          string  `db:"test_id" json:"test_id"`
	DetectionRuleID string  `db:"detection_rule_id" json:"detection_rule_id"`
	Triggered       bool    `db:"triggered" json:"triggered"`
	Method          string  `db:"method" json:"method"`
	EvidenceID      *string `db:"evidence_id" json:"evidence_id,omitempty"`
	MatchedEvents   int     `db:"matched_events" json:"matched_events"`
	// MatchedEventIDs and MatchedSearches say, for an evaluated result, which events
	// matched (EventRecordID or position, prefixed by the evidence file when several
	// were evaluated) and which of the rule's searches were true for them.
	MatchedEventIDs Strings   `db:"matched_event_ids" json:"matched_event_ids"`
	MatchedSearches Strings   `db:"matched_searches" json:"matched_searches"`
	Notes           string    `db:"notes" json:"notes"`
	RecordedBy      *string   `db:"recorded_by" json:"recorded_by,omitempty"`
	RecordedAt      time.Time `db:"recorded_at" json:"recorded_at"`
}

// TestWorkRepo stores what hangs off a test besides its own row: review votes,
// detection results and the retest chain.
type TestWorkRepo interface {
	// AddVote stores a vote; a second vote for the same test, round and lead role is an
	// ECONFLICT, even when both arrive at the same instant.
	AddVote(ctx context.Context, v *Vote) error
	// VotesOf lists the votes of one review round (every round when round is 0), oldest first.
	VotesOf(ctx context.Context, testID string, round int) ([]*Vote, error)
	// PutDetectionResult records the result for (test, rule), replacing an earlier one.
	PutDetectionResult(ctx context.Context, r *DetectionResult) error
	DetectionResultsOf(ctx context.Context, testID string) ([]*DetectionResult, error)
	DeleteDetectionResult(ctx context.Context, testID, ruleID string) error
	// RetestsOf lists the tests created as retests of testID.
	RetestsOf(ctx context.Context, testID string) ([]*Test, error)
}
