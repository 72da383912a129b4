package integration

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every file under a source is either read or named in a warning: a user who
// counts the files of a release they import can account for each one. Over the
// real upstream folders (their LICENSE files, Sigma's regression data, D3FEND's
// CSV and README, Mappings Explorer's schema), the files the plugin reports as
// read plus the files the run's warnings name as left out are exactly the files
// under the source.
func TestEveryUpstreamFileIsReadOrNamed(t *testing.T) {
	grouped := regexp.MustCompile(`^(\d+) files under (.+)/ left out: `)
	for _, tc := range []struct{ plugin, folder, config string }{
		{"sigma", "sigma", ""},
		{"elastic", "detection-rules", ""},
		{"atomic", "atomic-red-team", ""},
		{"caldera", "stockpile", ""},
		{"lolbas", "lolbas", ""},
		{"lolbas", "gtfobins", ""},
		{"nist", "mappings-explorer", ""},
		{"d3fend", "d3fend", `{"mitigations_source": ""}`},
		{"attack", "mitre-cti", `{"release_version": "18.1"}`},
		{"cti", "mitre-cti", ""},
	} {
		t.Run(tc.plugin+"/"+tc.folder, func(t *testing.T) {
			dir := upstream(t, tc.folder)
			var all []string
			if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() && d.Name() == ".git" {
					return fs.SkipDir
				}
				if d.Type().IsRegular() {
					rel, _ := filepath.Rel(dir, p)
					all = append(all, filepath.ToSlash(rel))
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, map[string]string{tc.plugin: tc.config})
			run := e.Import(t, tc.plugin, dir)
			named := map[string]bool{}
			left := 0
			for _, w := range Warnings(run) {
				if m := grouped.FindStringSubmatch(w.Summary); m != nil {
					n, _ := strconv.Atoi(m[1])
					left += n
					for _, f := range all {
						if strings.HasPrefix(f, m[2]+"/") {
							named[f] = true
						}
					}
					continue
				}
				if strings.HasPrefix(w.Summary, "file left out: ") {
					if named[w.File] {
						t.Errorf("%s named twice", w.File)
					}
					named[w.File] = true
					left++
				}
			}
			for f := range named {
				if !slices.Contains(all, f) {
					t.Errorf("warning names %s, which is not a file of the source", f)
				}
			}
			if run.FilesRead+left != len(all) {
				t.Errorf("%d files under %s: %d read and %d named as left out (warnings: %+v)", len(all), tc.folder, run.FilesRead, left, Warnings(run))
			}
			if left == 0 {
				t.Errorf("no file named as left out; every upstream folder here holds one (a LICENSE at least)")
			}
		})
	}
}
