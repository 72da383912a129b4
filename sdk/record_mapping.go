package sdk

import "time"

// DefensiveMapping links a defensive technique to an ATT&CK technique.
type DefensiveMapping struct {
	TechniqueID string `json:"technique_id"`
	// Relation is the D3FEND relation, e.g. "may-counter".
	Relation string `json:"relation,omitempty"`
	// Via is the digital artifact through which the relation holds.
	Via string `json:"via,omitempty"`
}

// DefensiveTechnique is a D3FEND technique (D3-AL "Application Lockdown").
type DefensiveTechnique struct {
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	// Tactic is the D3FEND tactic: Model, Harden, Detect, Isolate, Deceive, Evict, Restore.
	Tactic     string             `json:"tactic,omitempty"`
	Definition string             `json:"definition,omitempty"`
	ParentID   string             `json:"parent_id,omitempty"`
	URI        string             `json:"uri,omitempty"`
	Mappings   []DefensiveMapping `json:"mappings,omitempty"`
}

func (r *DefensiveTechnique) Kind() string { return KindDefensiveTechnique }
func (r *DefensiveTechnique) ID() string   { return r.ExternalID }

func (r *DefensiveTechnique) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("name", r.Name)
	for i, m := range r.Mappings {
		c.techniqueID("mappings["+itoa(i)+"].technique_id", m.TechniqueID)
	}
	return c.result()
}

// ComplianceFramework is a control catalog such as NIST SP 800-53 rev. 5.
type ComplianceFramework struct {
	// ExternalID is a stable slug, e.g. "nist-800-53-rev5".
	ExternalID  string `json:"external_id"`
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
}

func (r *ComplianceFramework) Kind() string { return KindComplianceFramework }
func (r *ComplianceFramework) ID() string   { return r.ExternalID }

func (r *ComplianceFramework) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("name", r.Name)
	return c.result()
}

// ControlMapping links a control to an ATT&CK technique it addresses.
type ControlMapping struct {
	TechniqueID string `json:"technique_id"`
	// MappingType as the source spells it, e.g. "protects" or "mitigates".
	MappingType string `json:"mapping_type,omitempty"`
	Comments    string `json:"comments,omitempty"`
}

// ComplianceControl is one control of a framework (AC-2) or an enhancement (AC-2(1)).
type ComplianceControl struct {
	FrameworkID string `json:"framework_id"`
	ExternalID  string `json:"external_id"`
	Family      string `json:"family,omitempty"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// ParentID is the base control of an enhancement, e.g. "AC-2".
	ParentID string           `json:"parent_id,omitempty"`
	Mappings []ControlMapping `json:"mappings,omitempty"`
}

func (r *ComplianceControl) Kind() string { return KindComplianceControl }

// ID is "framework_id:external_id": control ids such as AC-2 repeat across
// frameworks and framework revisions, so the bare id is not unique per source.
func (r *ComplianceControl) ID() string { return r.FrameworkID + ":" + r.ExternalID }

func (r *ComplianceControl) Validate() error {
	c := newChecker(r)
	c.required("framework_id", r.FrameworkID)
	c.required("external_id", r.ExternalID)
	c.required("title", r.Title)
	for i, m := range r.Mappings {
		c.techniqueID("mappings["+itoa(i)+"].technique_id", m.TechniqueID)
	}
	return c.result()
}

// IntelItem is a threat-intelligence article from a feed.
type IntelItem struct {
	// ExternalID is the feed entry's guid, or its link when it has none.
	ExternalID string    `json:"external_id"`
	Title      string    `json:"title"`
	Link       string    `json:"link,omitempty"`
	Published  time.Time `json:"published,omitzero"`
	Summary    string    `json:"summary,omitempty"`
	FeedURL    string    `json:"feed_url,omitempty"`
	FeedTitle  string    `json:"feed_title,omitempty"`
	Authors    []string  `json:"authors,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	// TechniqueIDs and GroupIDs are ATT&CK ids mentioned in the item.
	TechniqueIDs []string `json:"technique_ids,omitempty"`
	GroupIDs     []string `json:"group_ids,omitempty"`
}

func (r *IntelItem) Kind() string { return KindIntelItem }
func (r *IntelItem) ID() string   { return r.ExternalID }

func (r *IntelItem) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("title", r.Title)
	c.techniqueIDs("technique_ids", r.TechniqueIDs)
	c.nonEmpty("group_ids", r.GroupIDs)
	return c.result()
}
