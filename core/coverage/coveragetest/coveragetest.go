// Package coveragetest builds a small, fully known coverage fixture in a real store,
// for the tests of the coverage service, the campaigns and the HTTP layer.
package coveragetest

import (
	"context"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Now is the fixture's clock: every validation age is counted from it.
var Now = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

// Day parses a date of the fixture.
func Day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// Fixture holds the ids of what Seed made.
type Fixture struct {
	Tactics    map[string]*core.Tactic    // by external id
	Techniques map[string]*core.Technique // by ATT&CK id
	Templates  map[string]*core.TestTemplate
	Tests      map[string]*core.Test // by a short name
	Actors     map[string]*core.ThreatActor
	User       *core.User
}

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Seed writes the fixture of docs/SCORING.md's worked example:
//
//	TA0002 Execution: T1059 (Windows, Linux) with T1059.001 (Windows, Linux; 4 templates) and
//	    T1059.003 (Windows; 1 template); T1566 Phishing (Windows, Linux, macOS)
//	TA0006 Credential Access: T1003 (Windows), never tested
//
// and validated tests:
//
//	a: T1059.001 windows tpl-1, 2026-06-30, prevented + alerted
//	b: T1059.001 windows tpl-1, 2026-01-01, logged (superseded by a)
//	c: T1059.001 linux   tpl-2, 2025-06-30, logged
//	d: T1059.001 windows tpl-3, 2024-06-30, alerted
//	e: T1059.003 windows tpl-5, 2026-06-30, prevented + alerted + logged
//	f: T1566     windows (no template) 2026-06-30, alerted  — plus g, a draft on T1566
//
// Actors: G0001 uses T1059.001 and T1003; G0002 uses T1059.001 and T1566.
func Seed(t testing.TB, st core.Store) *Fixture {
	t.Helper()
	f := &Fixture{Tactics: map[string]*core.Tactic{}, Techniques: map[string]*core.Technique{}, Templates: map[string]*core.TestTemplate{},
		Tests: map[string]*core.Test{}, Actors: map[string]*core.ThreatActor{}}
	must(t, st.Update(ctx, func(tx core.Tx) error {
		f.User = &core.User{Username: "fixture-lead", Role: core.RoleRedLead, PasswordHash: "x"}
		if err := tx.CreateUser(ctx, f.User); err != nil {
			return err
		}
		for i, ta := range []struct{ ext, name, short string }{{"TA0002", "Execution", "execution"}, {"TA0006", "Credential Access", "credential-access"}} {
			x := &core.Tactic{ExternalID: ta.ext, Name: ta.name, Shortname: ta.short, Domain: "enterprise-attack", MatrixOrder: i + 1}
			if err := tx.UpsertTactic(ctx, x); err != nil {
				return err
			}
			f.Tactics[ta.ext] = x
		}
		for _, te := range []struct {
			ext, name, tactic string
			platforms         []string
		}{
			{"T1059", "Command and Scripting Interpreter", "TA0002", []string{"Windows", "Linux"}},
			{"T1059.001", "PowerShell", "TA0002", []string{"Windows", "Linux"}},
			{"T1059.003", "Windows Command Shell", "TA0002", []string{"Windows"}},
			{"T1566", "Phishing", "TA0002", []string{"Windows", "Linux", "macOS"}},
			{"T1003", "OS Credential Dumping", "TA0006", []string{"Windows"}},
		} {
			x := &core.Technique{ExternalID: te.ext, Name: te.name, Platforms: te.platforms, Domains: []string{"enterprise-attack"},
				Known: true, LastSeenRelease: "18.1", Source: "attack"}
			if p := core.ParentTechniqueID(te.ext); p != "" {
				x.ParentID = &f.Techniques[p].ID
			}
			if err := tx.UpsertTechnique(ctx, x); err != nil {
				return err
			}
			if err := tx.SetTechniqueTactics(ctx, x.ID, []string{f.Tactics[te.tactic].ID}); err != nil {
				return err
			}
			// As the ATT&CK import records what its release held.
			if err := tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: "enterprise-attack", Release: "18.1", TechniqueID: x.ID,
				TacticIDs: core.Strings{f.Tactics[te.tactic].ID}}); err != nil {
				return err
			}
			f.Techniques[te.ext] = x
		}
		for i, tp := range []struct{ name, tech, platform string }{
			{"tpl-1", "T1059.001", "windows"}, {"tpl-2", "T1059.001", "linux"}, {"tpl-3", "T1059.001", "windows"},
			{"tpl-4", "T1059.001", "windows"}, {"tpl-5", "T1059.003", "windows"},
		} {
			x := &core.TestTemplate{Source: "atomic", ExternalID: tp.name, Name: tp.name, Platforms: []string{tp.platform},
				TechniqueIDs: []string{tp.tech}, Active: true, Command: "echo " + tp.name}
			_ = i
			if err := tx.UpsertTestTemplate(ctx, x); err != nil {
				return err
			}
			f.Templates[tp.name] = x
		}
		for _, a := range []struct {
			ext, name string
			techs     []string
		}{{"G0001", "Alpha", []string{"T1059.001", "T1003"}}, {"G0002", "Bravo", []string{"T1059.001", "T1566"}}} {
			x := &core.ThreatActor{Source: "cti", ExternalID: a.ext, Name: a.name}
			for _, te := range a.techs {
				x.Techniques = append(x.Techniques, core.TechniqueLink{TechniqueID: te, Note: a.name + " uses " + te})
			}
			if err := tx.UpsertThreatActor(ctx, x); err != nil {
				return err
			}
			f.Actors[a.ext] = x
		}
		return nil
	}))
	yes := true
	for _, x := range []struct {
		name, tech, platform, tpl, day string
		p, a, l                        bool
	}{
		{"a", "T1059.001", "windows", "tpl-1", "2026-06-30", true, true, false},
		{"b", "T1059.001", "windows", "tpl-1", "2026-01-01", false, false, true},
		{"c", "T1059.001", "linux", "tpl-2", "2025-06-30", false, false, true},
		{"d", "T1059.001", "windows", "tpl-3", "2024-06-30", false, true, false},
		{"e", "T1059.003", "windows", "tpl-5", "2026-06-30", true, true, true},
		{"f", "T1566", "windows", "", "2026-06-30", false, true, false},
		{"g", "T1566", "windows", "", "", false, false, false},
	} {
		te := &core.Test{Title: "test " + x.name, TechniqueID: f.Techniques[x.tech].ID, Platform: x.platform, Procedure: "procedure " + x.name,
			CreatedBy: &f.User.ID}
		if x.tpl != "" {
			te.TemplateID = &f.Templates[x.tpl].ID
		}
		if x.day != "" {
			at := Day(x.day)
			exec := at.Add(-2 * time.Hour)
			te.State, te.ValidatedAt, te.ExecutedAt = core.StateValidated, &at, &exec
			no := false
			te.Prevented, te.Alerted, te.Logged = &no, &no, &no
			if x.p {
				te.Prevented = &yes
			}
			if x.a {
				te.Alerted = &yes
				alertAt := exec.Add(30 * time.Minute)
				te.AlertedAt = &alertAt
			}
			if x.l {
				te.Logged = &yes
			}
		}
		must(t, st.Update(ctx, func(tx core.Tx) error { return tx.CreateTest(ctx, te) }))
		f.Tests[x.name] = te
	}
	return f
}

// Update applies fn to a test and stores it.
func (f *Fixture) Update(t testing.TB, st core.Store, name string, fn func(te *core.Test)) {
	t.Helper()
	te := f.Tests[name]
	fn(te)
	must(t, st.Update(ctx, func(tx core.Tx) error { return tx.UpdateTest(ctx, te) }))
}
