package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "cti"}

var run = runner.Run

func techniques(a *sdk.ThreatActor) map[string]string {
	m := map[string]string{}
	for _, t := range a.Techniques {
		m[t.TechniqueID] = t.Procedure
	}
	return m
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "cti", Version: version, Importers: map[string]sdk.Importer{"cti": &importer{}}})
}

func TestValidateConfig(t *testing.T) {
	imp := &importer{}
	for cfg, want := range map[string]string{
		`{}`: "",
		`{"domains":["ics-attack"],"include_revoked":true,"via_software":false,"via_campaigns":false,"taxii":{"collection":"ICS ATT&CK"}}`: "",
		`{"domains":["enterprise"]}`: `unknown ATT&CK domain "enterprise"`,
		`{"via_software":"yes"}`:     `config key "via_software": want true or false, got string`,
		`{"release_version":"18.1"}`: `config key "release_version": unknown key`,
	} {
		ds := imp.ValidateConfig(t.Context(), json.RawMessage(cfg))
		got := ""
		if len(ds) > 0 {
			got = ds[0].Summary + " " + ds[0].Detail
		}
		if (want == "") != (len(ds) == 0) || !strings.Contains(got, want) {
			t.Errorf("ValidateConfig(%s) = %v, want %q", cfg, ds, want)
		}
	}
	// A config problem points at its key, so the host can name config.<key>.
	ds := imp.ValidateConfig(t.Context(), json.RawMessage(`{"taxii":{"collection":7}}`))
	if len(ds) != 1 || ds[0].Attribute != "taxii.collection" {
		t.Errorf("ValidateConfig(wrong type) = %+v, want attribute taxii.collection", ds)
	}
}

// The fixture: Alpha (G0001) uses PowerShell directly, Alphaware (S0001)
// and a deprecated tool, and runs Operation Alpha (C0001); Beta (G0002) was
// revoked into Alpha; Gamma (G0003) is deprecated and has motivations, an
// origin and targets; Epsilon (G0004) uses T1105 without a procedure text;
// Delta has no ATT&CK id; G0006 has no name.
func TestBundle(t *testing.T) {
	res := runner.MustRun(t, "testdata/bundle/enterprise-attack.json", "")
	if got := strings.Join(res.IDs(sdk.KindThreatActor), ","); got != "G0001,G0003,G0004,intrusion-set--00000018-0000-4000-8000-000000000018" {
		t.Errorf("actors = %s", got)
	}
	if got := strings.Join(res.IDs(sdk.KindCampaign), ","); got != "C0001,C0002" {
		t.Errorf("campaigns = %s", got)
	}
	recs := res.ByKindID()
	alpha := recs["threat_actor/G0001"].(*sdk.ThreatActor)
	if alpha.Name != "Alpha" || strings.Join(alpha.Aliases, "|") != "Alpha Team" || alpha.URL != "https://attack.mitre.org/groups/G0001" ||
		alpha.STIXID != "intrusion-set--00000014-0000-4000-8000-000000000014" || len(alpha.References) != 1 || alpha.Revoked || alpha.Deprecated {
		t.Errorf("G0001 = %+v", alpha)
	}
	want := map[string]string{
		// direct, and also through software and a campaign
		"T1059.001": "[Alpha](https://attack.mitre.org/groups/G0001) has used PowerShell.\n\nVia software: Alphaware (S0001).\n\nVia campaign: Operation Alpha (C0001).",
		// only through software: Alphaware downloads files
		"T1105": "Via software: Alphaware (S0001).",
		// only through the campaign; the revoked campaign C0003 and the
		// deprecated tool (T1003) do not count
		"T1566": "Via campaign: Operation Alpha (C0001).",
	}
	if got := techniques(alpha); len(got) != len(want) || got["T1059.001"] != want["T1059.001"] || got["T1105"] != want["T1105"] || got["T1566"] != want["T1566"] {
		t.Errorf("G0001 techniques = %q", got)
	}
	if got := techniques(recs["threat_actor/G0004"].(*sdk.ThreatActor)); got["T1105"] != "Used directly (the source gives no procedure).\n\nVia software: Alphaware (S0001)." {
		t.Errorf("G0004 T1105 = %q", got["T1105"])
	}
	gamma := recs["threat_actor/G0003"].(*sdk.ThreatActor)
	if !gamma.Deprecated || gamma.Country != "IR" || strings.Join(gamma.Motivations, ",") != "ideology,espionage" ||
		strings.Join(gamma.Targets, ",") != "Energy,Germany" || gamma.Techniques != nil {
		t.Errorf("G0003 = %+v", gamma)
	}
	delta := recs["threat_actor/intrusion-set--00000018-0000-4000-8000-000000000018"].(*sdk.ThreatActor)
	if delta.Name != "Delta" || techniques(delta)["T1003"] != "Delta dumps credentials." {
		t.Errorf("Delta = %+v", delta)
	}

	c1 := recs["campaign/C0001"].(*sdk.Campaign)
	if c1.CampaignKind != sdk.CampaignAttack || strings.Join(c1.ActorIDs, ",") != "G0001" || strings.Join(c1.TechniqueIDs, ",") != "T1059.001,T1566" ||
		c1.FirstSeen.Format("2006-01-02") != "2020-01-01" || c1.LastSeen.Format("2006-01-02") != "2021-06-01" || c1.URL != "https://attack.mitre.org/campaigns/C0001" {
		t.Errorf("C0001 = %+v", c1)
	}
	// C0002 is attributed to the revoked Beta, which ATT&CK merged into Alpha.
	if c2 := recs["campaign/C0002"].(*sdk.Campaign); strings.Join(c2.ActorIDs, ",") != "G0001" || strings.Join(c2.TechniqueIDs, ",") != "T1105" {
		t.Errorf("C0002 = %+v", c2)
	}

	var got []string
	for _, d := range res.Diagnostics {
		got = append(got, d.String())
	}
	wantDiags := strings.Join([]string{
		"enterprise-attack.json:628: skipped malformed STIX object",
		"enterprise-attack.json:606: skipped uses relationship to a technique that is not in the source (G0001)",
		"enterprise-attack.json:617: skipped uses relationship to an attack-pattern without a technique id (G0001)",
		`enterprise-attack.json:288: skipped invalid threat_actor (G0006)`,
	}, "\n")
	if strings.Join(got, "\n") != wantDiags {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), wantDiags)
	}
	for _, in := range res.Incoming {
		if in.ExternalID == "G0001" && (in.File != "enterprise-attack.json" || in.Line != 146) {
			t.Errorf("G0001 at %s:%d", in.File, in.Line)
		}
	}
}

func TestOptions(t *testing.T) {
	res := runner.MustRun(t, "testdata/bundle/enterprise-attack.json", `{"via_software":false,"via_campaigns":false}`)
	alpha := res.ByKindID()["threat_actor/G0001"].(*sdk.ThreatActor)
	if got := techniques(alpha); len(got) != 1 || got["T1059.001"] != "[Alpha](https://attack.mitre.org/groups/G0001) has used PowerShell." {
		t.Errorf("direct only: %q", got)
	}

	res = runner.MustRun(t, "testdata/bundle/enterprise-attack.json", `{"include_revoked":true}`)
	if got := strings.Join(res.IDs(sdk.KindThreatActor), ","); !strings.HasPrefix(got, "G0001,G0002,G0003") {
		t.Errorf("actors with revoked = %s", got)
	}
	recs := res.ByKindID()
	beta := recs["threat_actor/G0002"].(*sdk.ThreatActor)
	if !beta.Revoked || techniques(beta)["T1003"] != "Beta dumped credentials." {
		t.Errorf("G0002 = %+v", beta)
	}
	if c := recs["campaign/C0003"].(*sdk.Campaign); !c.Revoked {
		t.Errorf("C0003 = %+v", c)
	}
	if c := recs["campaign/C0002"].(*sdk.Campaign); strings.Join(c.ActorIDs, ",") != "G0002" {
		t.Errorf("C0002 with revoked actors kept = %v", c.ActorIDs)
	}
}

func TestFolder20(t *testing.T) {
	res := runner.MustRun(t, "testdata/cti", "")
	if len(res.Records) != 1 || len(res.Diagnostics) != 0 {
		t.Fatalf("records %v, diagnostics %v", res.Records, res.Diagnostics)
	}
	a := res.Records[0].(*sdk.ThreatActor)
	if a.ExternalID != "G0007" || strings.Join(a.Aliases, ",") != "Example Panda" || techniques(a)["T1086"] != "APT Example used PowerShell." {
		t.Errorf("G0007 = %+v", a)
	}
	if in := res.Incoming[0]; in.File != "enterprise-attack/intrusion-set/intrusion-set--00000032-0000-4000-8000-000000000032.json" || in.Line != 6 {
		t.Errorf("position %s:%d", in.File, in.Line)
	}
}

func TestSourcesWithoutActors(t *testing.T) {
	res := run(t, "../attack/testdata/index/mobile-attack/mobile-attack-18.1.json", "")
	if res.Err == nil || !strings.Contains(res.Err.Error(), "no intrusion sets or campaigns") {
		t.Errorf("err = %v", res.Err)
	}
}

func TestDeterministic(t *testing.T) {
	if res := runner.Deterministic(t, "testdata/bundle/enterprise-attack.json", `{"include_revoked":true}`); res.Err != nil {
		t.Fatal(res.Err)
	}
}
