package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfmt"
	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "caldera"}

var run = runner.Run

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	stage    = "02de522f-7e0a-4544-8afc-0c195f400f5f"
	firewall = "92777481-42c0-4148-89a8-1cd6cc4db23d"
	whoami   = "c0da588f-79f0-4263-8998-7496b1a40596"
)

func TestImportShapes(t *testing.T) {
	res := run(t, "testdata/ok", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	var got []string
	for _, in := range res.Incoming {
		got = append(got, in.Kind+" "+in.ExternalID+" @"+in.File+":"+strconv.Itoa(in.Line))
	}
	want := []string{
		"test_template " + stage + " @data/abilities/collection/" + stage + ".yml:3",
		"test_template " + firewall + " @data/abilities/defense-evasion/" + firewall + ".yml:1",
		"test_template " + whoami + " @data/abilities/discovery/" + whoami + ".yml:1",
		"campaign ef4d997c-a0d1-4067-9efa-87c58682db71 @data/adversaries/ef4d997c-a0d1-4067-9efa-87c58682db71.yml:1",
		"campaign 1a98b8e6-18ce-4617-8cc5-e65a1a9d490e @data/adversaries/packs/1a98b8e6-18ce-4617-8cc5-e65a1a9d490e.yml:3",
		"campaign 5d3e170e-f1b8-49f9-9ee1-c51605552a08 @data/adversaries/packs/5d3e170e-f1b8-49f9-9ee1-c51605552a08.yml:1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	recs := res.ByKindID()

	// Old shape: comma-joined platform and executor keys become one executor
	// each, sorted by platform and name; payloads are merged and sorted.
	s := recs["test_template/"+stage].(*sdk.TestTemplate)
	find := "find / -name '*.pem' -exec cp {} /tmp/staged \\;\n"
	ps := "Get-ChildItem C:\\Users -Recurse -Include *.pem"
	wantEx := []sdk.Executor{
		{Name: "sh", Platform: "darwin", Command: find, Cleanup: "rm -rf /tmp/staged"},
		{Name: "sh", Platform: "linux", Command: find, Cleanup: "rm -rf /tmp/staged"},
		{Name: "cmd", Platform: "windows", Command: "dir /s C:\\Users\\*.pem"},
		{Name: "psh", Platform: "windows", Command: ps, Timeout: 120},
		{Name: "pwsh", Platform: "windows", Command: ps, Timeout: 120},
	}
	if s.TemplateType != sdk.TemplateCaldera || s.Name != "Find and stage files" || s.Tactic != "collection" ||
		strings.Join(s.TechniqueIDs, ",") != "T1005" || strings.Join(s.Platforms, ",") != "darwin,linux,windows" ||
		jsonOf(t, s.Executors) != jsonOf(t, wantEx) || strings.Join(s.Payloads, ",") != "finder.ps1,stager.sh" ||
		s.Metadata["technique_name"] != "Data from Local System" || s.Executor != (sdk.Executor{}) {
		t.Errorf("old shape = %s", jsonOf(t, s))
	}

	// New shape: whitespace around the id and technique trimmed, cleanup
	// list joined, privilege Elevated marks every executor.
	f := recs["test_template/"+firewall].(*sdk.TestTemplate)
	wantEx = []sdk.Executor{
		{Name: "sh", Platform: "linux", Command: "ufw disable", ElevationRequired: true},
		{Name: "psh", Platform: "windows", Command: "Set-NetFirewallProfile -Profile Domain,Public,Private -Enabled False",
			Cleanup:           "Set-NetFirewallProfile -Profile Domain -Enabled True\nSet-NetFirewallProfile -Profile Public,Private -Enabled True",
			ElevationRequired: true, Timeout: 60},
	}
	wantMeta := `{"buckets":["defense-evasion"],"plugin":"stockpile","privilege":"Elevated","repeatable":false,` +
		`"requirements":[{"plugins.stockpile.app.requirements.paw_provenance":[{"source":"host.user.name"}]}],` +
		`"singleton":true,"technique_name":"Impair Defenses: Disable or Modify System Firewall"}`
	if f.Tactic != "defense-evasion" || strings.Join(f.TechniqueIDs, ",") != "T1562.004" ||
		jsonOf(t, f.Executors) != jsonOf(t, wantEx) || len(f.Payloads) != 0 || jsonOf(t, f.Metadata) != wantMeta {
		t.Errorf("new shape = %s", jsonOf(t, f))
	}
	// Tactic names and technique ids are normalised.
	if w := recs["test_template/"+whoami].(*sdk.TestTemplate); w.Tactic != "discovery" || strings.Join(w.TechniqueIDs, ",") != "T1033" {
		t.Errorf("whoami = %s", jsonOf(t, w))
	}

	// Adversaries: atomic_ordering keeps order and repeats; an ability this
	// import lacks stays in the order with a warning; phases run in number
	// order; packs come before the profile's own abilities.
	h := recs["campaign/ef4d997c-a0d1-4067-9efa-87c58682db71"].(*sdk.Campaign)
	if h.Name != "Hunter" || h.Description != "Discover, then collect" || h.CampaignKind != sdk.CampaignAdversaryProfile ||
		strings.Join(h.TemplateIDs, ",") != whoami+",43b3754c-def4-4699-a673-1d85648fda6a,"+stage+","+whoami ||
		strings.Join(h.TechniqueIDs, ",") != "T1005,T1033" {
		t.Errorf("hunter = %s", jsonOf(t, h))
	}
	thief := recs["campaign/1a98b8e6-18ce-4617-8cc5-e65a1a9d490e"].(*sdk.Campaign)
	if strings.Join(thief.TemplateIDs, ",") != whoami+","+firewall+","+stage || strings.Join(thief.TechniqueIDs, ",") != "T1005,T1033,T1562.004" {
		t.Errorf("thief = %s", jsonOf(t, thief))
	}
	if p := recs["campaign/5d3e170e-f1b8-49f9-9ee1-c51605552a08"].(*sdk.Campaign); strings.Join(p.TemplateIDs, ",") != whoami+","+firewall+","+stage+","+firewall {
		t.Errorf("packs = %s", jsonOf(t, p))
	}
	// An ability the source lacks is not the plugin's to call missing: the core
	// resolves it against the catalog, which an earlier import may have filled.
	if got := testfmt.Diagnostics(res.Diagnostics); got != "" {
		t.Errorf("diagnostics:\n%s", got)
	}
	if last := res.Progress[len(res.Progress)-1]; last.Message != "3 abilities and 3 adversary profiles from 6 files" {
		t.Errorf("progress = %+v", last)
	}
}

func TestMalformedFilesAreWarnings(t *testing.T) {
	res := run(t, "testdata/malformed", "")
	if res.Err != nil {
		t.Fatalf("bad files must not fail the import: %v", res.Err)
	}
	var ids []string
	for _, r := range res.Records {
		ids = append(ids, r.ID())
	}
	if got := strings.Join(ids, ","); got != "noid,aaaaaaaa-0000-0000-0000-000000000001,aaaaaaaa-0000-0000-0000-000000000004,adv-a,adv-b,e" {
		t.Errorf("imported %s", got)
	}
	want := []string{
		"data/abilities/x/broken.yml:1: skipped unreadable file",
		"data/abilities/x/empty.yml:0: skipped empty file",
		"data/abilities/x/noid.yml:1 noid: ability has no id; using the file name noid",
		"data/abilities/x/scalar.yml:1: skipped file: not a list of abilities",
		"data/abilities/x/several.yml:1 aaaaaaaa-0000-0000-0000-000000000001: ability has no executors",
		`data/abilities/x/several.yml:4 aaaaaaaa-0000-0000-0000-000000000001: technique "TXXXX" ignored: not an ATT&CK technique id`,
		"data/abilities/x/several.yml:5 aaaaaaaa-0000-0000-0000-000000000001: platforms ignored: not a mapping of platform to executors",
		"data/abilities/x/several.yml:6: skipped ability 2: it has no id",
		"data/abilities/x/several.yml:11 aaaaaaaa-0000-0000-0000-000000000003: skipped ability: it has no name",
		`data/abilities/x/several.yml:15 aaaaaaaa-0000-0000-0000-000000000004: tactic "execution!" ignored: not a tactic name`,
		"data/abilities/x/several.yml:18 aaaaaaaa-0000-0000-0000-000000000004: executor ignored: not a mapping",
		"data/abilities/x/several.yml:21 aaaaaaaa-0000-0000-0000-000000000004: command ignored: it is a mapping",
		`data/abilities/x/several.yml:22 aaaaaaaa-0000-0000-0000-000000000004: timeout "soon" ignored: not a positive number of seconds`,
		"data/abilities/x/several.yml:23 aaaaaaaa-0000-0000-0000-000000000004: executor ignored: it names no platform or no executor",
		"data/abilities/x/several.yml:28 aaaaaaaa-0000-0000-0000-000000000004: second sh executor for linux ignored (first on line 19)",
		"data/abilities/x/several.yml:29: skipped ability 5: not a mapping",
		"data/adversaries/c.yml:1 adv-c: skipped adversary: it has no name",
		"data/adversaries/d.yml:1: skipped file: not an adversary profile",
		"data/adversaries/e.yml:1 e: adversary has no id; using the file name e",
		"data/adversaries/e.yml:3 e: atomic_ordering entry ignored: it names no id",
		"data/abilities/x/zdup.yml:1 aaaaaaaa-0000-0000-0000-000000000001: skipped ability with a duplicate id (first at data/abilities/x/several.yml:1)",
		"data/adversaries/a.yml:3 adv-a: packs lead back to the adversary (adv-a → adv-b → adv-a); the loop is cut",
		"data/adversaries/a.yml:3 adv-a: adversary names pack adv-missing, which this import does not have",
		"data/adversaries/b.yml:3 adv-b: packs lead back to the adversary (adv-b → adv-a → adv-b); the loop is cut",
	}
	if got := testfmt.Diagnostics(res.Diagnostics); got != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	recs := res.ByKindID()
	if a := recs["test_template/aaaaaaaa-0000-0000-0000-000000000001"].(*sdk.TestTemplate); a.Tactic != "lateral-movement" || len(a.TechniqueIDs) != 0 || len(a.Executors) != 0 {
		t.Errorf("bad technique = %s", jsonOf(t, a))
	}
	// The loop through packs is cut: each keeps its own abilities once.
	if b := recs["campaign/adv-b"].(*sdk.Campaign); strings.Join(b.TemplateIDs, ",") != "aaaaaaaa-0000-0000-0000-000000000001" {
		t.Errorf("adv-b = %s", jsonOf(t, b))
	}
}

func TestConfig(t *testing.T) {
	t.Run("abilities only", func(t *testing.T) {
		res := run(t, "testdata/ok", `{"adversaries":[]}`)
		// The adversary files are named as left out, and nothing else warns.
		want := []string{
			"data/adversaries/ef4d997c-a0d1-4067-9efa-87c58682db71.yml:0: file left out: matches none of the ability and adversary patterns **/abilities/**/*.yml, **/abilities/**/*.yaml",
			"data/adversaries/packs/1a98b8e6-18ce-4617-8cc5-e65a1a9d490e.yml:0: file left out: matches none of the ability and adversary patterns **/abilities/**/*.yml, **/abilities/**/*.yaml",
			"data/adversaries/packs/5d3e170e-f1b8-49f9-9ee1-c51605552a08.yml:0: file left out: matches none of the ability and adversary patterns **/abilities/**/*.yml, **/abilities/**/*.yaml",
		}
		if res.Err != nil || len(res.Records) != 3 || testfmt.Diagnostics(res.Diagnostics) != strings.Join(want, "\n") {
			t.Fatalf("%v %d %s", res.Err, len(res.Records), testfmt.Diagnostics(res.Diagnostics))
		}
	})
	t.Run("single ability file", func(t *testing.T) {
		res := run(t, "testdata/ok/data/abilities/discovery/"+whoami+".yml", "")
		if res.Err != nil || len(res.Records) != 1 || res.Records[0].Kind() != sdk.KindTestTemplate {
			t.Fatalf("%v %v", res.Err, res.Records)
		}
	})
	t.Run("single adversary file", func(t *testing.T) {
		res := run(t, "testdata/ok/data/adversaries/packs/1a98b8e6-18ce-4617-8cc5-e65a1a9d490e.yml", "")
		if res.Err != nil || len(res.Records) != 1 || res.Records[0].Kind() != sdk.KindCampaign || len(res.Warnings()) != 0 {
			t.Fatalf("%v %v\n%s", res.Err, res.Records, testfmt.Diagnostics(res.Diagnostics))
		}
	})
}

func TestFailures(t *testing.T) {
	cases := []struct{ name, src, cfg, want string }{
		{"missing source", "testdata/nope", "", "no such file"},
		{"no files", t.TempDir(), "", "no CALDERA ability or adversary files"},
		{"unknown config key", "testdata/ok", `{"ability":["x"]}`, `config key "ability": unknown key`},
		{"bad glob", "testdata/ok", `{"abilities":["[x"]}`, "bad glob"},
		{"nothing to import", "testdata/ok", `{"abilities":[],"adversaries":[]}`, "nothing to import"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
}

func TestDeterministic(t *testing.T) {
	runner.Deterministic(t, "testdata/ok", "")
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "caldera", Version: version, Importers: map[string]sdk.Importer{"caldera": &importer{}}})
}

func seeds(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/ok", "testdata/malformed")
	f.Add([]byte("- &a {id: x, name: y, platforms: {linux: {sh: *a}}}"))
	f.Add([]byte("<<: &m {id: x}\nname: merged\nphases: {1: [a], two: [b]}"))
}

// FuzzParseAbilityFile: no input panics the parser, and every ability it
// returns is a record the host accepts.
func FuzzParseAbilityFile(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		abilities, _ := parseAbilityFile("abilities/x/0.yml", data)
		for _, a := range abilities {
			if err := a.rec.Validate(); err != nil {
				t.Fatalf("invalid record: %v", err)
			}
			if _, err := json.Marshal(a.rec); err != nil {
				t.Fatalf("record does not encode: %v", err)
			}
		}
	})
}

// FuzzParseAdversaryFile: no input panics the parser or the pack expansion,
// and the campaign built from it is valid.
func FuzzParseAdversaryFile(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, _ := parseAdversaryFile("adversaries/0.yml", data)
		if a == nil {
			return
		}
		order := expand(a, map[string]*adversary{a.id: a}, nil, func(ref, string) {})
		c := &sdk.Campaign{ExternalID: a.id, Name: a.name, CampaignKind: sdk.CampaignAdversaryProfile}
		for _, r := range order {
			c.TemplateIDs = append(c.TemplateIDs, r.id)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("invalid campaign: %v", err)
		}
	})
}

// An adversary draws on abilities of other files: a re-import skips the source
// only when no file changed, was added or was deleted, and reads it whole otherwise.
func TestSkipsOnlyAWhollyUnchangedSource(t *testing.T) {
	ability := "data/abilities/discovery/" + whoami + ".yml"
	runner.SkipsOnlyWhollyUnchanged(t, "testdata/ok", "",
		sdktest.Edit{Name: "changed ability", Apply: func(dir string) {
			testfs.Replace(t, filepath.Join(dir, ability), "whoami", "id")
		}},
		sdktest.Edit{Name: "added ability", Apply: func(dir string) {
			testfs.CopyFile(t, filepath.Join(dir, ability), filepath.Join(dir, "data/abilities/discovery/copy.yml"))
		}},
		sdktest.Edit{Name: "deleted pack", Apply: func(dir string) {
			testfs.Remove(t, filepath.Join(dir, "data/adversaries/packs/5d3e170e-f1b8-49f9-9ee1-c51605552a08.yml"))
		}})
}

// A folder below abilities/ (stockpile/data/abilities/discovery) matched none of the
// default patterns, which all name an abilities/ or adversaries/ folder, and the run
// failed with "no CALDERA ability or adversary files". Its YAML files are read now,
// each told apart by content, and the run says the patterns were not used.
func TestFolderBelowAbilities(t *testing.T) {
	whole := run(t, "testdata/ok", "")
	res := run(t, "testdata/ok/data/abilities", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	want := 0
	for _, r := range whole.Incoming {
		if strings.HasPrefix(r.File, "data/abilities/") {
			want++
		}
	}
	if want == 0 || len(res.Records) != want {
		t.Fatalf("%d records from data/abilities, %d of the whole source's come from there", len(res.Records), want)
	}
	if got := strings.Join(testfmt.DiagnosticList(res.Diagnostics), "\n"); !strings.Contains(got, "no file matches the ability and adversary patterns") {
		t.Errorf("diagnostics = %s", got)
	}
}
