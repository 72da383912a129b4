package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/plugins/navigator/layerspec"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var release = layerspec.Release{Tactics: []string{"execution", "credential-access", "persistence"},
	Platforms: []string{"Windows", "Linux", "macOS"}}

func f(v float64) *float64 { return &v }

func scopeJSON(t *testing.T, sc sdk.Scope) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func coverageRecords() []sdk.Record {
	last := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	return []sdk.Record{
		&sdk.TechniqueCoverage{TechniqueID: "T1003", Name: "OS Credential Dumping", Tactics: []string{"credential-access"},
			Platforms: []string{"Windows"}, Status: sdk.CoverageNotTested, Templates: 2, URL: "https://aegis.example.test/techniques/t3"},
		&sdk.TechniqueCoverage{TechniqueID: "T1059", Name: "Command and Scripting Interpreter", Tactics: []string{"execution"},
			Platforms: []string{"Windows", "Linux"}, Status: sdk.CoverageCovered, Score: f(61.23456789),
			Counts: sdk.TestCounts{Tests: 1, Validated: 1, Alerted: 1}, LastValidated: &last, URL: "https://aegis.example.test/techniques/t1"},
		&sdk.TechniqueCoverage{TechniqueID: "T1059.001", Name: "PowerShell", Parent: "T1059", Tactics: []string{"execution"},
			Platforms: []string{"Windows", "Linux"}, Status: sdk.CoverageCovered, Score: f(80),
			Counts: sdk.TestCounts{Tests: 4, Validated: 4, Prevented: 1, Alerted: 2, Logged: 2}, LastValidated: &last},
	}
}

func orgScope(t *testing.T) json.RawMessage {
	return scopeJSON(t, sdk.Scope{Kind: "organisation", Title: "Organisation coverage", Domain: "enterprise-attack",
		AttackVersion: "18.1", BaseURL: "https://aegis.example.test", GeneratedAt: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Summary: &sdk.ScopeSummary{Score: f(47.5), Techniques: 2, Tested: 1, FormulaVersion: 1, Platforms: []string{"Linux", "Windows"},
			Counts: map[string]int{"tests": 5, "validated": 5, "prevented": 1, "alerted": 3, "logged": 2, "none": 0}}})
}

func layerOf(t *testing.T, res *sdktest.ExportResult) (Layer, []byte) {
	t.Helper()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].MediaType != "application/json" {
		t.Fatalf("artifacts: %+v", res.Artifacts)
	}
	data := res.Artifacts[0].Data
	var l Layer
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return l, data
}

func cell(l Layer, id string) (Technique, bool) {
	for _, c := range l.Techniques {
		if c.TechniqueID == id {
			return c, true
		}
	}
	return Technique{}, false
}

func md(ms []Metadata, name string) string {
	for _, m := range ms {
		if m.Name == name {
			return m.Value
		}
	}
	return "<none>"
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, serveOpts())
}

// An organisation layer through the SDK's harness: valid 4.5, scores as sent, no
// score for the untested technique, no tactic where the score is the same in every
// tactic, counts and last validation in the metadata, links back to Aegis.
func TestScoreLayer(t *testing.T) {
	res := sdktest.RunExport(t, Exporter{}, sdk.ExportRequest{Type: "layer", Scope: orgScope(t)}, coverageRecords())
	l, data := layerOf(t, res)
	if err := layerspec.Validate(data, release); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if res.Artifacts[0].Name != "navigator-organisation.json" || strings.HasPrefix(strings.TrimSpace(string(data)), "[") {
		t.Errorf("name %s, one layer expected", res.Artifacts[0].Name)
	}
	if l.Versions != (Versions{Layer: "4.5", Navigator: DefaultNavigatorVersion, Attack: "18"}) || l.Domain != "enterprise-attack" {
		t.Errorf("versions %+v domain %s", l.Versions, l.Domain)
	}
	if l.Gradient.MinValue != 0 || l.Gradient.MaxValue != 100 || len(l.Legend) == 0 || l.Filters == nil ||
		strings.Join(l.Filters.Platforms, ",") != "Linux,Windows" {
		t.Errorf("gradient %+v legend %+v filters %+v", l.Gradient, l.Legend, l.Filters)
	}
	if len(l.Techniques) != 3 {
		t.Fatalf("techniques %+v", l.Techniques)
	}
	un, _ := cell(l, "T1003")
	if un.Score != nil || un.Tactic != "" || !strings.Contains(un.Comment, "2 test template(s)") {
		t.Errorf("untested: %+v", un)
	}
	p, _ := cell(l, "T1059")
	if p.Score == nil || *p.Score != 61.23456789 || !p.ShowSubtechniques || p.Tactic != "" || len(p.Links) != 1 ||
		p.Links[0].URL != "https://aegis.example.test/techniques/t1" {
		t.Errorf("parent: %+v", p)
	}
	s, _ := cell(l, "T1059.001")
	if *s.Score != 80 || md(s.Metadata, "tests") != "4" || md(s.Metadata, "prevented") != "1" || md(s.Metadata, "alerted") != "2" ||
		md(s.Metadata, "last validated") != "2026-06-30T00:00:00Z" || !strings.Contains(s.Comment, "last validated 2026-06-30") {
		t.Errorf("sub-technique: %+v", s)
	}
	if md(l.Metadata, "Score") != "47.5" || md(l.Metadata, "Tests alerted") != "3" || md(l.Metadata, "Last validation") != "2026-06-30T00:00:00Z" ||
		len(l.Links) != 1 || l.Links[0].URL != "https://aegis.example.test/matrix" {
		t.Errorf("layer metadata %+v links %+v", l.Metadata, l.Links)
	}
}

// A technique scored differently per tactic gets one entry per tactic, named by
// shortname; the status view colours without scores.
func TestTacticEntriesAndStatusLayers(t *testing.T) {
	recs := append(coverageRecords(), &sdk.TechniqueCoverage{TechniqueID: "T1078", Name: "Valid Accounts",
		Tactics: []string{"persistence", "credential-access"}, Status: sdk.CoveragePartial, Score: f(30),
		TacticScores: map[string]float64{"persistence": 30, "credential-access": 55}})
	res := sdktest.RunExport(t, Exporter{}, sdk.ExportRequest{Type: "layer", Scope: orgScope(t),
		Config: json.RawMessage(`{"views":["score","status"]}`)}, recs)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	data := res.Artifacts[0].Data
	if err := layerspec.Validate(data, release); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var layers []Layer
	if err := json.Unmarshal(data, &layers); err != nil || len(layers) != 2 {
		t.Fatalf("want an array of two layers: %v\n%s", err, data)
	}
	var per []Technique
	for _, c := range layers[0].Techniques {
		if c.TechniqueID == "T1078" {
			per = append(per, c)
		}
	}
	if len(per) != 2 || per[0].Tactic != "persistence" || *per[0].Score != 30 || per[1].Tactic != "credential-access" || *per[1].Score != 55 {
		t.Errorf("per-tactic entries: %+v", per)
	}
	for _, c := range layers[1].Techniques {
		if c.Score != nil || (c.TechniqueID == "T1059" && c.Color != statusColors[sdk.CoverageCovered]) || (c.TechniqueID == "T1003" && c.Color != "") {
			t.Errorf("status cell %+v", c)
		}
	}
	// The validator refuses a tactic the release does not have.
	if err := layerspec.Validate(data, layerspec.Release{Tactics: []string{"execution"}}); err == nil || !strings.Contains(err.Error(), `"persistence" is not a tactic shortname`) {
		t.Errorf("validator: %v", err)
	}
}

// A diff scope makes three layers in one file: the earlier snapshot, the later one and
// the change, whose scores are later minus earlier on a -100..100 gradient.
func TestDiffLayers(t *testing.T) {
	sc := scopeJSON(t, sdk.Scope{Kind: "diff", Base: "s1", ID: "s2", Name: "after", Title: "Coverage change from before to after",
		Domain: "enterprise-attack", AttackVersion: "18.1", GeneratedAt: time.Now(),
		Summary: &sdk.ScopeSummary{Score: f(50), Diff: &sdk.ScopeDiff{BaseName: "before", Name: "after", BaseScore: f(40), Score: f(50),
			ScoreChange: f(10), Improved: 1, Regressed: 1}}})
	recs := []sdk.Record{
		&sdk.TechniqueCoverage{TechniqueID: "T1059.001", Status: sdk.CoverageCovered, Score: f(80), Parent: "T1059",
			Change: &sdk.CoverageChange{Direction: sdk.ChangeImproved, BeforeStatus: sdk.CoveragePartial, BeforeScore: f(40), TestsChanged: 1}},
		&sdk.TechniqueCoverage{TechniqueID: "T1059.003", Status: sdk.CoverageNotCovered, Score: f(10), Parent: "T1059",
			Change: &sdk.CoverageChange{Direction: sdk.ChangeRegressed, BeforeStatus: sdk.CoverageCovered, BeforeScore: f(90)}},
		&sdk.TechniqueCoverage{TechniqueID: "T1566", Status: sdk.CoverageCovered, Score: f(60),
			Change: &sdk.CoverageChange{Direction: sdk.ChangeImproved, BeforeStatus: sdk.CoverageInProgress}},
		&sdk.TechniqueCoverage{TechniqueID: "T1003", Status: sdk.CoverageNotTested,
			Change: &sdk.CoverageChange{Direction: sdk.ChangeUnchanged, BeforeStatus: sdk.CoverageNotTested}},
	}
	res := sdktest.RunExport(t, Exporter{}, sdk.ExportRequest{Type: "layer", Scope: sc}, recs)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	data := res.Artifacts[0].Data
	if err := layerspec.Validate(data, release); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var layers []Layer
	if err := json.Unmarshal(data, &layers); err != nil || len(layers) != 3 {
		t.Fatalf("%v\n%s", err, data)
	}
	want := map[string][3]*float64{"T1059.001": {f(40), f(80), f(40)}, "T1059.003": {f(90), f(10), f(-80)}, "T1566": {nil, f(60), f(60)},
		"T1003": {nil, nil, nil}}
	for id, w := range want {
		for i := range layers {
			c, ok := cell(layers[i], id)
			if !ok || (c.Score == nil) != (w[i] == nil) || (c.Score != nil && *c.Score != *w[i]) {
				t.Errorf("layer %d %s: %+v, want %v", i, id, c, w[i])
			}
		}
	}
	if g := layers[2].Gradient; g.MinValue != -100 || g.MaxValue != 100 {
		t.Errorf("change gradient %+v", g)
	}
	if c, _ := cell(layers[2], "T1059.003"); !strings.Contains(c.Comment, "regressed: covered 90 → not covered 10") {
		t.Errorf("change comment %q", c.Comment)
	}
	if res.Artifacts[0].Name != "navigator-diff-s1-s2.json" || !strings.Contains(layers[0].Name, "before") || md(layers[2].Metadata, "Score change") != "10" {
		t.Errorf("names %s %s, metadata %+v", res.Artifacts[0].Name, layers[0].Name, layers[2].Metadata)
	}
}

// A rules scope scores each technique by its number of rules.
func TestRulesLayer(t *testing.T) {
	sc := scopeJSON(t, sdk.Scope{Kind: "rules", Title: "Detection rules", Domain: "enterprise-attack", GeneratedAt: time.Now()})
	recs := []sdk.Record{
		&sdk.DetectionRule{ExternalID: "r1", Title: "Whoami", Format: "sigma", Raw: "x", Level: "high", TechniqueIDs: []string{"T1033", "T1059"}},
		&sdk.DetectionRule{ExternalID: "r2", Title: "Cmd", Format: "sigma", Raw: "x", Level: "low", TechniqueIDs: []string{"T1059"}},
	}
	l, data := layerOf(t, sdktest.RunExport(t, Exporter{}, sdk.ExportRequest{Type: "layer", Scope: sc}, recs))
	if err := layerspec.Validate(data, release); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if c, _ := cell(l, "T1059"); c.Score == nil || *c.Score != 2 || md(c.Metadata, "high") != "1" || l.Gradient.MaxValue != 2 {
		t.Errorf("T1059 %+v gradient %+v", c, l.Gradient)
	}
}

func TestBadConfigAndViews(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"views":["heat"]}`:             `views[0] "heat" is not one of`,
		`{"colors":["red","#00ff00"]}`:   `colors[0] "red" is not #rrggbb`,
		`{"navigator_version":"latest"}`: `navigator_version "latest"`,
		`{"layers":["score"]}`:           `unknown field "layers"`,
		`{"views":["change"]}`:           "the change view needs a diff scope",
		`{"views":["rules"]}`:            "the rules view needs a rules scope",
	} {
		res := sdktest.RunExport(t, Exporter{}, sdk.ExportRequest{Type: "layer", Scope: orgScope(t), Config: json.RawMessage(cfg)}, coverageRecords())
		if res.Err == nil || !strings.Contains(res.Err.Error(), want) {
			t.Errorf("%s: %v, want %q", cfg, res.Err, want)
		}
	}
}

// The validator itself: each broken layer is refused with the field named.
func TestValidatorRefusesBrokenLayers(t *testing.T) {
	good := `{"name":"x","domain":"enterprise-attack","versions":{"layer":"4.5","navigator":"5.1.0"},` +
		`"gradient":{"colors":["#ff0000","#00ff00"],"minValue":0,"maxValue":100},"techniques":[{"techniqueID":"T1059","score":5}]}`
	if err := layerspec.Validate([]byte(good), release); err != nil {
		t.Fatal(err)
	}
	for bad, want := range map[string]string{
		strings.Replace(good, `"layer":"4.5"`, `"layer":"4.4"`, 1):                                                  "versions.layer",
		strings.Replace(good, `"score":5`, `"score":101`, 1):                                                        "outside the gradient",
		strings.Replace(good, `"score":5`, `"score":"5"`, 1):                                                        "score: must be a number",
		strings.Replace(good, `"T1059"`, `"T159"`, 1):                                                               "is not T#### or T####.###",
		strings.Replace(good, `"domain":"enterprise-attack",`, ``, 1):                                               "domain: required",
		strings.Replace(good, `"score":5`, `"score":5,"tactic":"defense-evasion"`, 1):                               "not a tactic shortname",
		strings.Replace(good, `"navigator":"5.1.0"`, `"navigator":"4.8"`, 1):                                        "versions.navigator",
		strings.Replace(good, `"name":"x",`, `"name":"x","links":[{"label":"a","url":"aegis/x"}],`, 1):              "absolute URL",
		strings.Replace(good, `"techniques"`, `"technique"`, 1):                                                     "not a field of layer format 4.5",
		strings.Replace(good, `"maxValue":100`, `"maxValue":0`, 1):                                                  "minValue 0 is not below maxValue 0",
		`[` + good + `,` + strings.Replace(good, `"colors":["#ff0000","#00ff00"]`, `"colors":["#ff0000"]`, 1) + `]`: "layer[1].gradient.colors",
	} {
		if err := layerspec.Validate([]byte(bad), release); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s\n  got %v, want %q", bad, err, want)
		}
	}
}
