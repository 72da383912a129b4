package api_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/reference"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// seedReference adds one of each imported reference kind around the coverage fixture.
func seedReference(t *testing.T, st *store.Store) {
	t.Helper()
	jan, feb := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	err := st.Update(bg, func(tx core.Tx) error {
		for _, x := range []error{
			tx.UpsertMitigation(bg, &core.Mitigation{ExternalID: "M1042", Name: "Disable or Remove Feature", Source: "attack",
				Techniques: []core.TechniqueLink{{TechniqueID: "T1059.001", Note: "remove PowerShell"}}}),
			tx.UpsertMitigation(bg, &core.Mitigation{ExternalID: "M1017", Name: "User Training", Source: "attack",
				Techniques: []core.TechniqueLink{{TechniqueID: "T1566"}}}),
			tx.UpsertCampaignProfile(bg, &core.CampaignProfile{Source: "cti", ExternalID: "C0001", Kind: "attack_campaign", Name: "Operation One",
				ActorIDs: []string{"G0001"}, TechniqueIDs: []string{"T1059.001", "T1003"}}),
			tx.UpsertCampaignProfile(bg, &core.CampaignProfile{Source: "caldera", ExternalID: "adv-1", Kind: "adversary_profile", Name: "Thief",
				TemplateIDs: []string{"tpl-1"}, TechniqueIDs: []string{"T1059.001"}}),
			tx.UpsertDefensiveTechnique(bg, &core.DefensiveTechnique{ExternalID: "D3-SEA", Name: "Script Execution Analysis", Tactic: "Detect", Source: "d3fend",
				Mappings: []core.TechniqueLink{{TechniqueID: "T1059.001", Relation: "analyzes", Via: "d3f:Script"}}}),
			tx.UpsertIntelItem(bg, &core.IntelItem{Source: "intel", ExternalID: "i1", Title: "Alpha uses PowerShell", PublishedAt: &jan,
				TechniqueIDs: []string{"T1059.001"}, GroupIDs: []string{"G0001"}}),
			tx.UpsertIntelItem(bg, &core.IntelItem{Source: "intel", ExternalID: "i2", Title: "Phishing wave", PublishedAt: &feb,
				TechniqueIDs: []string{"T1566", "T1059.001"}}),
		} {
			if x != nil {
				return x
			}
		}
		fw := &core.ComplianceFramework{Source: "nist", ExternalID: "nist-800-53-rev5", Name: "NIST SP 800-53 rev5"}
		if err := tx.UpsertComplianceFramework(bg, fw); err != nil {
			return err
		}
		for _, c := range []*core.ComplianceControl{
			{FrameworkID: fw.ID, ExternalID: "CM-7", Family: "CM", Title: "Least Functionality", Source: "nist",
				Mappings: []core.TechniqueLink{{TechniqueID: "T1059.001"}, {TechniqueID: "T1059.003"}}},
			{FrameworkID: fw.ID, ExternalID: "AT-2", Family: "AT", Title: "Literacy Training", Source: "nist",
				Mappings: []core.TechniqueLink{{TechniqueID: "T1566"}, {TechniqueID: "T1003"}}},
			{FrameworkID: fw.ID, ExternalID: "PL-1", Family: "PL", Title: "Policy", Source: "nist"},
		} {
			if err := tx.UpsertComplianceControl(bg, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The ?technique= filters take an ATT&CK id as people type it (any case, spaces around:
// core.TechniqueFilterID, the rule GET /techniques/:id follows too).
func TestReferenceReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		coveragetest.Seed(t, st)
		seedReference(t, st)
		h := api.New(api.ServicesFor(st, api.Deps{})).Handler()
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		c := apitest.Login(t, h, "viewer", "")

		var actors api.Paged[*core.ThreatActor]
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors?technique=%20t1566%20", nil, &actors)
		if actors.Total != 1 || actors.Items[0].ExternalID != "G0002" || len(actors.Items[0].Techniques) != 2 {
			t.Fatalf("actors using T1566: %+v", actors)
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors?technique=T1059", nil, &actors)
		if actors.Total != 2 {
			t.Fatalf("T1059 includes its sub-techniques' actors: %d", actors.Total)
		}
		var actor reference.ActorDetail
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/g0001", nil, &actor)
		if actor.Name != "Alpha" || len(actor.Techniques) != 2 || actor.Techniques[1].Note != "Alpha uses T1059.001" ||
			len(actor.Campaigns) != 1 || actor.Campaigns[0].ExternalID != "C0001" {
			t.Fatalf("actor detail: %+v", actor)
		}
		c.Want(http.StatusNotFound, http.MethodGet, "/api/v1/threat-actors/G9999", nil, nil)

		// The lean index: every actor, by name, with a technique count instead of the
		// techniques and their procedure texts.
		var index []map[string]any
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/index", nil, &index)
		if len(index) != 2 || index[0]["name"] != "Alpha" || index[0]["external_id"] != "G0001" || index[0]["technique_count"] != 2.0 {
			t.Fatalf("actor index: %+v", index)
		}
		for _, k := range []string{"techniques", "description", "references"} {
			if _, ok := index[0][k]; ok {
				t.Fatalf("the actor index carries %q: %+v", k, index[0])
			}
		}
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/threat-actors/index?include_deprecated=maybe", nil, nil)

		var profiles api.Paged[*core.CampaignProfile]
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/campaign-profiles?kind=adversary_profile", nil, &profiles)
		if profiles.Total != 1 || profiles.Items[0].Name != "Thief" {
			t.Fatalf("profiles: %+v", profiles)
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/campaign-profiles?actor=G0001", nil, &profiles)
		if profiles.Total != 1 || profiles.Items[0].ExternalID != "C0001" {
			t.Fatalf("profiles of G0001: %+v", profiles)
		}
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/campaign-profiles?kind=bogus", nil, nil)

		var mits api.Paged[*core.Mitigation]
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/mitigations?technique=t1059%20", nil, &mits)
		if mits.Total != 1 || mits.Items[0].ExternalID != "M1042" {
			t.Fatalf("mitigations of T1059: %+v", mits)
		}
		var mit core.Mitigation
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/mitigations/"+mits.Items[0].ID, nil, &mit)
		if len(mit.Techniques) != 1 || mit.Techniques[0].Note != "remove PowerShell" {
			t.Fatalf("mitigation detail: %+v", mit)
		}

		var defs api.Paged[*core.DefensiveTechnique]
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/defenses?technique=%20t1059.001", nil, &defs)
		if defs.Total != 1 || defs.Items[0].Mappings[0].Relation != "analyzes" {
			t.Fatalf("defences of T1059.001: %+v", defs)
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/defenses?technique=T1566", nil, &defs)
		if defs.Total != 0 {
			t.Fatalf("defences of T1566: %d", defs.Total)
		}

		var intel api.Paged[*core.IntelItem]
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/intel?technique=%20t1059.001", nil, &intel)
		if intel.Total != 2 || intel.Items[0].ExternalID != "i2" {
			t.Fatalf("intel newest first: %+v", intel)
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/intel?actor=G0001&since=2026-01-01T00:00:00Z", nil, &intel)
		if intel.Total != 1 || intel.Items[0].ExternalID != "i1" {
			t.Fatalf("intel of G0001: %+v", intel)
		}
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/intel?since=yesterday", nil, nil)
		var sum core.IntelSummary
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/intel/summary", nil, &sum)
		if sum.Total != 2 || len(sum.ByMonth) != 2 || sum.ByMonth[0].Name != "2026-01" || sum.Techniques[0].Name != "T1059.001" || sum.Techniques[0].Count != 2 {
			t.Fatalf("intel summary: %+v", sum)
		}

	})
}

// TestActorAndComplianceCoverage checks the actor and control answers against the
// fixture's scores (see core/coverage's TestScoresHandComputed for their arithmetic).
func TestActorAndComplianceCoverage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		coveragetest.Seed(t, st)
		seedReference(t, st)
		h := api.New(api.ServicesAt(st, func() time.Time { return coveragetest.Now }, api.Deps{})).Handler()
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		c := apitest.Login(t, h, "viewer", "")
		const ps, cmd, phish = 31.28125, 100.0, 27.0

		// G0001 uses T1059.001 and T1003, both in its campaign C0001: weight 2 each.
		var ac coverage.ActorCoverage
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/G0001/coverage", nil, &ac)
		if ac.Techniques != 2 || !near(ac.Score.Score, 2*ps/4) || !near(ac.Score.TestedScore, ps) ||
			len(ac.Covered) != 1 || ac.Covered[0].TechniqueID != "T1059.001" || ac.Covered[0].Weight != 2 ||
			len(ac.Untested) != 1 || ac.Untested[0].TechniqueID != "T1003" || ac.Untested[0].Procedure != "Alpha uses T1003" {
			t.Fatalf("G0001 coverage: %+v", ac)
		}
		// T1059.001: gap 68.71875 × 2 actors × (1 + 4 templates) / 100; T1003: 100 × 1 × 1 / 100.
		var next []coverage.NextTest
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/G0001/next", nil, &next)
		if len(next) != 2 || next[0].Key != "T1059.001" || !near(&next[0].Priority, (100-ps)*2*5/100) || next[0].Actors != 2 ||
			len(next[0].Suggested) != 3 || next[0].Suggested[0].Name != "tpl-1" || next[1].Key != "T1003" || !near(&next[1].Priority, 1) {
			t.Fatalf("next for G0001: %+v", next)
		}
		var cmp coverage.Comparison
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/threat-actors/compare?ids=G0001,g0002", nil, &cmp)
		if len(cmp.Actors) != 2 || len(cmp.Techniques) != 3 || cmp.Techniques[0].TechniqueID != "T1059.001" ||
			len(cmp.Techniques[0].UsedBy) != 2 || !near(cmp.Actors[1].Score.Score, (ps+phish)/2) {
			t.Fatalf("comparison: %+v", cmp)
		}
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/threat-actors/compare?ids=G0001", nil, nil)

		var fws []coverage.FrameworkCoverage
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/frameworks", nil, &fws)
		if len(fws) != 1 || fws[0].Controls != 3 || fws[0].Mapped != 2 || fws[0].Statuses[coverage.ControlCovered] != 1 ||
			fws[0].Statuses[coverage.ControlPartial] != 1 || fws[0].Statuses[coverage.ControlNotMapped] != 1 ||
			!near(fws[0].Score.Score, ((ps+cmd)/2+phish/2)/2) {
			t.Fatalf("frameworks: %+v", fws)
		}
		var fw coverage.FrameworkCoverage
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/frameworks/"+fws[0].ID, nil, &fw)
		if len(fw.Families) != 3 || fw.Families[0].Family != "AT" {
			t.Fatalf("families: %+v", fw.Families)
		}
		var controls api.Paged[*coverage.ControlCoverage]
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/controls?technique=%20t1003", nil, &controls)
		if controls.Total != 1 {
			t.Fatalf("controls of T1003: %+v", controls)
		}
		at2 := controls.Items[0]
		// Decoding into controls again reuses its items' pointers, at2 among them.
		at2ID := at2.ID
		if at2.ExternalID != "AT-2" || at2.Status != coverage.ControlPartial || len(at2.Gaps) != 1 || at2.Gaps[0].TechniqueID != "T1003" ||
			!near(at2.Score.Score, phish/2) {
			t.Fatalf("AT-2: %+v", at2)
		}
		// The status filter: rated before the page is cut, so the total counts only matches.
		for status, want := range map[string]string{coverage.ControlPartial: "AT-2", coverage.ControlNotMapped: "", coverage.ControlCovered: ""} {
			var controls api.Paged[*coverage.ControlCoverage] // fresh: at2 points into the first answer
			c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/controls?framework="+fws[0].ID+"&status="+status, nil, &controls)
			if controls.Total != 1 || len(controls.Items) != 1 || controls.Items[0].Status != status || (want != "" && controls.Items[0].ExternalID != want) {
				t.Fatalf("controls with status %s: %+v", status, controls)
			}
		}
		controls = api.Paged[*coverage.ControlCoverage]{}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/controls?status=untested", nil, &controls)
		if controls.Total != 0 || len(controls.Items) != 0 {
			t.Fatalf("untested controls: %+v", controls)
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/controls?status=partial&offset=1", nil, &controls)
		if controls.Total != 1 || len(controls.Items) != 0 {
			t.Fatalf("partial controls past the first: %+v", controls)
		}
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/compliance/controls?status=green", nil, nil)
		var one coverage.ControlCoverage
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/compliance/controls/"+at2ID, nil, &one)
		if one.ExternalID != "AT-2" || len(one.Techniques) != 2 {
			t.Fatalf("control detail: %+v", one)
		}
	})
}

func near(p *float64, want float64) bool { return p != nil && math.Abs(*p-want) < 1e-9 }
