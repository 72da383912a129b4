package sdktest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
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
	dir, req, first := r.firstTracked(t, src, config)
	edit(dir)
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

// Edit is one change to a copied source for SkipsOnlyWhollyUnchanged: Name says
// what it does, Apply does it in the copy's folder.
type Edit struct {
	Name  string
	Apply func(dir string)
}

// SkipsOnlyWhollyUnchanged checks an importer whose records draw on several
// files, which skips the whole source or nothing (Tracker.AllUnchanged). It
// copies src and imports the copy with file reports on; every record must name
// a file the run reported read (the host keeps only such records). A re-import
// with those states must send nothing and report every file unchanged. Then,
// each edit alone on a fresh copy (a file changed, added or deleted), the
// re-import must read every file, skip none, and send exactly what a plain
// import of the edited copy sends.
func (r *Runner) SkipsOnlyWhollyUnchanged(t testing.TB, src, config string, edits ...Edit) {
	t.Helper()
	_, req, first := r.firstTracked(t, src, config)
	files := map[string]bool{}
	for _, st := range first.FilesRead {
		files[st.Path] = true
	}
	for _, in := range first.Incoming {
		if !files[in.File] {
			t.Errorf("%s %q names %q, a file not reported read: the host could not keep it", in.Kind, in.ExternalID, in.File)
		}
	}
	same := RunImportStrict(t, r.Importer, req)
	if same.Err != nil || len(same.Incoming) != 0 || len(same.FilesRead) != 0 ||
		!slices.Equal(statePaths(same.FilesUnchanged), statePaths(first.FilesRead)) {
		t.Fatalf("unchanged source: %d records, %d files read, %d unchanged (of %d), error %v; want none sent, every file unchanged",
			len(same.Incoming), len(same.FilesRead), len(same.FilesUnchanged), len(first.FilesRead), same.Err)
	}
	for _, e := range edits {
		dir, req, _ := r.firstTracked(t, src, config)
		e.Apply(dir)
		again := RunImportStrict(t, r.Importer, req)
		if again.Err != nil {
			t.Fatalf("%s: %v", e.Name, again.Err)
		}
		plain := RunImportStrict(t, r.Importer, r.request(dir, config))
		if plain.Err != nil {
			t.Fatalf("%s, plain import: %v", e.Name, plain.Err)
		}
		if len(again.FilesUnchanged) != 0 || len(again.FilesRead) == 0 {
			t.Errorf("%s: %d files read, %d unchanged; want every file read", e.Name, len(again.FilesRead), len(again.FilesUnchanged))
		}
		if len(again.Incoming) != len(plain.Incoming) {
			t.Fatalf("%s: the re-import sent %d records, a plain import %d", e.Name, len(again.Incoming), len(plain.Incoming))
		}
		for i := range plain.Incoming {
			a, p := again.Incoming[i], plain.Incoming[i]
			if a.Kind != p.Kind || a.ExternalID != p.ExternalID || a.File != p.File || !bytes.Equal(a.JSON, p.JSON) {
				t.Errorf("%s: record %d is %s %q of %s, a plain import sends %s %q of %s", e.Name, i, a.Kind, a.ExternalID, a.File,
					p.Kind, p.ExternalID, p.File)
			}
		}
	}
}

// firstTracked imports a copy of src with file reports on and returns the copy's
// folder and the request of a re-import with the states the run reported.
func (r *Runner) firstTracked(t testing.TB, src, config string) (string, sdk.ImportRequest, *ImportResult) {
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
	if len(first.Records) == 0 || len(first.FilesRead) == 0 || len(first.FilesUnchanged) != 0 {
		t.Fatalf("first import: %d records, %d files read, %d unchanged; want records and every file read",
			len(first.Records), len(first.FilesRead), len(first.FilesUnchanged))
	}
	req.PreviousFiles = first.FilesRead
	return dir, req, first
}
