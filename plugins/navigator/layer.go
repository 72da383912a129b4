package main

// The ATT&CK Navigator layer format 4.5, as much of it as the exporter writes
// (mitre-attack/attack-navigator layers/spec/v4.5/layerformat.md).

// Layer is one Navigator layer.
type Layer struct {
	Name        string      `json:"name"`
	Versions    Versions    `json:"versions"`
	Domain      string      `json:"domain"`
	Description string      `json:"description"`
	Filters     *Filters    `json:"filters,omitempty"`
	Sorting     int         `json:"sorting"`
	Layout      Layout      `json:"layout"`
	HideDisable bool        `json:"hideDisabled"`
	Techniques  []Technique `json:"techniques"`
	Gradient    Gradient    `json:"gradient"`
	Legend      []Legend    `json:"legendItems"`
	Metadata    []Metadata  `json:"metadata"`
	Links       []Link      `json:"links"`

	ShowTacticRowBackground       bool   `json:"showTacticRowBackground"`
	TacticRowBackground           string `json:"tacticRowBackground"`
	SelectTechniquesAcrossTactics bool   `json:"selectTechniquesAcrossTactics"`
	SelectSubtechniquesWithParent bool   `json:"selectSubtechniquesWithParent"`
	SelectVisibleTechniques       bool   `json:"selectVisibleTechniques"`
}

// Versions names the layer format, the Navigator and the ATT&CK release.
type Versions struct {
	Layer     string `json:"layer"`
	Navigator string `json:"navigator"`
	Attack    string `json:"attack,omitempty"`
}

// Filters limit the matrix to platforms, spelled as the ATT&CK release spells them.
type Filters struct {
	Platforms []string `json:"platforms"`
}

// Layout is how the Navigator draws the matrix.
type Layout struct {
	Layout                string `json:"layout"`
	AggregateFunction     string `json:"aggregateFunction"`
	ShowID                bool   `json:"showID"`
	ShowName              bool   `json:"showName"`
	ShowAggregateScores   bool   `json:"showAggregateScores"`
	CountUnscored         bool   `json:"countUnscored"`
	ExpandedSubtechniques string `json:"expandedSubtechniques"`
}

// Technique is one annotated cell; Tactic is set only when the technique's score
// differs per tactic, and Score is nil for an unscored technique (not 0).
type Technique struct {
	TechniqueID       string     `json:"techniqueID"`
	Tactic            string     `json:"tactic,omitempty"`
	Score             *float64   `json:"score,omitempty"`
	Color             string     `json:"color,omitempty"`
	Comment           string     `json:"comment,omitempty"`
	Enabled           bool       `json:"enabled"`
	Metadata          []Metadata `json:"metadata,omitempty"`
	Links             []Link     `json:"links,omitempty"`
	ShowSubtechniques bool       `json:"showSubtechniques,omitempty"`
}

// Gradient colours scores from MinValue to MaxValue.
type Gradient struct {
	Colors   []string `json:"colors"`
	MinValue float64  `json:"minValue"`
	MaxValue float64  `json:"maxValue"`
}

// Legend is one legend entry.
type Legend struct {
	Label string `json:"label"`
	Color string `json:"color"`
}

// Metadata is a name/value pair, or a divider.
type Metadata struct {
	Name    string `json:"name,omitempty"`
	Value   string `json:"value,omitempty"`
	Divider bool   `json:"divider,omitempty"`
}

// Link is a labelled URL, or a divider.
type Link struct {
	Label   string `json:"label,omitempty"`
	URL     string `json:"url,omitempty"`
	Divider bool   `json:"divider,omitempty"`
}
