package sdk

import (
	"encoding/json"
	"fmt"
	"time"
)

// Scope is the JSON object an exporter receives as ExportRequest.Scope: what the host
// resolved before streaming the records. Kind says which of the other fields matter.
// Fields are added, never renamed or removed, within protocol v1.
type Scope struct {
	// Kind is organisation, tactic, actor, campaign, snapshot, diff or rules.
	Kind string `json:"kind"`
	// ID is what the user named: a tactic (TA0002), an actor (G0016), a campaign or
	// snapshot id; for a diff, the later snapshot.
	ID string `json:"id,omitempty"`
	// Base is the earlier snapshot of a diff.
	Base string `json:"base,omitempty"`
	// Name is the resolved display name (the tactic's, actor's, campaign's or
	// snapshot's name); Title is a one-line title for the whole export.
	Name  string `json:"name,omitempty"`
	Title string `json:"title,omitempty"`
	// Domain is the ATT&CK domain (enterprise-attack, mobile-attack, ics-attack) and
	// AttackVersion the ATT&CK release the host's catalog was last imported from.
	Domain        string `json:"domain,omitempty"`
	AttackVersion string `json:"attack_version,omitempty"`
	// Rules is the rule filter of a rules scope.
	Rules map[string]string `json:"rules,omitempty"`
	// Records counts the records that follow, by kind.
	Records map[string]int `json:"records,omitempty"`
	// BaseURL is the Aegis web address, for links back (empty when not configured).
	BaseURL string `json:"base_url,omitempty"`
	// GeneratedAt is when the host resolved the scope.
	GeneratedAt time.Time `json:"generated_at"`
	// Summary holds figures of the whole scope (organisation score, tactic scores,
	// trend); see ScopeSummary.
	Summary *ScopeSummary `json:"summary,omitempty"`
}

// ScopeSummary is what a coverage scope adds: the figures a report headlines.
type ScopeSummary struct {
	// Score is the scope's 0–100 score; nil when nothing in it was tested.
	Score *float64 `json:"score"`
	// Techniques and Tested count the techniques in scope and those with a score.
	Techniques int `json:"techniques"`
	Tested     int `json:"tested"`
	// Tactics are the tactic scores in matrix order.
	Tactics []TacticScore `json:"tactics,omitempty"`
	// Actors are threat actors with the coverage of the techniques they use.
	Actors []ActorScore `json:"actors,omitempty"`
	// Trend is the organisation's score at each snapshot, oldest first.
	Trend []TrendPoint `json:"trend,omitempty"`
	// Counts are tests by outcome (validated, prevented, alerted, logged, none, ...).
	Counts map[string]int `json:"counts,omitempty"`
	// Statuses counts the techniques in scope (sub-techniques apart) by coverage status.
	Statuses map[string]int `json:"statuses,omitempty"`
	// Platforms are the platforms of the techniques in scope, as the ATT&CK release
	// spells them.
	Platforms []string `json:"platforms,omitempty"`
	// FormulaVersion is the version of the scoring formula the scores come from.
	FormulaVersion int `json:"formula_version,omitempty"`
	// Diff is what a diff scope adds: the two snapshots and how many techniques moved.
	Diff *ScopeDiff `json:"diff,omitempty"`
}

// ScopeDiff compares two snapshots: Base (earlier) and the scope's ID (later).
type ScopeDiff struct {
	BaseName    string    `json:"base_name"`
	BaseTakenAt time.Time `json:"base_taken_at"`
	BaseScore   *float64  `json:"base_score"`
	Name        string    `json:"name"`
	TakenAt     time.Time `json:"taken_at"`
	Score       *float64  `json:"score"`
	ScoreChange *float64  `json:"score_change"`
	// SameFormula is false when the two were scored by different formula versions.
	SameFormula bool `json:"same_formula"`
	Improved    int  `json:"improved"`
	Regressed   int  `json:"regressed"`
	New         int  `json:"new"`
	Removed     int  `json:"removed"`
	Unchanged   int  `json:"unchanged"`
}

// TacticScore is one tactic's score.
type TacticScore struct {
	ID         string   `json:"id"`
	Shortname  string   `json:"shortname"`
	Name       string   `json:"name"`
	Score      *float64 `json:"score"`
	Techniques int      `json:"techniques"`
	Tested     int      `json:"tested"`
}

// ActorScore is a threat actor's coverage.
type ActorScore struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Score      *float64 `json:"score"`
	Techniques int      `json:"techniques"`
	Tested     int      `json:"tested"`
}

// TrendPoint is the organisation's score at one snapshot.
type TrendPoint struct {
	SnapshotID string    `json:"snapshot_id"`
	Name       string    `json:"name"`
	TakenAt    time.Time `json:"taken_at"`
	Score      *float64  `json:"score"`
}

// ParseScope decodes an ExportRequest's Scope. An empty scope is the organisation.
func ParseScope(raw json.RawMessage) (*Scope, error) {
	s := &Scope{Kind: "organisation"}
	if len(raw) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("scope: malformed JSON: %w", err)
	}
	return s, nil
}
