package core

import (
	"context"
	"strings"
	"time"
)

// CoverageTechnique is what coverage needs to know of a technique: identity, place in
// the matrix, platforms, and how many active test templates could test it.
type CoverageTechnique struct {
	ID              string         `db:"id"`
	ExternalID      string         `db:"external_id"`
	Name            string         `db:"name"`
	ParentID        *string        `db:"parent_id"`
	IsSubtechnique  bool           `db:"is_subtechnique"`
	Platforms       Strings        `db:"platforms"`
	Domains         Strings        `db:"domains"`
	Status          CoverageStatus `db:"coverage_status"`
	LastSeenRelease string         `db:"last_seen_release"`
	Revoked         bool           `db:"revoked"`
	RevokedBy       string         `db:"revoked_by"`
	Deprecated      bool           `db:"deprecated"`
	Known           bool           `db:"known"`
	Templates       int            `db:"templates"`
	// TacticIDs are the Aegis ids of the technique's tactics.
	TacticIDs []string `db:"-"`
}

// ReleaseTechnique is one technique object of an imported ATT&CK release, as that
// release had it: the release's tactics of it, and whether the release itself marked
// it revoked or deprecated. The matrix of a release shows the ones it presented as
// current.
type ReleaseTechnique struct {
	Domain      string  `db:"domain"`
	Release     string  `db:"release_version"`
	TechniqueID string  `db:"technique_id"`
	TacticIDs   Strings `db:"tactic_ids"`
	Revoked     bool    `db:"revoked"`
	Deprecated  bool    `db:"deprecated"`
}

// Current says whether the release presented the technique as current.
func (r *ReleaseTechnique) Current() bool { return !r.Revoked && !r.Deprecated }

// ReleaseTactic is a tactic as an imported ATT&CK release had it: its name, kill-chain
// shortname and column position then (ATT&CK renames, reorders and adds tactics; the
// tactics table holds only the newest release's).
type ReleaseTactic struct {
	Domain      string `db:"domain"`
	Release     string `db:"release_version"`
	TacticID    string `db:"tactic_id"`
	ExternalID  string `db:"external_id"`
	Name        string `db:"name"`
	Shortname   string `db:"shortname"`
	MatrixOrder int    `db:"matrix_order"`
}

// ReleaseLess orders ATT&CK release numbers ("6.3" < "17.1" < "18.1"), part by part as
// numbers, not as text.
func ReleaseLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := leadingInt(pa[i]), leadingInt(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// leadingInt reads the digits a string starts with ("1rc" is 1).
func leadingInt(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestScope narrows the tests that coverage is computed from.
type TestScope struct {
	Platform   string // only tests on this platform (letter case ignored)
	CampaignID string // only tests of this campaign
}

// ScoringRow is one validated, applicable test as scoring reads it.
type ScoringRow struct {
	TechniqueID string    `db:"technique_id"`
	TestID      string    `db:"id"`
	Platform    string    `db:"platform"`
	Procedure   string    `db:"procedure_key"`
	ValidatedAt time.Time `db:"validated_at"`
	Prevented   bool      `db:"prevented"`
	Alerted     bool      `db:"alerted"`
	Logged      bool      `db:"logged"`
}

// TechniqueTestCounts counts a technique's tests by where they stand and, among the
// validated ones, by outcome (a test may count under several facts).
type TechniqueTestCounts struct {
	TechniqueID string `db:"technique_id" json:"-"`
	Tests       int    `db:"tests" json:"tests"`
	InProgress  int    `db:"in_progress" json:"in_progress"`
	Validated   int    `db:"validated" json:"validated"`
	Rejected    int    `db:"rejected" json:"rejected"`
	Prevented   int    `db:"prevented" json:"prevented"`
	Alerted     int    `db:"alerted" json:"alerted"`
	Logged      int    `db:"logged" json:"logged"`
	None        int    `db:"none" json:"none"`
}

// ActorUse is one technique an actor uses.
type ActorUse struct {
	ActorID     string `db:"actor_id"`
	ExternalID  string `db:"actor_external_id"`
	Name        string `db:"actor_name"`
	TechniqueID string `db:"technique_id"` // Aegis id
}

// ScoringConfig is one saved set of weights; exactly one is active at a time.
type ScoringConfig struct {
	ID             string    `db:"id" json:"id"`
	FormulaVersion int       `db:"formula_version" json:"formula_version"`
	Weights        JSON      `db:"weights" json:"weights"`
	Active         bool      `db:"active" json:"active"`
	CreatedBy      *string   `db:"created_by" json:"created_by,omitempty"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

// Snapshot is the coverage of the organisation at one moment.
type Snapshot struct {
	ID             string    `db:"id" json:"id"`
	Name           string    `db:"name" json:"name"`
	TakenAt        time.Time `db:"taken_at" json:"taken_at"`
	FormulaVersion int       `db:"formula_version" json:"formula_version"`
	OrgScore       *float64  `db:"-" json:"org_score"`
	TechniqueCount int       `db:"technique_count" json:"technique_count"`
	TestedCount    int       `db:"tested_count" json:"tested_count"`
	Metrics        JSON      `db:"metrics" json:"metrics"`
	CreatedBy      *string   `db:"created_by" json:"created_by,omitempty"`
	CreatedAt      time.Time `db:"created_at" json:"created_at"`
}

// SnapshotTechniqueState is a technique's coverage in a snapshot. Score is nil when
// the technique was unscored.
type SnapshotTechniqueState struct {
	SnapshotID     string         `db:"snapshot_id" json:"-"`
	TechniqueID    string         `db:"technique_id" json:"-"`
	ExternalID     string         `db:"external_id" json:"technique_id"`
	Name           string         `db:"name" json:"name"`
	Status         CoverageStatus `db:"status" json:"status"`
	Score          *float64       `db:"-" json:"score"`
	TestCount      int            `db:"test_count" json:"test_count"`
	ValidatedCount int            `db:"validated_count" json:"validated_count"`
}

// SnapshotTestState is a test as a snapshot saw it. Outcome lists the facts recorded
// on it: P (prevented), A (alerted), L (logged), in that order; "" when none.
type SnapshotTestState struct {
	TestID      string    `db:"test_id" json:"test_id"`
	TechniqueID string    `db:"technique_id" json:"-"`
	Title       string    `db:"title" json:"title"`
	State       TestState `db:"state" json:"state"`
	Outcome     string    `db:"outcome" json:"outcome"`
}

// MetricTest is the timestamps and facts of a test that the metrics are computed from.
type MetricTest struct {
	ID                     string     `db:"id"`
	Title                  string     `db:"title"`
	TechniqueID            string     `db:"technique_id"`
	State                  TestState  `db:"state"`
	CreatedAt              time.Time  `db:"created_at"`
	ExecutedAt             *time.Time `db:"executed_at"`
	ExecutedBy             *string    `db:"executed_by"`
	AssignedBlue           *string    `db:"assigned_blue"`
	ValidatedAt            *time.Time `db:"validated_at"`
	AlertedAt              *time.Time `db:"alerted_at"`
	Prevented              *bool      `db:"prevented"`
	Alerted                *bool      `db:"alerted"`
	Logged                 *bool      `db:"logged"`
	NotApplicable          bool       `db:"not_applicable"`
	RemediationStatus      string     `db:"remediation_status"`
	RemediationCompletedAt *time.Time `db:"remediation_completed_at"`
	Platform               string     `db:"platform"`
}

// DetectionTally counts detection results of validated tests.
type DetectionTally struct {
	Results   int `db:"results"`
	Triggered int `db:"triggered"`
}

// OperatorStats is one user's work for the operators dataset.
type OperatorStats struct {
	UserID    string `db:"user_id" json:"user_id"`
	Username  string `db:"username" json:"username"`
	Role      Role   `db:"role" json:"role"`
	Executed  int    `db:"executed" json:"tests_executed"`
	Evaluated int    `db:"evaluated" json:"tests_evaluated"`
	Validated int    `db:"validated" json:"tests_validated"`
	Minutes   int    `db:"minutes" json:"minutes_logged"`
}

// CoverageRepo reads what coverage is computed from and keeps scoring weights and
// snapshots.
type CoverageRepo interface {
	// CoverageTechniques lists the techniques of a domain (every domain when empty)
	// with their tactics and active template counts.
	CoverageTechniques(ctx context.Context, domain string) ([]*CoverageTechnique, error)
	// AttackReleases lists the ATT&CK releases of a domain that an import recorded,
	// in no particular order.
	AttackReleases(ctx context.Context, domain string) ([]string, error)
	// ReleaseTechniques lists the technique objects one release of a domain held.
	ReleaseTechniques(ctx context.Context, domain, release string) ([]*ReleaseTechnique, error)
	// ReleaseTactics lists the tactics one release of a domain had, in its matrix order.
	ReleaseTactics(ctx context.Context, domain, release string) ([]*ReleaseTactic, error)
	Validations(ctx context.Context, scope TestScope) ([]ScoringRow, error)
	TestCounts(ctx context.Context, scope TestScope) ([]TechniqueTestCounts, error)
	// StatusTests lists the tests in scope with what CoverageStatusOf reads of them
	// (id, technique, state, validation and update times, outcomes).
	StatusTests(ctx context.Context, scope TestScope) ([]*Test, error)
	ActorUses(ctx context.Context) ([]ActorUse, error)
	MetricTests(ctx context.Context) ([]MetricTest, error)
	// TestStateCounts counts every test by state.
	TestStateCounts(ctx context.Context) (map[TestState]int, error)
	// MeasuredTests lists, with the columns the metrics read, only the tests a metric
	// can use: validated ones, and those with a validation time and a completed
	// remediation (a subset of MetricTests; the other columns are left empty).
	MeasuredTests(ctx context.Context) ([]MetricTest, error)
	DetectionTally(ctx context.Context) (DetectionTally, error)
	OperatorStats(ctx context.Context) ([]*OperatorStats, error)

	ActiveScoringConfig(ctx context.Context) (*ScoringConfig, error)
	SaveScoringConfig(ctx context.Context, c *ScoringConfig) error
	ListScoringConfigs(ctx context.Context, p Page) ([]*ScoringConfig, int, error)

	// CreateSnapshot stores the snapshot, its technique states and the state of every
	// test at this moment.
	CreateSnapshot(ctx context.Context, s *Snapshot, states []SnapshotTechniqueState) error
	ListSnapshots(ctx context.Context, p Page) ([]*Snapshot, int, error)
	SnapshotByID(ctx context.Context, id string) (*Snapshot, error)
	SnapshotTechniqueStates(ctx context.Context, id string) ([]SnapshotTechniqueState, error)
	SnapshotTestStates(ctx context.Context, id string) ([]SnapshotTestState, error)
	// PruneSnapshots deletes all but the newest keep snapshots and returns how many went.
	PruneSnapshots(ctx context.Context, keep int) (int, error)
}

// JobRun is one run of a scheduled job. Tick is the scheduled time the run is for:
// (Job, Tick) is unique, so two instances cannot both run the same tick.
type JobRun struct {
	ID         string     `db:"id" json:"id"`
	Job        string     `db:"job" json:"job"`
	Tick       time.Time  `db:"tick_at" json:"tick_at"`
	Instance   string     `db:"instance" json:"instance"`
	StartedAt  time.Time  `db:"started_at" json:"started_at"`
	FinishedAt *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	Outcome    string     `db:"outcome" json:"outcome"` // running, succeeded, failed
	Error      string     `db:"error" json:"error"`
	Summary    string     `db:"summary" json:"summary"`
}

// JobRunFilter selects job runs.
type JobRunFilter struct {
	Job     string
	Outcome string
	Page
}

// JobRunRepo records scheduled job runs.
type JobRunRepo interface {
	// ClaimJobRun inserts r as running; ok is false when a run for the same job and
	// tick exists already.
	ClaimJobRun(ctx context.Context, r *JobRun) (ok bool, err error)
	FinishJobRun(ctx context.Context, r *JobRun) error
	ListJobRuns(ctx context.Context, f JobRunFilter) ([]*JobRun, int, error)
}
