package core

import (
	"time"
)

// TestState is where a test stands in its lifecycle (DESIGN.md §2).
type TestState string

const (
	StateDraft          TestState = "draft"
	StateRedExecuting   TestState = "red_executing"
	StateBlueEvaluating TestState = "blue_evaluating"
	StateInReview       TestState = "in_review"
	StateValidated      TestState = "validated"
	StateRejected       TestState = "rejected"
)

// TestStates lists every state in lifecycle order.
var TestStates = []TestState{StateDraft, StateRedExecuting, StateBlueEvaluating, StateInReview, StateValidated, StateRejected}

// Valid reports whether s is a known state.
func (s TestState) Valid() bool {
	for _, x := range TestStates {
		if s == x {
			return true
		}
	}
	return false
}

// MaxRetestDepth is how many retests may follow one original test.
const MaxRetestDepth = 3

// Test is one execution of a technique by the red team, judged by the blue team.
// Version increases with every write; a write that names an older version is refused.
type Test struct {
	ID          string    `db:"id" json:"id"`
	Title       string    `db:"title" json:"title"`
	Description string    `db:"description" json:"description"`
	TechniqueID string    `db:"technique_id" json:"technique_id"`
	TemplateID  *string   `db:"template_id" json:"template_id,omitempty"`
	State       TestState `db:"state" json:"state"`
	Version     int       `db:"version" json:"version"`
	Platform    string    `db:"platform" json:"platform"`

	Procedure     string     `db:"procedure" json:"procedure"`
	Command       string     `db:"command" json:"command"`
	Target        string     `db:"target" json:"target"`
	ExecutedAt    *time.Time `db:"executed_at" json:"executed_at,omitempty"`
	ExecutedBy    *string    `db:"executed_by" json:"executed_by,omitempty"`
	AttackOutcome string     `db:"attack_outcome" json:"attack_outcome"`
	RedNotes      string     `db:"red_notes" json:"red_notes"`

	Prevented       *bool      `db:"prevented" json:"prevented"`
	PreventedAt     *time.Time `db:"prevented_at" json:"prevented_at,omitempty"`
	Alerted         *bool      `db:"alerted" json:"alerted"`
	AlertedAt       *time.Time `db:"alerted_at" json:"alerted_at,omitempty"`
	Logged          *bool      `db:"logged" json:"logged"`
	LoggedAt        *time.Time `db:"logged_at" json:"logged_at,omitempty"`
	NotApplicable   bool       `db:"not_applicable" json:"not_applicable"`
	ControlOutcomes JSON       `db:"control_outcomes" json:"control_outcomes"`
	BlueNotes       string     `db:"blue_notes" json:"blue_notes"`

	ReviewRound     int        `db:"review_round" json:"review_round"`
	RejectionReason string     `db:"rejection_reason" json:"rejection_reason"`
	ValidatedAt     *time.Time `db:"validated_at" json:"validated_at,omitempty"`

	RemediationOwner       *string    `db:"remediation_owner" json:"remediation_owner,omitempty"`
	RemediationDue         *time.Time `db:"remediation_due" json:"remediation_due,omitempty"`
	RemediationStatus      string     `db:"remediation_status" json:"remediation_status"`
	RemediationNotes       string     `db:"remediation_notes" json:"remediation_notes"`
	RemediationCompletedAt *time.Time `db:"remediation_completed_at" json:"remediation_completed_at,omitempty"`
	RetestOf               *string    `db:"retest_of" json:"retest_of,omitempty"`
	RetestDepth            int        `db:"retest_depth" json:"retest_depth"`

	AssignedRed  *string   `db:"assigned_red" json:"assigned_red,omitempty"`
	AssignedBlue *string   `db:"assigned_blue" json:"assigned_blue,omitempty"`
	CreatedBy    *string   `db:"created_by" json:"created_by,omitempty"`
	CreatedAt    time.Time `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time `db:"updated_at" json:"updated_at"`
}

// Validate checks what every stored test must have.
func (t *Test) Validate() error {
	if t.Title == "" {
		return FieldError("title", "is required")
	}
	if t.TechniqueID == "" {
		return FieldError("technique_id", "is required")
	}
	if !t.State.Valid() {
		return FieldError("state", "unknown state %q", t.State)
	}
	if t.RetestDepth > MaxRetestDepth {
		return FieldError("retest_of", "a test may be retested at most %d times in a chain", MaxRetestDepth)
	}
	return CheckTexts(
		TextField{"title", t.Title, MaxNameBytes},
		TextField{"description", t.Description, MaxTextBytes},
		TextField{"platform", t.Platform, 100},
		TextField{"procedure", t.Procedure, MaxTextBytes},
		TextField{"command", t.Command, MaxTextBytes},
		TextField{"target", t.Target, MaxNameBytes},
		TextField{"attack_outcome", t.AttackOutcome, MaxNameBytes},
		TextField{"red_notes", t.RedNotes, MaxTextBytes},
		TextField{"blue_notes", t.BlueNotes, MaxTextBytes},
		TextField{"rejection_reason", t.RejectionReason, MaxTextBytes},
		TextField{"remediation_status", t.RemediationStatus, MaxNameBytes},
		TextField{"remediation_notes", t.RemediationNotes, MaxTextBytes},
	)
}

// TestFilter selects tests in a listing.
type TestFilter struct {
	State       TestState
	TechniqueID string
	CampaignID  string
	AssigneeID  string
	Since       *time.Time
	Until       *time.Time
	Page
}
