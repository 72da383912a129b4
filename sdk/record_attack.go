package sdk

import (
	"strings"
	"time"
)

// Reference is an external citation (ATT&CK external_references, report links).
type Reference struct {
	Source      string `json:"source,omitempty"`
	URL         string `json:"url,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Tactic is an ATT&CK tactic (TA0001 "Initial Access").
type Tactic struct {
	ExternalID string `json:"external_id"`
	STIXID     string `json:"stix_id,omitempty"`
	Name       string `json:"name"`
	// Shortname is the kill-chain phase name techniques refer to, e.g. "initial-access".
	Shortname string `json:"shortname"`
	// Domain is one of enterprise-attack, mobile-attack, ics-attack.
	Domain string `json:"domain"`
	// Order is the tactic's column position in the matrix, from 1.
	Order       int       `json:"order,omitempty"`
	Description string    `json:"description,omitempty"`
	URL         string    `json:"url,omitempty"`
	Modified    time.Time `json:"modified,omitzero"`
	Deprecated  bool      `json:"deprecated,omitempty"`
}

func (r *Tactic) Kind() string { return KindTactic }
func (r *Tactic) ID() string   { return r.ExternalID }

func (r *Tactic) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.match("external_id", r.ExternalID, tacticIDRe, "TA0001")
	c.required("name", r.Name)
	c.required("shortname", r.Shortname)
	if r.Shortname != "" && !shortnameRe.MatchString(r.Shortname) {
		c.add("shortname", "%q is not a kill-chain phase name (want e.g. initial-access)", r.Shortname)
	}
	c.required("domain", r.Domain)
	c.oneOf("domain", r.Domain, attackDomains...)
	if r.Order < 0 {
		c.add("order", "must not be negative")
	}
	return c.result()
}

// Technique is an ATT&CK technique or sub-technique (T1059, T1059.001).
type Technique struct {
	ExternalID  string `json:"external_id"`
	STIXID      string `json:"stix_id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ParentID is set for sub-techniques only: "T1059" for "T1059.001".
	ParentID string `json:"parent_id,omitempty"`
	// Tactics are tactic shortnames (kill-chain phases), e.g. "execution".
	// Tactics and Platforms may be empty: revoked and deprecated ATT&CK
	// objects often carry neither, and live ones may lack platforms (ICS
	// T0895 has none), yet every one of them must reach the core so that
	// it can follow RevokedBy and keep test history.
	Tactics       []string `json:"tactics,omitempty"`
	Domains       []string `json:"domains,omitempty"`
	Platforms     []string `json:"platforms,omitempty"`
	DataSources   []string `json:"data_sources,omitempty"`
	DetectionText string   `json:"detection_text,omitempty"`
	// Version is the object's own ATT&CK version (x_mitre_version), e.g. "1.4".
	Version  string    `json:"version,omitempty"`
	Created  time.Time `json:"created,omitzero"`
	Modified time.Time `json:"modified,omitzero"`
	Revoked  bool      `json:"revoked,omitempty"`
	// RevokedBy is the external id of the replacing technique; may be empty
	// even when Revoked is set.
	RevokedBy  string `json:"revoked_by,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
	URL        string `json:"url,omitempty"`
	// ReleaseVersion is the ATT&CK release the record was read from, e.g. "18.1".
	ReleaseVersion string      `json:"release_version,omitempty"`
	References     []Reference `json:"references,omitempty"`
}

func (r *Technique) Kind() string { return KindTechnique }
func (r *Technique) ID() string   { return r.ExternalID }

// IsSubtechnique reports whether the external id has a sub-technique suffix.
func (r *Technique) IsSubtechnique() bool { return strings.Contains(r.ExternalID, ".") }

func (r *Technique) Validate() error {
	c := newChecker(r)
	c.techniqueID("external_id", r.ExternalID)
	c.required("name", r.Name)
	if techniqueIDRe.MatchString(r.ExternalID) {
		parent, _, sub := strings.Cut(r.ExternalID, ".")
		switch {
		case sub && r.ParentID == "":
			c.add("parent_id", "required for sub-technique %s (want %s)", r.ExternalID, parent)
		case sub && r.ParentID != parent:
			c.add("parent_id", "%q does not match sub-technique %s (want %s)", r.ParentID, r.ExternalID, parent)
		case !sub && r.ParentID != "":
			c.add("parent_id", "must be empty for technique %s, which is not a sub-technique", r.ExternalID)
		}
	}
	if r.RevokedBy != "" {
		c.techniqueID("revoked_by", r.RevokedBy)
		if !r.Revoked {
			c.add("revoked", "must be true when revoked_by is set")
		}
	}
	// Only blank entries are errors, never empty lists (see Tactics).
	c.nonEmpty("tactics", r.Tactics)
	for i, d := range r.Domains {
		c.oneOf("domains["+itoa(i)+"]", d, attackDomains...)
	}
	c.nonEmpty("platforms", r.Platforms)
	return c.result()
}

// MitigationLink says a mitigation applies to a technique, and how.
type MitigationLink struct {
	TechniqueID string `json:"technique_id"`
	Description string `json:"description,omitempty"`
}

// Mitigation is an ATT&CK mitigation (M1036) and the techniques it mitigates.
type Mitigation struct {
	ExternalID  string           `json:"external_id"`
	STIXID      string           `json:"stix_id,omitempty"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Domains     []string         `json:"domains,omitempty"`
	URL         string           `json:"url,omitempty"`
	Deprecated  bool             `json:"deprecated,omitempty"`
	Revoked     bool             `json:"revoked,omitempty"`
	Techniques  []MitigationLink `json:"techniques,omitempty"`
	// SourceDomains are the ATT&CK domains of the data this record was built
	// from (the matrices of the source read, not x_mitre_domains). A record
	// that several domains bring, imported one domain per run, is kept per
	// domain and merged, so one domain's run never erases another's links.
	SourceDomains []string `json:"source_domains,omitempty"`
}

func (r *Mitigation) Kind() string { return KindMitigation }
func (r *Mitigation) ID() string   { return r.ExternalID }

func (r *Mitigation) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("name", r.Name)
	for i, l := range r.Techniques {
		c.techniqueID("techniques["+itoa(i)+"].technique_id", l.TechniqueID)
	}
	return c.result()
}

// ActorTechnique is a technique a threat actor is known to use.
type ActorTechnique struct {
	TechniqueID string `json:"technique_id"`
	// Procedure describes how the actor uses it (the relationship description).
	Procedure string `json:"procedure,omitempty"`
}

// ThreatActor is an adversary group (ATT&CK G0016 or an in-house profile).
type ThreatActor struct {
	ExternalID  string      `json:"external_id"`
	STIXID      string      `json:"stix_id,omitempty"`
	Name        string      `json:"name"`
	Aliases     []string    `json:"aliases,omitempty"`
	Description string      `json:"description,omitempty"`
	Country     string      `json:"country,omitempty"`
	Motivations []string    `json:"motivations,omitempty"`
	Targets     []string    `json:"targets,omitempty"`
	References  []Reference `json:"references,omitempty"`
	URL         string      `json:"url,omitempty"`
	Modified    time.Time   `json:"modified,omitzero"`
	Revoked     bool        `json:"revoked,omitempty"`
	Deprecated  bool        `json:"deprecated,omitempty"`
	// Techniques the actor uses; the core resolves them to technique records.
	Techniques []ActorTechnique `json:"techniques,omitempty"`
	// SourceDomains are the ATT&CK domains of the data this record was built
	// from (the matrices of the source read, not x_mitre_domains). A record
	// that several domains bring, imported one domain per run, is kept per
	// domain and merged, so one domain's run never erases another's links.
	SourceDomains []string `json:"source_domains,omitempty"`
}

func (r *ThreatActor) Kind() string { return KindThreatActor }
func (r *ThreatActor) ID() string   { return r.ExternalID }

func (r *ThreatActor) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("name", r.Name)
	c.nonEmpty("aliases", r.Aliases)
	for i, t := range r.Techniques {
		c.techniqueID("techniques["+itoa(i)+"].technique_id", t.TechniqueID)
	}
	return c.result()
}

// Campaign kinds.
const (
	CampaignAttack           = "attack_campaign"
	CampaignAdversaryProfile = "adversary_profile"
)

// Campaign is an ATT&CK campaign (C0001) or an emulation plan such as a
// CALDERA adversary profile: an ordered list of test templates.
type Campaign struct {
	ExternalID  string `json:"external_id"`
	STIXID      string `json:"stix_id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// CampaignKind is attack_campaign or adversary_profile. (Named so because
	// Kind is the Record method.)
	CampaignKind string      `json:"campaign_kind"`
	ActorIDs     []string    `json:"actor_ids,omitempty"`
	TechniqueIDs []string    `json:"technique_ids,omitempty"`
	TemplateIDs  []string    `json:"template_ids,omitempty"` // in execution order
	FirstSeen    time.Time   `json:"first_seen,omitzero"`
	LastSeen     time.Time   `json:"last_seen,omitzero"`
	References   []Reference `json:"references,omitempty"`
	URL          string      `json:"url,omitempty"`
	Revoked      bool        `json:"revoked,omitempty"`
	Deprecated   bool        `json:"deprecated,omitempty"`
	// SourceDomains are the ATT&CK domains of the data this record was built
	// from (the matrices of the source read, not x_mitre_domains). A record
	// that several domains bring, imported one domain per run, is kept per
	// domain and merged, so one domain's run never erases another's links.
	SourceDomains []string `json:"source_domains,omitempty"`
}

func (r *Campaign) Kind() string { return KindCampaign }
func (r *Campaign) ID() string   { return r.ExternalID }

func (r *Campaign) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("name", r.Name)
	c.required("campaign_kind", r.CampaignKind)
	c.oneOf("campaign_kind", r.CampaignKind, CampaignAttack, CampaignAdversaryProfile)
	c.nonEmpty("actor_ids", r.ActorIDs)
	c.techniqueIDs("technique_ids", r.TechniqueIDs)
	c.nonEmpty("template_ids", r.TemplateIDs)
	return c.result()
}
