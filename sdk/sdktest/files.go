package sdktest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/aegis-sec/aegis/sdk/source"
)

// SkipsUnchanged checks an importer's skipping of unchanged files (protocol
// minor 2). It copies the folder src, imports the copy with file reports on,
// lets edit change it (typically: rewrite one file, delete one, add one), and
// imports it again with the first run's file states. The second run must read
// exactly the files in wantRead (the changed and added ones), report every
// other file of the first run that still exists as unchanged, and send records
// only from the files it read; and a full third run must send, for the files
// the second one skipped, byte for byte the records the first run sent from
// them, which is what the host keeps. It returns the second run.
func (r *Runner) SkipsUnchanged(t testing.TB, src, config string, edit func(dir string), wantRead ...string) *ImportResult {
	t.Helper()
	dir := t.TempDir()
	if err := copyTree(src, dir); err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	req := r.request(dir, config)
	req.ReportFiles = true
	first := RunImportStrict(t, r.Importer, req)
	if first.Err != nil {
		t.Fatalf("first import: %v", first.Err)
	}
	if len(first.FilesRead) == 0 || len(first.FilesUnchanged) != 0 {
		t.Fatalf("first import reported %d files read and %d unchanged; want every file read", len(first.FilesRead), len(first.FilesUnchanged))
	}
	edit(dir)
	req.PreviousFiles = first.FilesRead
	second := RunImportStrict(t, r.Importer, req)
	if second.Err != nil {
		t.Fatalf("second import: %v", second.Err)
	}
	read := map[string]bool{}
	for _, p := range wantRead {
		read[p] = true
	}
	if got, want := statePaths(second.FilesRead), sorted(wantRead); !slices.Equal(got, want) {
		t.Errorf("second import read %v, want %v", got, want)
	}
	var wantUnchanged []string
	for _, st := range first.FilesRead {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(st.Path))); err == nil && !read[st.Path] {
			wantUnchanged = append(wantUnchanged, st.Path)
		}
	}
	if got := statePaths(second.FilesUnchanged); !slices.Equal(got, sorted(wantUnchanged)) {
		t.Errorf("second import reported unchanged %v, want %v", got, sorted(wantUnchanged))
	}
	for _, in := range second.Incoming {
		if !read[in.File] {
			t.Errorf("second import sent %s %q from %q, a file it did not read", in.Kind, in.ExternalID, in.File)
		}
	}
	req.PreviousFiles, req.ReportFiles = nil, false
	full := RunImportStrict(t, r.Importer, req)
	if full.Err != nil {
		t.Fatalf("full import: %v", full.Err)
	}
	kept := map[string][]byte{}
	for _, in := range first.Incoming {
		if !read[in.File] {
			kept[in.Kind+"/"+in.ExternalID+"@"+in.File] = in.JSON
		}
	}
	n := 0
	for _, in := range full.Incoming {
		if read[in.File] {
			continue
		}
		n++
		if old, ok := kept[in.Kind+"/"+in.ExternalID+"@"+in.File]; !ok || !bytes.Equal(old, in.JSON) {
			t.Errorf("%s %q of skipped file %s: a full import sends other data than the first import did", in.Kind, in.ExternalID, in.File)
		}
	}
	if n == 0 {
		t.Error("no record came from an unchanged file: the check proves nothing")
	}
	return second
}

func statePaths(sts []source.FileState) []string {
	out := make([]string, 0, len(sts))
	for _, s := range sts {
		out = append(out, s.Path)
	}
	return sorted(out)
}

func sorted(xs []string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

// copyTree copies the regular files below src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
