package core

import (
	"context"
	"strings"
	"time"
)

// ActorFilter selects threat actors in a listing.
type ActorFilter struct {
	Search            string // every word, in name, aliases, external id or description
	TechniqueID       string // ATT&CK id; also matches the actors of its sub-techniques
	Source            string
	Country           string
	IncludeDeprecated bool
	Page
}

// ProfileFilter selects imported campaign profiles.
type ProfileFilter struct {
	Search      string
	Kind        string // attack_campaign or adversary_profile
	ActorID     string // the actor's external id (G0016)
	TechniqueID string // ATT&CK id
	Source      string
	Page
}

// MitigationFilter selects ATT&CK mitigations.
type MitigationFilter struct {
	Search      string
	TechniqueID string
	Page
}

// ControlFilter selects compliance controls.
type ControlFilter struct {
	FrameworkID string // Aegis id of the framework
	Family      string
	Search      string
	TechniqueID string
	Page
}

// IntelFilter selects intel items.
type IntelFilter struct {
	Search      string
	TechniqueID string // an ATT&CK id the item mentions
	ActorID     string // a group id (G0016) the item mentions
	Source      string
	Since       *time.Time // published at or after
	Until       *time.Time // published before
	Page
}

// IntelSummary counts intel items: in all, per source, per mentioned technique and
// group (the most mentioned first), per month of publication.
type IntelSummary struct {
	Total      int           `json:"total"`
	BySource   []NamedCount  `json:"by_source"`
	Techniques []NamedCount  `json:"top_techniques"`
	Groups     []NamedCount  `json:"top_groups"`
	ByMonth    []NamedCount  `json:"by_month"`
	Latest     *time.Time    `json:"latest_published_at,omitempty"`
	Filter     IntelFilterIn `json:"filter"`
}

// IntelFilterIn echoes the filter an intel summary was computed with.
type IntelFilterIn struct {
	TechniqueID string     `json:"technique,omitempty"`
	ActorID     string     `json:"actor,omitempty"`
	Source      string     `json:"source,omitempty"`
	Since       *time.Time `json:"since,omitempty"`
	Until       *time.Time `json:"until,omitempty"`
}

// NamedCount is one bucket of a breakdown.
type NamedCount struct {
	Name  string `db:"name" json:"name"`
	Count int    `db:"n" json:"count"`
}

// DefenseFilter selects D3FEND defensive techniques.
type DefenseFilter struct {
	Search      string
	Tactic      string
	TechniqueID string // ATT&CK id the defence maps to
	Page
}

// ActorCampaign is an imported campaign attributed to an actor.
type ActorCampaign struct {
	ID         string     `db:"id" json:"id"`
	ExternalID string     `db:"external_id" json:"external_id"`
	Name       string     `db:"name" json:"name"`
	FirstSeen  *time.Time `db:"first_seen" json:"first_seen,omitempty"`
	LastSeen   *time.Time `db:"last_seen" json:"last_seen,omitempty"`
}

// ReferenceRepo reads the imported reference data for the app. Lists page like the
// catalog lists; single reads fill the technique links.
type ReferenceRepo interface {
	ListThreatActors(ctx context.Context, f ActorFilter) ([]*ThreatActor, int, error)
	ThreatActorByID(ctx context.Context, id string) (*ThreatActor, error)
	ThreatActorByExternalID(ctx context.Context, externalID string) (*ThreatActor, error)
	CampaignsOfActor(ctx context.Context, externalID string) ([]*ActorCampaign, error)
	ListCampaignProfiles(ctx context.Context, f ProfileFilter) ([]*CampaignProfile, int, error)
	CampaignProfileByID(ctx context.Context, id string) (*CampaignProfile, error)
	ListMitigations(ctx context.Context, f MitigationFilter) ([]*Mitigation, int, error)
	MitigationByID(ctx context.Context, id string) (*Mitigation, error)
	ListComplianceFrameworks(ctx context.Context) ([]*ComplianceFramework, error)
	ComplianceFrameworkByID(ctx context.Context, id string) (*ComplianceFramework, error)
	ListComplianceControls(ctx context.Context, f ControlFilter) ([]*ComplianceControl, int, error)
	ComplianceControlByID(ctx context.Context, id string) (*ComplianceControl, error)
	ListIntelItems(ctx context.Context, f IntelFilter) ([]*IntelItem, int, error)
	IntelItemByID(ctx context.Context, id string) (*IntelItem, error)
	SummarizeIntel(ctx context.Context, f IntelFilter) (*IntelSummary, error)
	ListDefensiveTechniques(ctx context.Context, f DefenseFilter) ([]*DefensiveTechnique, int, error)
	DefensiveTechniqueByID(ctx context.Context, id string) (*DefensiveTechnique, error)
}

// NormalizeActorID puts a threat actor's group id in the catalog's form (" g0016" →
// "G0016"): people type group ids in any case, the catalog stores them upper-case. It is
// the one normalisation of actor ids: ThreatActorByRef and every service that filters by
// actor (?actor=) pass ids through it, so paths, filters and request bodies accept the
// same forms.
func NormalizeActorID(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// ActorReader is the part of ReferenceRepo that ThreatActorByRef needs.
type ActorReader interface {
	ThreatActorByID(ctx context.Context, id string) (*ThreatActor, error)
	ThreatActorByExternalID(ctx context.Context, externalID string) (*ThreatActor, error)
}

// ThreatActorByRef finds a threat actor by its Aegis id or its group id in any case. It is
// the one resolver of actor references (the API's paths, campaigns built from an actor,
// actor coverage and comparisons), as TechniqueByRef is for techniques.
func ThreatActorByRef(ctx context.Context, r ActorReader, ref string) (*ThreatActor, error) {
	if ValidID(ref) {
		return r.ThreatActorByID(ctx, ref)
	}
	ext := NormalizeActorID(ref)
	if ext == "" {
		return nil, Errorf(ENOTFOUND, "threat actor not found")
	}
	return r.ThreatActorByExternalID(ctx, ext)
}
