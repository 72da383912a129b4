package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/synthetic"
)

// devCatalog migrates the database of the config in dir and writes a small ATT&CK
// catalog (2 tactics, 12 techniques with a sub-technique each) into it, the same ids in
// every call.
func devCatalog(t *testing.T, dir, cfg string) {
	t.Helper()
	run(t, "", "--config", cfg, "migrate", "up")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: store.SQLite, DSN: filepath.Join(dir, "data", "aegis.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fixed := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	err = st.Update(ctx, func(tx core.Tx) error {
		var tactics []string
		for i := 0; i < 2; i++ {
			ta := &core.Tactic{ID: fixed(900 + i), ExternalID: fmt.Sprintf("TA%04d", i+1), Name: fmt.Sprint("Tactic ", i),
				Shortname: fmt.Sprint("tactic-", i), Domain: "enterprise-attack", MatrixOrder: i}
			if err := tx.UpsertTactic(ctx, ta); err != nil {
				return err
			}
			tactics = append(tactics, ta.ID)
		}
		for i := 0; i < 12; i++ {
			ext := fmt.Sprintf("T%04d", 1000+i)
			p := &core.Technique{ID: fixed(i), ExternalID: ext, Name: "Technique " + ext, Platforms: []string{"Windows", "Linux"},
				Domains: []string{"enterprise-attack"}, Known: true, LastSeenRelease: "18.1"}
			if err := tx.UpsertTechnique(ctx, p); err != nil {
				return err
			}
			if err := tx.SetTechniqueTactics(ctx, p.ID, []string{tactics[i%2]}); err != nil {
				return err
			}
			s := &core.Technique{ID: fixed(100 + i), ExternalID: ext + ".001", Name: "Sub " + ext, Platforms: []string{"Windows"},
				Domains: []string{"enterprise-attack"}, Known: true, LastSeenRelease: "18.1", ParentID: &p.ID}
			if err := tx.UpsertTechnique(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// aegis dev seed writes the organisation its scale asks for, the same counts for the
// same seed in two databases, refuses a database that already holds tests or no
// catalog, and says what a bad --end should look like.
func TestDevSeed(t *testing.T) {
	seed := func(dir string, args ...string) synthetic.Result {
		t.Helper()
		cfg := filepath.Join(dir, "aegis.hcl")
		out := run(t, "", append([]string{"--config", cfg, "dev", "seed", "--end", "2026-11-29", "--json"}, args...)...)
		var res synthetic.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("--json printed %q: %v", out, err)
		}
		return res
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	for _, d := range []string{dirA, dirB} {
		devCatalog(t, d, writeConfig(t, d))
	}
	a := seed(dirA, "--scale", "0.01", "--seed", "7")
	want := synthetic.SizesAt(0.01)
	if a.Tests < want.Tests || a.Campaigns != want.Campaigns || a.Users != want.Users || a.Snapshots != synthetic.Weeks ||
		a.Votes == 0 || a.Retests == 0 || a.CampaignTests == 0 {
		t.Fatalf("scale 0.01: %+v, want at least %+v", a, want)
	}
	states := 0
	for _, n := range a.ByState {
		states += n
	}
	if states != a.Tests || len(a.ByState) != len(core.TestStates) {
		t.Errorf("by state %v: %d tests in %d states, want %d in %d", a.ByState, states, len(a.ByState), a.Tests, len(core.TestStates))
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(seed(dirB, "--scale", "0.01", "--seed", "7"))
	if string(ja) != string(jb) {
		t.Errorf("same seed, two databases:\n%s\n%s", ja, jb)
	}
	cfgA := filepath.Join(dirA, "aegis.hcl")
	if out, err := runErr(t, "", "--config", cfgA, "dev", "seed", "--scale", "0.01"); err == nil || !strings.Contains(err.Error(), "tests") {
		t.Errorf("second seed into the same database: %v\n%s", err, out)
	}
	if _, err := runErr(t, "", "--config", cfgA, "dev", "seed", "--end", "29/11/2026"); err == nil || !strings.Contains(err.Error(), "2026-11-29") {
		t.Errorf("bad --end: %v", err)
	}
	empty := t.TempDir()
	cfgE := writeConfig(t, empty)
	if _, err := runErr(t, "", "--config", cfgE, "dev", "seed", "--scale", "0.01"); err == nil || !strings.Contains(err.Error(), "import attack") {
		t.Errorf("seed without a catalog: %v", err)
	}
}
