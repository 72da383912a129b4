package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/plugins/internal/artifactname"
	"github.com/aegis-sec/aegis/sdk"
)

// Views of a scope; each becomes one layer.
const (
	ViewScore  = "score"  // coverage score 0–100
	ViewStatus = "status" // coverage status as colours, no scores
	ViewBefore = "before" // a diff's earlier snapshot
	ViewAfter  = "after"  // a diff's later snapshot
	ViewChange = "change" // a diff's score change, -100..100
	ViewRules  = "rules"  // detection rules per technique (a rules scope)
)

// Config is the plugin's config block.
type Config struct {
	// Views are the layers to write, in this order. Default: score; for a diff,
	// before, after and change; for a rules scope, rules. More than one view makes
	// the file a JSON array of layers.
	Views []string `json:"views,omitempty"`
	// NavigatorVersion is written to versions.navigator (default 5.1.0).
	NavigatorVersion string `json:"navigator_version,omitempty"`
	// Colors is the score gradient, low to high (at least two #rrggbb colours).
	Colors []string `json:"colors,omitempty"`
}

// DefaultNavigatorVersion is the Navigator release the layers are written for.
const DefaultNavigatorVersion = "5.1.0"

var (
	// The gradient PurpleOps and the Navigator's own default use: red, yellow, green.
	scoreColors  = []string{"#ff6666ff", "#ffe766ff", "#8ec843ff"}
	changeColors = []string{"#ff6666ff", "#ffffffff", "#8ec843ff"}
	statusColors = map[string]string{sdk.CoverageInProgress: "#9ecae1ff", sdk.CoverageNotCovered: "#ff6666ff",
		sdk.CoveragePartial: "#ffe766ff", sdk.CoverageCovered: "#8ec843ff"}
	statusWords = map[string]string{sdk.CoverageNotTested: "not tested", sdk.CoverageInProgress: "in progress",
		sdk.CoverageNotCovered: "not covered", sdk.CoveragePartial: "partial (logged only)", sdk.CoverageCovered: "covered"}
	hexColor  = regexp.MustCompile(`^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$`)
	semverish = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)
)

func decodeConfig(raw json.RawMessage) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config is not valid: %w", err)
		}
	}
	if c.NavigatorVersion == "" {
		c.NavigatorVersion = DefaultNavigatorVersion
	}
	if !semverish.MatchString(c.NavigatorVersion) {
		return c, fmt.Errorf("config is not valid: navigator_version %q is not a version such as 5.1.0", c.NavigatorVersion)
	}
	if c.Colors == nil {
		c.Colors = scoreColors
	}
	if len(c.Colors) < 2 {
		return c, fmt.Errorf("config is not valid: colors needs at least two colours")
	}
	for i, col := range c.Colors {
		if !hexColor.MatchString(col) {
			return c, fmt.Errorf("config is not valid: colors[%d] %q is not #rrggbb", i, col)
		}
	}
	for i, v := range c.Views {
		if !slices.Contains([]string{ViewScore, ViewStatus, ViewBefore, ViewAfter, ViewChange, ViewRules}, v) {
			return c, fmt.Errorf("config is not valid: views[%d] %q is not one of score, status, before, after, change, rules", i, v)
		}
	}
	return c, nil
}

// Exporter writes Navigator layers.
type Exporter struct{}

// Describe implements sdk.Describer.
func (Exporter) Describe() sdk.Component {
	return sdk.Component{Description: "ATT&CK Navigator layers (format 4.5) of coverage, a snapshot diff or detection rules",
		RecordKinds: []string{sdk.KindTechniqueCoverage, sdk.KindDetectionRule}, MediaTypes: []string{"application/json"},
		ConfigSchema: json.RawMessage(`{"type":"object","additionalProperties":false,"properties":{
"views":{"type":"array","items":{"enum":["score","status","before","after","change","rules"]}},
"navigator_version":{"type":"string"},"colors":{"type":"array","minItems":2,"items":{"type":"string"}}}}`)}
}

// Export implements sdk.Exporter.
func (Exporter) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return err
	}
	sc, err := sdk.ParseScope(req.Scope)
	if err != nil {
		return err
	}
	var techs []*sdk.TechniqueCoverage
	var rules []*sdk.DetectionRule
	for rec, err := range sdk.Records(records) {
		if err != nil {
			return err
		}
		switch r := rec.(type) {
		case *sdk.TechniqueCoverage:
			techs = append(techs, r)
		case *sdk.DetectionRule:
			rules = append(rules, r)
		default:
			out.Warn(rec.ID(), rec.Kind()+" records have no place in a Navigator layer", "")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	views := cfg.Views
	if len(views) == 0 {
		switch {
		case sc.Kind == "rules":
			views = []string{ViewRules}
		case sc.Kind == "diff":
			views = []string{ViewBefore, ViewAfter, ViewChange}
		default:
			views = []string{ViewScore}
		}
	}
	b := builder{sc: sc, cfg: cfg, techs: techs}
	var layers []*Layer
	for _, v := range views {
		var l *Layer
		switch v {
		case ViewRules:
			if sc.Kind != "rules" {
				return fmt.Errorf("the rules view needs a rules scope, not %s", sc.Kind)
			}
			l = b.rulesLayer(rules)
		case ViewBefore, ViewChange:
			if sc.Kind != "diff" {
				return fmt.Errorf("the %s view needs a diff scope (diff:OLD..NEW), not %s", v, sc.Kind)
			}
			l = b.coverageLayer(v)
		default:
			if sc.Kind == "rules" {
				return fmt.Errorf("the %s view needs a coverage scope (organisation, tactic, actor, campaign, snapshot, diff), not rules", v)
			}
			l = b.coverageLayer(v)
		}
		layers = append(layers, l)
	}
	var doc any = layers
	if len(layers) == 1 {
		doc = layers[0]
	}
	w, err := out.Begin(artifactname.ForScope("navigator", sc)+".json", "application/json")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

type builder struct {
	sc    *sdk.Scope
	cfg   Config
	techs []*sdk.TechniqueCoverage
}

// base is a layer with the settings every view shares.
func (b *builder) base(name, description string) *Layer {
	l := &Layer{Name: name, Domain: b.sc.Domain, Description: description,
		Versions: Versions{Layer: "4.5", Navigator: b.cfg.NavigatorVersion, Attack: attackMajor(b.sc.AttackVersion)},
		Sorting:  3, // score, highest first
		Layout: Layout{Layout: "side", AggregateFunction: "average", ShowID: true, ShowName: true, ShowAggregateScores: true,
			ExpandedSubtechniques: "annotated"},
		Gradient:                Gradient{Colors: b.cfg.Colors, MinValue: 0, MaxValue: 100},
		Techniques:              []Technique{},
		Metadata:                []Metadata{},
		Links:                   []Link{},
		ShowTacticRowBackground: false, TacticRowBackground: "#dddddd",
		SelectTechniquesAcrossTactics: true, SelectSubtechniquesWithParent: false}
	if l.Domain == "" {
		l.Domain = sdk.DomainEnterprise
	}
	if s := b.sc.Summary; s != nil && len(s.Platforms) > 0 {
		l.Filters = &Filters{Platforms: s.Platforms}
	}
	l.Metadata = append(l.Metadata, Metadata{Name: "Exported by", Value: "Aegis"},
		Metadata{Name: "Scope", Value: scopeWords(b.sc)},
		Metadata{Name: "Generated", Value: b.sc.GeneratedAt.UTC().Format(time.RFC3339)})
	if b.sc.AttackVersion != "" {
		l.Metadata = append(l.Metadata, Metadata{Name: "ATT&CK release", Value: b.sc.AttackVersion})
	}
	if b.sc.BaseURL != "" {
		l.Links = append(l.Links, Link{Label: "Open in Aegis", URL: strings.TrimRight(b.sc.BaseURL, "/") + scopePath(b.sc)})
	}
	return l
}

// attackMajor is the ATT&CK major version the Navigator loads ("18.1" → "18").
func attackMajor(release string) string {
	major, _, _ := strings.Cut(release, ".")
	if _, err := strconv.Atoi(major); err != nil {
		return ""
	}
	return major
}

func scopeWords(sc *sdk.Scope) string {
	switch sc.Kind {
	case "diff":
		return "diff " + sc.Base + ".." + sc.ID
	case "organisation", "rules", "":
		return sc.Kind
	}
	if sc.Name != "" && sc.Name != sc.ID {
		return sc.Kind + " " + sc.ID + " (" + sc.Name + ")"
	}
	return sc.Kind + " " + sc.ID
}

// scopePath is the Aegis page a scope's layer links back to.
func scopePath(sc *sdk.Scope) string {
	switch sc.Kind {
	case "actor":
		return "/actors?id=" + url.QueryEscape(sc.ID)
	case "campaign":
		return "/campaigns?id=" + url.QueryEscape(sc.ID)
	case "snapshot", "diff":
		return "/comparison"
	case "rules":
		return "/catalog/rules"
	}
	return "/matrix"
}

func fmtScore(s *float64) string {
	if s == nil {
		return "none"
	}
	return strconv.FormatFloat(math.Round(*s*10)/10, 'f', -1, 64)
}

// coverageLayer writes one view of a coverage scope.
func (b *builder) coverageLayer(view string) *Layer {
	sc, sum := b.sc, b.sc.Summary
	if sum == nil {
		sum = &sdk.ScopeSummary{}
	}
	title := sc.Title
	if title == "" {
		title = "Aegis coverage"
	}
	var l *Layer
	switch view {
	case ViewBefore:
		d := sum.Diff
		name := sc.Base
		if d != nil {
			name = d.BaseName
		}
		l = b.base(title+": "+name, "Coverage at snapshot "+name+" (the earlier of the two).")
	case ViewAfter:
		name := sc.Name
		l = b.base(title+": "+name, "Coverage at snapshot "+name+" (the later of the two).")
	case ViewChange:
		l = b.base(title+": change", "Score change per technique between the two snapshots: later minus earlier (an unscored side counts as 0).")
		l.Gradient = Gradient{Colors: changeColors, MinValue: -100, MaxValue: 100}
	case ViewStatus:
		l = b.base(title+": status", "Coverage status per technique, decided by its newest validated test.")
	default:
		l = b.base(title, fmt.Sprintf("Coverage score 0–100 per technique from validated tests (scoring formula v%d). Untested techniques carry no score.", sum.FormulaVersion))
	}
	l.Legend = legend(view, b.cfg.Colors)
	l.Metadata = append(l.Metadata, Metadata{Divider: true},
		Metadata{Name: "Score", Value: fmtScore(sum.Score)},
		Metadata{Name: "Techniques", Value: strconv.Itoa(sum.Techniques)},
		Metadata{Name: "Scored techniques", Value: strconv.Itoa(sum.Tested)})
	for _, k := range []string{"tests", "validated", "prevented", "alerted", "logged", "none"} {
		if n, ok := sum.Counts[k]; ok {
			l.Metadata = append(l.Metadata, Metadata{Name: "Tests " + k, Value: strconv.Itoa(n)})
		}
	}
	if last := b.lastValidated(); last != nil {
		l.Metadata = append(l.Metadata, Metadata{Name: "Last validation", Value: last.UTC().Format(time.RFC3339)})
	}
	if d := sum.Diff; d != nil {
		l.Metadata = append(l.Metadata, Metadata{Divider: true},
			Metadata{Name: "Earlier snapshot", Value: d.BaseName + " (" + d.BaseTakenAt.UTC().Format("2006-01-02 15:04") + "), score " + fmtScore(d.BaseScore)},
			Metadata{Name: "Later snapshot", Value: d.Name + " (" + d.TakenAt.UTC().Format("2006-01-02 15:04") + "), score " + fmtScore(d.Score)},
			Metadata{Name: "Score change", Value: fmtScore(d.ScoreChange)},
			Metadata{Name: "Techniques improved / regressed / new / removed", Value: fmt.Sprintf("%d / %d / %d / %d", d.Improved, d.Regressed, d.New, d.Removed)})
	}
	hasScoredSub := map[string]bool{}
	for _, t := range b.techs {
		if t.Parent != "" && t.Score != nil {
			hasScoredSub[t.Parent] = true
		}
	}
	for _, t := range b.techs {
		l.Techniques = append(l.Techniques, b.cells(view, t, hasScoredSub[t.TechniqueID])...)
	}
	return l
}

// cells are a technique's entries: one for every tactic, or one per tactic where the
// record scores the technique differently per tactic.
func (b *builder) cells(view string, t *sdk.TechniqueCoverage, showSubs bool) []Technique {
	status, score := t.Status, t.Score
	if view == ViewBefore && t.Change != nil {
		status, score = t.Change.BeforeStatus, t.Change.BeforeScore
		if status == "" {
			status = sdk.CoverageNotTested
		}
	}
	cell := Technique{TechniqueID: t.TechniqueID, Enabled: true, ShowSubtechniques: showSubs}
	switch view {
	case ViewStatus:
		cell.Color = statusColors[status]
	case ViewChange:
		cell.Score = change(t)
	default:
		cell.Score = score
	}
	cell.Comment = comment(view, t, status, score)
	cell.Metadata = techniqueMetadata(view, t, status, score)
	if t.URL != "" {
		cell.Links = []Link{{Label: "Aegis: " + t.TechniqueID, URL: t.URL}}
	}
	if len(t.TacticScores) == 0 || view != ViewScore && view != ViewAfter {
		return []Technique{cell}
	}
	var out []Technique
	for _, ta := range t.Tactics {
		c := cell
		c.Tactic = ta
		if s, ok := t.TacticScores[ta]; ok {
			c.Score = &s
		}
		out = append(out, c)
	}
	return out
}

// change is the later score minus the earlier one; nil when neither side is scored.
func change(t *sdk.TechniqueCoverage) *float64 {
	if t.Change == nil || (t.Score == nil && t.Change.BeforeScore == nil) {
		return nil
	}
	var a, b float64
	if t.Score != nil {
		a = *t.Score
	}
	if t.Change.BeforeScore != nil {
		b = *t.Change.BeforeScore
	}
	d := a - b
	return &d
}

func comment(view string, t *sdk.TechniqueCoverage, status string, score *float64) string {
	var parts []string
	if view == ViewChange && t.Change != nil {
		parts = append(parts, fmt.Sprintf("%s: %s %s → %s %s", t.Change.Direction, statusWords[t.Change.BeforeStatus],
			fmtScore(t.Change.BeforeScore), statusWords[t.Status], fmtScore(t.Score)))
		if t.Change.TestsChanged > 0 {
			parts = append(parts, fmt.Sprintf("%d test(s) changed", t.Change.TestsChanged))
		}
		return strings.Join(parts, "; ")
	}
	parts = append(parts, statusWords[status]+", score "+fmtScore(score))
	if view == ViewBefore {
		return strings.Join(parts, "; ")
	}
	c := t.Counts
	if c.Tests > 0 {
		parts = append(parts, fmt.Sprintf("%d test(s), %d validated", c.Tests, c.Validated))
		if c.Validated > 0 {
			parts = append(parts, fmt.Sprintf("prevented %d, alerted %d, logged %d, none %d", c.Prevented, c.Alerted, c.Logged, c.None))
		}
	} else if t.Templates > 0 {
		parts = append(parts, fmt.Sprintf("never tested; %d test template(s) available", t.Templates))
	}
	if t.LastValidated != nil {
		parts = append(parts, "last validated "+t.LastValidated.UTC().Format("2006-01-02"))
	}
	return strings.Join(parts, "; ")
}

func techniqueMetadata(view string, t *sdk.TechniqueCoverage, status string, score *float64) []Metadata {
	md := []Metadata{{Name: "status", Value: status}, {Name: "score", Value: fmtScore(score)}}
	if view == ViewBefore {
		if t.Change == nil {
			return md
		}
		return append(md, Metadata{Name: "tests", Value: strconv.Itoa(t.Change.BeforeTests)},
			Metadata{Name: "validated", Value: strconv.Itoa(t.Change.BeforeValidated)})
	}
	c := t.Counts
	if c.Tests == 0 {
		return append(md, Metadata{Name: "templates", Value: strconv.Itoa(t.Templates)})
	}
	for _, kv := range []struct {
		k string
		v int
	}{{"tests", c.Tests}, {"in progress", c.InProgress}, {"validated", c.Validated}, {"rejected", c.Rejected},
		{"prevented", c.Prevented}, {"alerted", c.Alerted}, {"logged", c.Logged}, {"none", c.None}, {"templates", t.Templates}} {
		md = append(md, Metadata{Name: kv.k, Value: strconv.Itoa(kv.v)})
	}
	if t.LastValidated != nil {
		md = append(md, Metadata{Name: "last validated", Value: t.LastValidated.UTC().Format(time.RFC3339)})
	}
	if t.Weight > 0 {
		md = append(md, Metadata{Name: "actor weight", Value: strconv.FormatFloat(t.Weight, 'f', -1, 64)})
	}
	if t.Change != nil {
		md = append(md, Metadata{Name: "change", Value: t.Change.Direction})
	}
	return md
}

func (b *builder) lastValidated() *time.Time {
	var last *time.Time
	for _, t := range b.techs {
		if t.LastValidated != nil && (last == nil || t.LastValidated.After(*last)) {
			last = t.LastValidated
		}
	}
	return last
}

func legend(view string, colors []string) []Legend {
	switch view {
	case ViewStatus:
		var out []Legend
		for _, st := range []string{sdk.CoverageInProgress, sdk.CoverageNotCovered, sdk.CoveragePartial, sdk.CoverageCovered} {
			out = append(out, Legend{Label: statusWords[st], Color: statusColors[st]})
		}
		return append(out, Legend{Label: "not tested: no colour", Color: "#ffffffff"})
	case ViewChange:
		return []Legend{{Label: "regressed (-100)", Color: changeColors[0]}, {Label: "unchanged (0)", Color: changeColors[1]},
			{Label: "improved (+100)", Color: changeColors[2]}}
	case ViewRules:
		return []Legend{{Label: "one rule", Color: colors[0]}, {Label: "most rules", Color: colors[len(colors)-1]}}
	}
	return []Legend{{Label: "0: tested, nothing prevented or alerted", Color: colors[0]},
		{Label: "100: fully covered", Color: colors[len(colors)-1]}, {Label: "no score: not tested", Color: "#ffffffff"}}
}

// rulesLayer scores each technique by the number of rules of the scope that detect it.
func (b *builder) rulesLayer(rules []*sdk.DetectionRule) *Layer {
	title := b.sc.Title
	if title == "" {
		title = "Detection rules"
	}
	l := b.base(title, "Number of detection rules per technique in this rule set.")
	l.Filters = nil
	byTech := map[string][]*sdk.DetectionRule{}
	for _, r := range rules {
		for _, id := range r.TechniqueIDs {
			byTech[id] = append(byTech[id], r)
		}
	}
	most := 1
	for _, rs := range byTech {
		most = max(most, len(rs))
	}
	l.Gradient = Gradient{Colors: b.cfg.Colors, MinValue: 0, MaxValue: float64(most)}
	l.Legend = legend(ViewRules, b.cfg.Colors)
	l.Metadata = append(l.Metadata, Metadata{Divider: true}, Metadata{Name: "Rules", Value: strconv.Itoa(len(rules))},
		Metadata{Name: "Techniques", Value: strconv.Itoa(len(byTech))})
	ids := make([]string, 0, len(byTech))
	for id := range byTech {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rs := byTech[id]
		n := float64(len(rs))
		levels := map[string]int{}
		var titles []string
		for _, r := range rs {
			levels[r.Level]++
			if len(titles) < 10 {
				titles = append(titles, r.Title)
			}
		}
		comment := fmt.Sprintf("%d rule(s): %s", len(rs), strings.Join(titles, "; "))
		if len(rs) > len(titles) {
			comment += fmt.Sprintf("; and %d more", len(rs)-len(titles))
		}
		var md []Metadata
		for _, lv := range []string{"critical", "high", "medium", "low", "informational", ""} {
			if levels[lv] > 0 {
				name := lv
				if name == "" {
					name = "no level"
				}
				md = append(md, Metadata{Name: name, Value: strconv.Itoa(levels[lv])})
			}
		}
		l.Techniques = append(l.Techniques, Technique{TechniqueID: id, Score: &n, Comment: comment, Enabled: true, Metadata: md})
	}
	return l
}
