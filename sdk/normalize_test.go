package sdk_test

import (
	"slices"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
)

func TestNormalizeTechniqueID(t *testing.T) {
	for in, want := range map[string]string{
		"T1059": "T1059", "t1059": "T1059", " T1059.001 ": "T1059.001", "t1059/001": "T1059.001",
		"attack.t1059.001": "T1059.001", "ATTACK.T1003": "T1003",
	} {
		if got, ok := sdk.NormalizeTechniqueID(in); !ok || got != want {
			t.Errorf("NormalizeTechniqueID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "T105", "T10590", "T1059.01", "TA0002", "attack.execution", "x T1059", "T1059.001.002"} {
		if got, ok := sdk.NormalizeTechniqueID(in); ok {
			t.Errorf("NormalizeTechniqueID(%q) = %q, want rejected", in, got)
		}
	}
	valid, invalid := sdk.NormalizeTechniqueIDs([]string{"t1059", "T1059", "bogus", " ", "T1003.001"})
	if !slices.Equal(valid, []string{"T1059", "T1003.001"}) || !slices.Equal(invalid, []string{"bogus"}) {
		t.Errorf("NormalizeTechniqueIDs = %v, %v", valid, invalid)
	}
	// What the helper returns, the record validator accepts.
	if err := (&sdk.TestTemplate{ExternalID: "x", Name: "x", TemplateType: sdk.TemplateCustom, TechniqueIDs: valid}).Validate(); err != nil {
		t.Errorf("normalised id rejected by Validate: %v", err)
	}
}

func TestNormalizeTacticID(t *testing.T) {
	if got, ok := sdk.NormalizeTacticID(" ta0002"); !ok || got != "TA0002" {
		t.Errorf("NormalizeTacticID = %q, %v", got, ok)
	}
	if _, ok := sdk.NormalizeTacticID("T1059"); ok {
		t.Error("a technique id taken for a tactic id")
	}
}

func TestNormalizeLevel(t *testing.T) {
	for in, want := range map[string]string{"Info": "informational", "MODERATE": "medium", " high ": "high", "critical": "critical", "low": "low"} {
		if got, ok := sdk.NormalizeLevel(in); !ok || got != want {
			t.Errorf("NormalizeLevel(%q) = %q, %v; want %q", in, got, ok, want)
		}
		lvl, _ := sdk.NormalizeLevel(in)
		r := &sdk.DetectionRule{ExternalID: "r", Title: "r", Format: sdk.RuleCustom, Query: "q", Level: lvl}
		if err := r.Validate(); err != nil {
			t.Errorf("level %q rejected by Validate: %v", lvl, err)
		}
	}
	if got, ok := sdk.NormalizeLevel("urgent"); ok {
		t.Errorf("NormalizeLevel(urgent) = %q, want unknown", got)
	}
	for score, want := range map[int]string{0: "low", 21: "low", 22: "medium", 47: "medium", 48: "high", 73: "high", 74: "critical", 100: "critical"} {
		if got, ok := sdk.LevelFromRiskScore(score); !ok || got != want {
			t.Errorf("LevelFromRiskScore(%d) = %q, want %q", score, got, want)
		}
	}
	if _, ok := sdk.LevelFromRiskScore(101); ok {
		t.Error("risk score 101 accepted")
	}
}
