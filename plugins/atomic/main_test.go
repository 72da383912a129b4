package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfmt"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

var runner = &sdktest.Runner{Importer: &importer{}, Type: "atomic"}

var run = runner.Run

func templates(t *testing.T, res *sdktest.ImportResult) map[string]*sdk.TestTemplate {
	t.Helper()
	out := map[string]*sdk.TestTemplate{}
	for _, r := range res.Records {
		out[r.ID()] = r.(*sdk.TestTemplate)
	}
	return out
}

func TestImportShapes(t *testing.T) {
	res := run(t, "testdata/ok", "")
	if res.Err != nil {
		t.Fatalf("import: %v", res.Err)
	}
	var ids []string
	for _, in := range res.Incoming {
		ids = append(ids, in.ExternalID+"@"+in.File+":"+strconv.Itoa(in.Line))
	}
	// src/ and Indexes/ files are not technique files and are not read.
	want := "0be2230c-9ab3-4ac2-8826-3199b9a0ebf8@atomics/T1003.001/T1003.001.yaml:4," +
		"dea6c349-f1c6-44f3-87a1-1ed33a59a607@atomics/T1003.001/T1003.001.yaml:43," +
		"atomic:T1059:1@atomics/T1059/T1059.yaml:5," +
		"5f7b6c2e-0c1a-4a8e-9a4b-7e2f3c1d9b10@atomics/T1059/T1059.yaml:12"
	if got := strings.Join(ids, ","); got != want {
		t.Errorf("records:\n%s\nwant:\n%s", got, want)
	}
	// The files it does not read are named, with why.
	pats := "**/T[0-9][0-9][0-9][0-9].yaml, **/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yaml, **/T[0-9][0-9][0-9][0-9].yml, **/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yml"
	if got, want := testfmt.Diagnostics(res.Diagnostics), "atomics/Indexes/index.yaml:0: file left out: matches none of the file patterns "+pats+"\n"+
		"atomics/T1003.001/src/T1003.001-helper.yaml:0: file left out: matches none of the file patterns "+pats+"\n"+
		"atomics/T1059/T1059.yaml:5 atomic:T1059:1: test has no auto_generated_guid; using the derived id atomic:T1059:1"; got != want {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	tpl := templates(t, res)

	// A full test: GUID lower-cased, executor, arguments sorted by name with
	// their types lower-cased and defaults as written, dependencies.
	p := tpl["0be2230c-9ab3-4ac2-8826-3199b9a0ebf8"]
	if p.Name != "Dump LSASS with ProcDump" || p.TemplateType != sdk.TemplateAtomic ||
		p.Description != "Dumps lsass.exe with ProcDump.\n\nLook for c:\\windows\\temp\\lsass_dump.dmp." ||
		strings.Join(p.TechniqueIDs, ",") != "T1003.001" || strings.Join(p.Platforms, ",") != "windows" {
		t.Errorf("procdump = %+v", p)
	}
	wantEx := sdk.Executor{Name: "command_prompt", Command: "\"#{procdump_exe}\" -accepteula -ma lsass.exe #{output_file}\n",
		Cleanup: "del \"#{output_file}\" >nul 2> nul\n", ElevationRequired: true}
	if p.Executor != wantEx {
		t.Errorf("executor = %+v", p.Executor)
	}
	wantArgs := []sdk.InputArgument{
		{Name: "output_file", Description: "Path where resulting dump should be placed", Type: "path", Default: `C:\Windows\Temp\lsass_dump.dmp`},
		{Name: "procdump_exe", Description: "Path of Procdump executable", Type: "path", Default: `PathToAtomicsFolder\..\ExternalPayloads\procdump.exe`},
		{Name: "ratio", Description: "Unset default", Type: "float"},
		{Name: "retries", Description: "How often to retry", Type: "integer", Default: "3"},
	}
	if got, _ := json.Marshal(p.InputArguments); !bytes.Equal(got, mustJSON(t, wantArgs)) {
		t.Errorf("input arguments = %s", got)
	}
	if p.DependencyExecutor != "powershell" || len(p.Dependencies) != 1 ||
		p.Dependencies[0].Description != "ProcDump must exist at #{procdump_exe}" ||
		p.Dependencies[0].PrereqCommand != "if (Test-Path \"#{procdump_exe}\") {exit 0} else {exit 1}\n" ||
		!strings.HasPrefix(p.Dependencies[0].GetPrereqCommand, "Invoke-WebRequest") {
		t.Errorf("dependencies = %s %+v", p.DependencyExecutor, p.Dependencies)
	}
	if p.Metadata["display_name"] != "OS Credential Dumping: LSASS Memory" || p.Metadata["test_number"] != float64(1) {
		t.Errorf("metadata = %v", p.Metadata)
	}

	// A manual test keeps its steps and an executor named manual.
	m := tpl["dea6c349-f1c6-44f3-87a1-1ed33a59a607"]
	if m.Executor != (sdk.Executor{Name: "manual"}) || !strings.HasPrefix(m.ManualSteps, "1. Open Task Manager:\n") ||
		!strings.HasSuffix(m.ManualSteps, `choose "Create Dump File".`) {
		t.Errorf("manual = %+v", m)
	}

	// No GUID: a derived id; platforms lower-cased, de-duplicated, sorted;
	// "no" read as false; the technique upper-cased.
	d := tpl["atomic:T1059:1"]
	if strings.Join(d.TechniqueIDs, ",") != "T1059" || strings.Join(d.Platforms, ",") != "linux,macos" ||
		d.Executor != (sdk.Executor{Name: "sh", Command: "echo hello"}) || d.Metadata["derived_id"] != true {
		t.Errorf("derived = %+v", d)
	}
	// A command written as a list is joined with newlines.
	if c := tpl["5f7b6c2e-0c1a-4a8e-9a4b-7e2f3c1d9b10"]; c.Executor.Command != "aws sts get-caller-identity\naws s3 ls" ||
		strings.Join(c.Platforms, ",") != "iaas:aws" || c.Description != "" {
		t.Errorf("cloud = %+v", c)
	}
	if last := res.Progress[len(res.Progress)-1]; last.Done != 2 || last.Total != 2 || last.Message != "4 atomic tests from 2 files" {
		t.Errorf("progress = %+v", last)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMalformedFilesAreWarnings(t *testing.T) {
	res := run(t, "testdata/malformed", "")
	if res.Err != nil {
		t.Fatalf("bad files must not fail the import: %v", res.Err)
	}
	var ids []string
	for _, r := range res.Records {
		ids = append(ids, r.ID()+"="+strings.Join(r.(*sdk.TestTemplate).TechniqueIDs, ","))
	}
	if got := strings.Join(ids, " "); got != "11111111-1111-1111-1111-111111111111=T1003 66666666-6666-6666-6666-666666666666=T1006" {
		t.Errorf("imported %s", got)
	}
	want := []string{
		"atomics/custom/tests.yaml:0: file left out: matches none of the file patterns **/T[0-9][0-9][0-9][0-9].yaml, **/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yaml, **/T[0-9][0-9][0-9][0-9].yml, **/T[0-9][0-9][0-9][0-9].[0-9][0-9][0-9].yml",
		"atomics/T1001/T1001.yaml:3: skipped unreadable file",
		"atomics/T1002/T1002.yaml:1: skipped file: not an atomic technique file",
		"atomics/T1003/T1003.yaml:1: attack_technique missing or invalid; using T1003 from the file name",
		"atomics/T1003/T1003.yaml:8 11111111-1111-1111-1111-111111111111: input_arguments ignored: not a mapping",
		"atomics/T1003/T1003.yaml:12 11111111-1111-1111-1111-111111111111: elevation_required is not a boolean; treated as false",
		"atomics/T1003/T1003.yaml:13 22222222-2222-2222-2222-222222222222: skipped test 2: it has no executor",
		"atomics/T1003/T1003.yaml:19 33333333-3333-3333-3333-333333333333: skipped test 3: its executor has no name",
		"atomics/T1003/T1003.yaml:20 44444444-4444-4444-4444-444444444444: skipped test 4: it has no name",
		"atomics/T1003/T1003.yaml:24: skipped test 5: not a mapping",
		"atomics/T1003/T1003.yaml:25 11111111-1111-1111-1111-111111111111: skipped test with a duplicate id (first at atomics/T1003/T1003.yaml:4)",
		"atomics/T1004/T1004.yaml:0: skipped empty file",
		"atomics/T1005/T1005.yaml:2: skipped file: atomic_tests is not a list",
	}
	if got := testfmt.Diagnostics(res.Diagnostics); got != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	for _, d := range res.Diagnostics {
		if d.Severity != sdk.SeverityWarning {
			t.Errorf("not a warning: %v", d)
		}
	}
	if !strings.Contains(res.Diagnostics[1].Detail, "line 3") {
		t.Errorf("parse error detail = %q", res.Diagnostics[1].Detail)
	}
}

func TestConfig(t *testing.T) {
	t.Run("platforms filter", func(t *testing.T) {
		res := run(t, "testdata/ok", `{"platforms":["MacOS","iaas:aws"]}`)
		var ids []string
		for _, r := range res.Records {
			ids = append(ids, r.ID())
		}
		if res.Err != nil || strings.Join(ids, ",") != "atomic:T1059:1,5f7b6c2e-0c1a-4a8e-9a4b-7e2f3c1d9b10" {
			t.Fatalf("%v %v", res.Err, ids)
		}
		if last := res.Progress[len(res.Progress)-1]; !strings.Contains(last.Message, "2 left out by the platforms filter") {
			t.Errorf("progress = %+v", last)
		}
	})
	t.Run("custom files without a technique", func(t *testing.T) {
		res := run(t, "testdata/malformed", `{"files":["atomics/custom/*.yaml"]}`)
		var want []string
		for _, n := range []string{"1", "2", "3", "4", "5", "6"} {
			want = append(want, "atomics/T100"+n+"/T100"+n+".yaml:0: file left out: matches none of the file patterns atomics/custom/*.yaml")
		}
		want = append(want, "atomics/custom/tests.yaml:1: skipped file: no valid attack_technique")
		if res.Err != nil || len(res.Records) != 0 || testfmt.Diagnostics(res.Diagnostics) != strings.Join(want, "\n") {
			t.Fatalf("%v %d\n%s", res.Err, len(res.Records), testfmt.Diagnostics(res.Diagnostics))
		}
	})
	t.Run("single file", func(t *testing.T) {
		res := run(t, "testdata/ok/atomics/T1059/T1059.yaml", "")
		if res.Err != nil || len(res.Records) != 2 || res.Incoming[0].File != "T1059.yaml" {
			t.Fatalf("%v %d", res.Err, len(res.Records))
		}
	})
}

func TestFailures(t *testing.T) {
	cases := []struct{ name, src, cfg, want string }{
		{"missing source", "testdata/nope", "", "no such file"},
		{"no technique files", t.TempDir(), "", "no Atomic Red Team technique files"},
		{"unknown config key", "testdata/ok", `{"file":["x"]}`, `config key "file": unknown key`},
		{"bad glob", "testdata/ok", `{"files":["[x"]}`, "bad glob"},
		{"empty platform", "testdata/ok", `{"platforms":[" "]}`, "empty platform"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runner.WantFailure(t, tc.src, tc.cfg, tc.want) })
	}
}

// TestDeterministic: the same input gives byte-identical records, so the
// core's content hashes see a re-import as unchanged.
func TestDeterministic(t *testing.T) {
	runner.Deterministic(t, "testdata/ok", "")
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, sdk.ServeOpts{Name: "atomic", Version: version, Importers: map[string]sdk.Importer{"atomic": &importer{}}})
}

// FuzzParseFile: no input makes the parser panic, and whatever it returns is
// a record the host accepts.
func FuzzParseFile(f *testing.F) {
	for _, sf := range sdktest.Files(f, "testdata/ok", "testdata/malformed") {
		f.Add(filepath.Base(sf.Path), sf.Data)
	}
	f.Add("T1.yaml", []byte("atomic_tests: &a [*a]"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		items, problems := parseFile(name, data)
		for _, it := range items {
			if err := it.rec.Validate(); err != nil {
				t.Fatalf("invalid record: %v", err)
			}
			if _, err := json.Marshal(it.rec); err != nil {
				t.Fatalf("record does not encode: %v", err)
			}
			if it.line < 0 {
				t.Fatalf("line %d", it.line)
			}
		}
		for _, p := range problems {
			if p.summary == "" {
				t.Fatal("problem without a summary")
			}
		}
	})
}

// A plain folder of atomic files (no atomics/ tree, any file names) is read whole, like
// a plain folder of Sigma or Elastic rules; the run says so and names the YAML files
// that are not atomic technique files.
func TestPlainFolderOfAtomics(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"T1059/T1059.yaml": "testdata/ok/atomics/T1059/T1059.yaml",
		"T1003.001.yaml":   "testdata/ok/atomics/T1003.001/T1003.001.yaml",
	} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		// Names of the team's own choosing, not the repository's.
		name = strings.NewReplacer("T1059/T1059", "scripting/our-shell-tests", "T1003.001", "lsass dumping").Replace(name)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.yml"), []byte("owner: purple team\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, dir, "")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := run(t, "testdata/ok", "")
	if len(res.Records) == 0 || len(res.Records) != len(want.Records) {
		t.Errorf("%d tests from the plain folder, %d from the repository layout", len(res.Records), len(want.Records))
	}
	d := testfmt.Diagnostics(res.Diagnostics)
	if !strings.Contains(d, "the whole source is read as a folder of atomic files") || !strings.Contains(d, "notes.yml") {
		t.Errorf("diagnostics:\n%s", d)
	}
}

// With the host's file states, a re-import reads only the changed and the added
// technique file and skips the unchanged one (a deleted file, simply not reported, is
// covered by the Sigma and Elastic tests: this fixture has only two technique files).
func TestSkipsUnchangedFiles(t *testing.T) {
	second := runner.SkipsUnchanged(t, "testdata/ok", "", func(dir string) {
		t1059 := filepath.Join(dir, "atomics/T1059/T1059.yaml")
		data, err := os.ReadFile(t1059)
		if err != nil {
			t.Fatal(err)
		}
		added := filepath.Join(dir, "atomics/T1105/T1105.yaml")
		if err := os.MkdirAll(filepath.Dir(added), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(added, []byte(strings.NewReplacer("t1059", "t1105", "5f7b6c2e", "5f7b6c2f").Replace(string(data))), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(t1059, []byte(strings.Replace(string(data), "echo hello", "echo changed", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}, "atomics/T1059/T1059.yaml", "atomics/T1105/T1105.yaml")
	if len(second.Records) == 0 {
		t.Error("second import sent nothing from the changed and the added file")
	}
}
