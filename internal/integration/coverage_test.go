package integration

import (
	"path/filepath"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
)

// TestCoverageOverRealData imports ATT&CK v18.1, its actors (direct uses only) and the
// NIST 800-53 mappings, then asks the coverage of every actor and every control: each
// answers, and each actor's technique count is its intrusion-set → attack-pattern uses
// in the files.
func TestCoverageOverRealData(t *testing.T) {
	dir := upstream(t, "mitre-cti")
	nist := upstream(t, "mappings-explorer")
	objs := attackObjects(t, filepath.Join(dir, "enterprise-attack"))
	uses := map[string]map[string]bool{} // group id → technique ids
	for _, o := range objs {
		if o.Type != "relationship" || o.RelType != "uses" || o.Revoked || o.Deprecated {
			continue
		}
		src, dst := objs[o.SourceRef], objs[o.TargetRef]
		if src == nil || dst == nil || src.Type != "intrusion-set" || src.Revoked || dst.Type != "attack-pattern" || !ctiTechniqueID.MatchString(dst.ext()) {
			continue
		}
		if uses[src.ext()] == nil {
			uses[src.ext()] = map[string]bool{}
		}
		uses[src.ext()][dst.ext()] = true
	}

	e := newEnv(t, map[string]string{"attack": `{"release_version":"18.1"}`, "cti": `{"via_software":false,"via_campaigns":false}`, "nist": ""})
	e.Import(t, "attack", dir)
	e.Import(t, "cti", dir)
	e.Import(t, "nist", nist)
	svc := coverage.New(e.Store, nil)

	var actors []*core.ThreatActor
	if err := e.Store.View(ctx, func(tx core.Tx) error {
		for off := 0; ; off += 500 {
			page, total, err := tx.ListThreatActors(ctx, core.ActorFilter{IncludeDeprecated: true, Page: core.Page{Limit: 500, Offset: off}})
			if err != nil {
				return err
			}
			actors = append(actors, page...)
			if off+500 >= total {
				return nil
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(actors) < 150 {
		t.Fatalf("only %d actors imported", len(actors))
	}
	for _, a := range actors {
		ac, err := svc.Actor(ctx, a.ID)
		if err != nil {
			t.Errorf("%s gaps: %v", a.ExternalID, err)
			continue
		}
		want := len(uses[a.ExternalID])
		if ac.Techniques != want || len(ac.Untested)+len(ac.NotCovered)+len(ac.Covered) != want {
			t.Errorf("%s (%s): %d techniques, the files say %d", a.ExternalID, a.Name, ac.Techniques, want)
		}
		if ac.Score.Score != nil {
			t.Errorf("%s scored %v with no test at all", a.ExternalID, *ac.Score.Score)
		}
	}
	if g, err := svc.Actor(ctx, "G0016"); err != nil || g.Techniques != len(uses["G0016"]) || g.Techniques < 20 {
		t.Errorf("APT29 by group id: %v, %+v", err, g)
	}

	fws, err := svc.Frameworks(ctx)
	if err != nil || len(fws) != 1 || fws[0].Mapped == 0 {
		t.Fatalf("frameworks: %v %+v", err, fws)
	}
	seen := 0
	for off := 0; ; off += 500 {
		page, total, err := svc.Controls(ctx, core.ControlFilter{FrameworkID: fws[0].ID, Page: core.Page{Limit: 500, Offset: off}})
		if err != nil {
			t.Fatalf("controls at %d: %v", off, err)
		}
		for _, c := range page {
			if c.Status == coverage.ControlCovered || (len(c.Techniques) > 0 && c.Status == coverage.ControlNotMapped) {
				t.Errorf("control %s: %s with %d techniques and no tests", c.ExternalID, c.Status, len(c.Techniques))
			}
			one, err := svc.Control(ctx, c.ID)
			if err != nil || len(one.Techniques) != len(c.Techniques) {
				t.Errorf("control %s alone: %v", c.ExternalID, err)
			}
		}
		seen += len(page)
		if off+500 >= total {
			if seen != total || total != fws[0].Controls {
				t.Fatalf("walked %d controls of %d (framework says %d)", seen, total, fws[0].Controls)
			}
			break
		}
	}
	m, err := svc.Matrix(ctx, coverage.MatrixQuery{})
	if err != nil || m.Release != "18.1" || len(m.Tactics) < 14 || m.Score.Score != nil || m.Score.Techniques < 200 {
		t.Fatalf("matrix: %v release %s tactics %d score %+v", err, m.Release, len(m.Tactics), m.Score)
	}
}
