package core_test

import (
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
)

func TestAssociate(t *testing.T) {
	tpls := []core.AssocTemplate{
		{ID: "atomic-ps", Techniques: []string{"T1059.001"}, Platforms: []string{"windows"}},
		{ID: "caldera-sh", Techniques: []string{"T1059.004"}, Platforms: []string{"linux", "darwin"}},
		{ID: "no-platform", Techniques: []string{"T1003"}},
	}
	rules := []core.AssocRule{
		{ID: "sigma-ps", Techniques: []string{"T1059.001"}, Platforms: []string{"windows"}},
		{ID: "sigma-parent", Techniques: []string{"T1059"}},                                  // any platform
		{ID: "elastic-mac", Techniques: []string{"T1059.004"}, Platforms: []string{"macOS"}}, // darwin ≡ macOS
		{ID: "sigma-linux-ps", Techniques: []string{"T1059.001"}, Platforms: []string{"linux"}},
		{ID: "sigma-cred", Techniques: []string{"T1003"}, Platforms: []string{"windows"}},
		{ID: "unrelated", Techniques: []string{"T1566"}, Platforms: []string{"windows"}},
	}
	got := map[string]string{}
	for _, l := range core.Associate(tpls, rules) {
		got[l.TemplateID+"|"+l.RuleID] = l.Reason
	}
	want := map[string]string{
		"atomic-ps|sigma-ps":      "shares T1059.001; both on windows",
		"atomic-ps|sigma-parent":  "covers T1059, the parent of T1059.001; the rule's log source names no platform",
		"caldera-sh|sigma-parent": "covers T1059, the parent of T1059.004",
		"caldera-sh|elastic-mac":  "shares T1059.004; both on macos",
		"no-platform|sigma-cred":  "shares T1003; the template names no platform",
	}
	if len(got) != len(want) {
		t.Errorf("got %d links, want %d: %v", len(got), len(want), got)
	}
	for k, w := range want {
		if !strings.HasPrefix(got[k], w) {
			t.Errorf("%s: reason %q, want prefix %q", k, got[k], w)
		}
	}
	if _, ok := got["atomic-ps|sigma-linux-ps"]; ok {
		t.Error("a Linux rule was linked to a Windows-only template")
	}
}

func TestPlatformFamily(t *testing.T) {
	for in, want := range map[string]string{"Windows": "windows", "darwin": "macos", "iaas:aws": "aws", "Azure AD": "azure", "Office 365": "m365", "plan9": ""} {
		if got := core.PlatformFamily(in); got != want {
			t.Errorf("PlatformFamily(%q) = %q, want %q", in, got, want)
		}
	}
}
