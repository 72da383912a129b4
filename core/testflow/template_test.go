package testflow

import (
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
)

func TestFromTemplateFillsArgumentsAndPicksThePlatform(t *testing.T) {
	atomic := &core.TestTemplate{ID: "tpl-1", Name: "Dump LSASS with procdump", Description: "Dumps lsass.",
		Platforms: core.Strings{"windows"}, TechniqueIDs: []string{"T1003.001"},
		Command:        `#{procdump_exe} -accepteula -ma lsass.exe #{output_file}`,
		CleanupCommand: `del "#{output_file}" >nul 2> nul`,
		InputArguments: core.JSON(`[{"name":"output_file","type":"path","default":"C:\\Windows\\Temp\\lsass_dump.dmp"},
			{"name":"procdump_exe","type":"path","default":"PathToAtomicsFolder\\..\\ExternalPayloads\\procdump.exe"}]`)}

	tests := []struct {
		name        string
		args        map[string]string
		wantCommand string
		wantErr     string
	}{
		{"defaults", nil, `PathToAtomicsFolder\..\ExternalPayloads\procdump.exe -accepteula -ma lsass.exe C:\Windows\Temp\lsass_dump.dmp`, ""},
		{"given", map[string]string{"output_file": `D:\x.dmp`}, `PathToAtomicsFolder\..\ExternalPayloads\procdump.exe -accepteula -ma lsass.exe D:\x.dmp`, ""},
		{"typo", map[string]string{"outputfile": "x"}, "", "has no argument outputfile (it has: output_file, procdump_exe)"},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			test := &core.Test{}
			in := &NewTest{Arguments: c.args}
			err := fromTemplate(test, atomic, in)
			if c.wantErr != "" {
				if err == nil || core.ErrorCode(err) != core.EINVALID || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if test.Command != c.wantCommand {
				t.Errorf("command %q, want %q", test.Command, c.wantCommand)
			}
			if !strings.Contains(test.Procedure, "Cleanup:\n"+`del "`) || strings.Contains(test.Procedure, "#{output_file}") {
				t.Errorf("procedure %q", test.Procedure)
			}
			if test.Title != atomic.Name || *test.TemplateID != "tpl-1" || in.TechniqueID != "T1003.001" || test.Platform != "windows" {
				t.Errorf("copied fields: %+v %q", test, in.TechniqueID)
			}
		})
	}

	caldera := &core.TestTemplate{ID: "tpl-2", Name: "Find files", Platforms: core.Strings{"linux", "darwin", "windows"},
		Executors: core.JSON(`[{"name":"sh","platform":"linux","command":"find / -name '*.key'"},
			{"name":"sh","platform":"darwin","command":"mdfind -name .key","cleanup":"true"},
			{"name":"psh","platform":"windows","command":"Get-ChildItem -Recurse -Filter *.key"}]`)}
	for platform, want := range map[string]string{"macOS": "mdfind -name .key", "windows": "Get-ChildItem -Recurse -Filter *.key", "": "find / -name '*.key'"} {
		test := &core.Test{Platform: platform}
		if err := fromTemplate(test, caldera, &NewTest{}); err != nil {
			t.Fatal(err)
		}
		if test.Command != want {
			t.Errorf("platform %q: command %q, want %q", platform, test.Command, want)
		}
	}
}
