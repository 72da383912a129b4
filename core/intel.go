package core

import (
	"context"
	"time"
)

// Mitigation is an ATT&CK mitigation (M1036) and the techniques it mitigates.
type Mitigation struct {
	ID          string    `db:"id" json:"id"`
	ExternalID  string    `db:"external_id" json:"external_id"`
	STIXID      string    `db:"stix_id" json:"stix_id"`
	Name        string    `db:"name" json:"name"`
	Description string    `db:"description" json:"description"`
	Deprecated  bool      `db:"deprecated" json:"deprecated"`
	Source      string    `db:"source" json:"source"`
	SourceRef   string    `db:"source_ref" json:"-"`
	ContentHash string    `db:"content_hash" json:"-"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`

	Techniques []TechniqueLink `db:"-" json:"techniques"`
}

// TechniqueLink ties an entity to an ATT&CK technique, with the text that says how
// (a procedure, a mitigation's description, a mapping's comment).
type TechniqueLink struct {
	TechniqueID string `json:"technique_id"` // ATT&CK id
	Note        string `json:"note,omitempty"`
	Relation    string `json:"relation,omitempty"`
	Via         string `json:"via,omitempty"`
}

// ThreatActor is an intrusion set (G0016) and the techniques it is known to use.
type ThreatActor struct {
	ID          string    `db:"id" json:"id"`
	Source      string    `db:"source" json:"source"`
	ExternalID  string    `db:"external_id" json:"external_id"`
	STIXID      string    `db:"stix_id" json:"stix_id"`
	Name        string    `db:"name" json:"name"`
	Aliases     Strings   `db:"aliases" json:"aliases"`
	Description string    `db:"description" json:"description"`
	Country     string    `db:"country" json:"country"`
	Motivations Strings   `db:"motivations" json:"motivations"`
	Targets     Strings   `db:"targets" json:"targets"`
	References  JSON      `db:"refs" json:"references"`
	Revoked     bool      `db:"revoked" json:"revoked"`
	Deprecated  bool      `db:"deprecated" json:"deprecated"`
	SourceRef   string    `db:"source_ref" json:"-"`
	ContentHash string    `db:"content_hash" json:"-"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`

	Techniques []TechniqueLink `db:"-" json:"techniques"`
}

// ActorSummary is a threat actor as pickers and lists show it: without the description,
// references and per-technique procedure texts that make the full list megabytes.
type ActorSummary struct {
	ID             string   `json:"id"`
	ExternalID     string   `json:"external_id"`
	Name           string   `json:"name"`
	Aliases        []string `json:"aliases"`
	Country        string   `json:"country"`
	Revoked        bool     `json:"revoked"`
	Deprecated     bool     `json:"deprecated"`
	TechniqueCount int      `json:"technique_count"`
}

// Summary returns the actor's summary.
func (a *ThreatActor) Summary() ActorSummary {
	aliases := []string(a.Aliases)
	if aliases == nil {
		aliases = []string{}
	}
	return ActorSummary{ID: a.ID, ExternalID: a.ExternalID, Name: a.Name, Aliases: aliases, Country: a.Country,
		Revoked: a.Revoked, Deprecated: a.Deprecated, TechniqueCount: len(a.Techniques)}
}

// CampaignProfile is an imported, reusable campaign: an ATT&CK campaign (who used which
// techniques when) or an adversary profile (an ordered list of test templates) from
// which a test campaign can be seeded.
type CampaignProfile struct {
	ID           string     `db:"id" json:"id"`
	Source       string     `db:"source" json:"source"`
	ExternalID   string     `db:"external_id" json:"external_id"`
	Kind         string     `db:"kind" json:"kind"`
	Name         string     `db:"name" json:"name"`
	Description  string     `db:"description" json:"description"`
	ActorIDs     Strings    `db:"actor_ids" json:"actor_ids"`
	TechniqueIDs Strings    `db:"technique_ids" json:"technique_ids"`
	TemplateIDs  Strings    `db:"template_ids" json:"template_ids"`
	FirstSeen    *time.Time `db:"first_seen" json:"first_seen,omitempty"`
	LastSeen     *time.Time `db:"last_seen" json:"last_seen,omitempty"`
	References   JSON       `db:"refs" json:"references"`
	Deprecated   bool       `db:"deprecated" json:"deprecated"`
	SourceRef    string     `db:"source_ref" json:"-"`
	ContentHash  string     `db:"content_hash" json:"-"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
}

// DefensiveTechnique is a D3FEND technique (D3-AL) and how it relates to ATT&CK.
type DefensiveTechnique struct {
	ID               string    `db:"id" json:"id"`
	ExternalID       string    `db:"external_id" json:"external_id"`
	Name             string    `db:"name" json:"name"`
	Tactic           string    `db:"tactic" json:"tactic"`
	Definition       string    `db:"definition" json:"definition"`
	ParentExternalID string    `db:"parent_external_id" json:"parent_external_id"`
	URI              string    `db:"uri" json:"uri"`
	Deprecated       bool      `db:"deprecated" json:"deprecated"`
	Source           string    `db:"source" json:"source"`
	SourceRef        string    `db:"source_ref" json:"-"`
	ContentHash      string    `db:"content_hash" json:"-"`
	CreatedAt        time.Time `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time `db:"updated_at" json:"updated_at"`

	Mappings []TechniqueLink `db:"-" json:"mappings"`
}

// ComplianceFramework is a control catalog such as NIST SP 800-53 rev5.
type ComplianceFramework struct {
	ID          string    `db:"id" json:"id"`
	Source      string    `db:"source" json:"source"`
	ExternalID  string    `db:"external_id" json:"external_id"`
	Name        string    `db:"name" json:"name"`
	Version     string    `db:"version" json:"version"`
	Description string    `db:"description" json:"description"`
	ContentHash string    `db:"content_hash" json:"-"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`
}

// ComplianceControl is one control (AC-2) or enhancement (AC-2(1)) of a framework.
type ComplianceControl struct {
	ID               string    `db:"id" json:"id"`
	FrameworkID      string    `db:"framework_id" json:"framework_id"`
	ExternalID       string    `db:"external_id" json:"external_id"`
	Family           string    `db:"family" json:"family"`
	Title            string    `db:"title" json:"title"`
	Description      string    `db:"description" json:"description"`
	ParentExternalID string    `db:"parent_external_id" json:"parent_external_id"`
	Deprecated       bool      `db:"deprecated" json:"deprecated"`
	Source           string    `db:"source" json:"source"`
	SourceRef        string    `db:"source_ref" json:"-"`
	ContentHash      string    `db:"content_hash" json:"-"`
	CreatedAt        time.Time `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time `db:"updated_at" json:"updated_at"`

	// Mappings use Relation for the mapping type ("mitigates") and Note for comments.
	Mappings []TechniqueLink `db:"-" json:"mappings"`
}

// IntelItem is one threat-intelligence article from a feed.
type IntelItem struct {
	ID           string     `db:"id" json:"id"`
	Source       string     `db:"source" json:"source"`
	ExternalID   string     `db:"external_id" json:"external_id"`
	Title        string     `db:"title" json:"title"`
	Link         string     `db:"link" json:"link"`
	FeedURL      string     `db:"feed_url" json:"feed_url"`
	Summary      string     `db:"summary" json:"summary"`
	PublishedAt  *time.Time `db:"published_at" json:"published_at,omitempty"`
	TechniqueIDs Strings    `db:"technique_ids" json:"technique_ids"`
	GroupIDs     Strings    `db:"group_ids" json:"group_ids"`
	ContentHash  string     `db:"content_hash" json:"-"`
	CreatedAt    time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
}

// IntelRepo stores the reference data around techniques. Every upsert keys on the
// entity's natural key, sets its id, and replaces its technique links.
type IntelRepo interface {
	UpsertMitigation(ctx context.Context, m *Mitigation) error
	UpsertThreatActor(ctx context.Context, a *ThreatActor) error
	UpsertCampaignProfile(ctx context.Context, c *CampaignProfile) error
	UpsertDefensiveTechnique(ctx context.Context, d *DefensiveTechnique) error
	UpsertComplianceFramework(ctx context.Context, f *ComplianceFramework) error
	// UpsertComplianceControl needs FrameworkID to be the framework's Aegis id.
	UpsertComplianceControl(ctx context.Context, c *ComplianceControl) error
	ComplianceFrameworkByExternalID(ctx context.Context, externalID string) (*ComplianceFramework, error)
	UpsertIntelItem(ctx context.Context, i *IntelItem) error
}
