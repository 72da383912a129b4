package sdk

import "time"

// Test template types.
const (
	TemplateAtomic   = "atomic"
	TemplateCaldera  = "caldera"
	TemplateLOLBAS   = "lolbas"
	TemplateGTFOBins = "gtfobins"
	TemplateCustom   = "custom"
)

// Executor runs a test's command.
type Executor struct {
	// Name is the interpreter: powershell, command_prompt, sh, bash, psh, manual, ...
	Name    string `json:"name"`
	Command string `json:"command,omitempty"`
	Cleanup string `json:"cleanup,omitempty"`
	// Platform is set on per-platform executors (CALDERA: windows, linux, darwin).
	Platform          string `json:"platform,omitempty"`
	ElevationRequired bool   `json:"elevation_required,omitempty"`
	// Timeout in seconds, where the source sets one.
	Timeout int `json:"timeout,omitempty"`
}

// InputArgument is a parameter substituted into commands (#{name} in Atomic).
type InputArgument struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Type as the source spells it: string, path, url, integer, ...
	Type    string `json:"type,omitempty"`
	Default string `json:"default,omitempty"`
}

// Dependency is a prerequisite check and how to satisfy it.
type Dependency struct {
	Description      string `json:"description,omitempty"`
	PrereqCommand    string `json:"prereq_command,omitempty"`
	GetPrereqCommand string `json:"get_prereq_command,omitempty"`
}

// TestTemplate is a runnable test procedure from a catalog (an Atomic Red
// Team test, a CALDERA ability, a LOLBAS or GTFOBins command) or an
// organisation's own.
type TestTemplate struct {
	// ExternalID is the Atomic test GUID, CALDERA ability id or an in-house id.
	ExternalID  string `json:"external_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// TemplateType is one of atomic, caldera, lolbas, gtfobins, custom.
	TemplateType string   `json:"template_type"`
	TechniqueIDs []string `json:"technique_ids,omitempty"`
	// Tactic is the tactic shortname where the source names one (CALDERA).
	Tactic    string   `json:"tactic,omitempty"`
	Platforms []string `json:"platforms,omitempty"`
	// Executor is the single executor of an Atomic or in-house test.
	Executor Executor `json:"executor,omitzero"`
	// Executors lists per-platform executors (CALDERA abilities).
	Executors          []Executor      `json:"executors,omitempty"`
	DependencyExecutor string          `json:"dependency_executor,omitempty"`
	InputArguments     []InputArgument `json:"input_arguments,omitempty"`
	Dependencies       []Dependency    `json:"dependencies,omitempty"`
	// ManualSteps holds instructions for tests a person runs by hand.
	ManualSteps string      `json:"manual_steps,omitempty"`
	Payloads    []string    `json:"payloads,omitempty"`
	References  []Reference `json:"references,omitempty"`
	Author      string      `json:"author,omitempty"`
	Modified    time.Time   `json:"modified,omitzero"`
	Deprecated  bool        `json:"deprecated,omitempty"`
	// Metadata keeps source fields with no column of their own.
	Metadata map[string]any `json:"metadata,omitempty"`
}

func (r *TestTemplate) Kind() string { return KindTestTemplate }
func (r *TestTemplate) ID() string   { return r.ExternalID }

func (r *TestTemplate) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("name", r.Name)
	c.required("template_type", r.TemplateType)
	c.oneOf("template_type", r.TemplateType, TemplateAtomic, TemplateCaldera, TemplateLOLBAS, TemplateGTFOBins, TemplateCustom)
	c.techniqueIDs("technique_ids", r.TechniqueIDs)
	c.nonEmpty("platforms", r.Platforms)
	if (r.Executor != Executor{}) && r.Executor.Name == "" {
		c.add("executor.name", "required when an executor is given")
	}
	for i, e := range r.Executors {
		if e.Name == "" {
			c.add("executors["+itoa(i)+"].name", "required")
		}
	}
	for i, a := range r.InputArguments {
		if a.Name == "" {
			c.add("input_arguments["+itoa(i)+"].name", "required")
		}
	}
	return c.result()
}

// Detection rule formats.
const (
	RuleSigma   = "sigma"
	RuleElastic = "elastic"
	RuleCustom  = "custom"
)

// Detection rule kinds: what a rule is for. A detection rule raises alerts; a
// hunting rule is a query an analyst runs by hand (Elastic's hunting queries), so
// it is kept apart and never counted as a detection.
const (
	RuleKindDetection = "detection"
	RuleKindHunting   = "hunting"
)

// Rule levels (Sigma's names; Elastic severities are a subset).
var ruleLevels = []string{LevelInformational, LevelLow, LevelMedium, LevelHigh, LevelCritical}

// RelatedRule links rules (Sigma "related": derived, obsolete, merged, renamed, similar).
type RelatedRule struct {
	ID   string `json:"id"`
	Type string `json:"type,omitempty"`
}

// DetectionRule is a Sigma rule, an Elastic detection rule or an in-house rule.
type DetectionRule struct {
	// ExternalID is the Sigma id, Elastic rule_id or an in-house id.
	ExternalID  string `json:"external_id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Format is one of sigma, elastic, custom.
	Format string `json:"format"`
	// RuleType is the Elastic rule type (query, eql, threshold, ...).
	RuleType string `json:"rule_type,omitempty"`
	// RuleKind is detection (the default when empty) or hunting.
	RuleKind string `json:"rule_kind,omitempty"`
	// Status as the source spells it (stable, test, experimental, production, ...).
	Status string `json:"status,omitempty"`
	// Level is informational, low, medium, high or critical.
	Level string `json:"level,omitempty"`
	// Severity keeps the source's own severity word when it differs from Level.
	Severity  string    `json:"severity,omitempty"`
	RiskScore int       `json:"risk_score,omitempty"`
	Author    string    `json:"author,omitempty"`
	Date      time.Time `json:"date,omitzero"`
	Modified  time.Time `json:"modified,omitzero"`
	// References are URLs.
	References   []string `json:"references,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	TechniqueIDs []string `json:"technique_ids,omitempty"`
	// Tactics are tactic shortnames.
	Tactics []string `json:"tactics,omitempty"`
	// LogSource is Sigma's logsource (product, category, service).
	LogSource map[string]string `json:"log_source,omitempty"`
	// Language of Query: kuery, eql, esql, lucene, spl, kql, sigma, ...
	Language      string   `json:"language,omitempty"`
	Query         string   `json:"query,omitempty"`
	IndexPatterns []string `json:"index_patterns,omitempty"`
	// Detection is the parsed detection block (Sigma "detection").
	Detection any `json:"detection,omitempty"`
	// Raw is the original rule text, so a rule can be re-evaluated or exported
	// exactly as written.
	Raw            string         `json:"raw,omitempty"`
	FalsePositives []string       `json:"false_positives,omitempty"`
	Related        []RelatedRule  `json:"related,omitempty"`
	Deprecated     bool           `json:"deprecated,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

func (r *DetectionRule) Kind() string { return KindDetectionRule }
func (r *DetectionRule) ID() string   { return r.ExternalID }

func (r *DetectionRule) Validate() error {
	c := newChecker(r)
	c.required("external_id", r.ExternalID)
	c.required("title", r.Title)
	c.required("format", r.Format)
	c.oneOf("format", r.Format, RuleSigma, RuleElastic, RuleCustom)
	c.oneOf("rule_kind", r.RuleKind, RuleKindDetection, RuleKindHunting)
	c.oneOf("level", r.Level, ruleLevels...)
	if r.RiskScore < 0 || r.RiskScore > 100 {
		c.add("risk_score", "%d is outside 0..100", r.RiskScore)
	}
	c.techniqueIDs("technique_ids", r.TechniqueIDs)
	c.nonEmpty("tactics", r.Tactics)
	if r.Query == "" && r.Raw == "" && r.Detection == nil {
		c.add("query", "a rule needs a query, a detection block or its raw text")
	}
	for i, rel := range r.Related {
		if rel.ID == "" {
			c.add("related["+itoa(i)+"].id", "required")
		}
	}
	return c.result()
}
