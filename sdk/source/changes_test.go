package source_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/sdk/source"
)

type reports struct {
	on              bool
	read, unchanged []string
}

func (r *reports) FileRead(st source.FileState)      { r.read = append(r.read, st.Path) }
func (r *reports) FileUnchanged(st source.FileState) { r.unchanged = append(r.unchanged, st.Path) }
func (r *reports) TracksFiles() bool                 { return r.on }

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// states reads every file of dir through a tracker and returns what it reported.
func readAll(t *testing.T, dir string, prev []source.FileState, r *reports, collect *[]source.FileState) []string {
	t.Helper()
	tree, err := source.Open(t.Context(), dir, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := tree.Glob("*.txt")
	if err != nil {
		t.Fatal(err)
	}
	tr := source.NewTracker(prev, collectingReporter{r, collect})
	var read []string
	for _, f := range files {
		if tr.Unchanged(f) {
			continue
		}
		if _, err := tr.ReadFile(f); err != nil {
			t.Fatal(err)
		}
		read = append(read, f.Rel)
	}
	return read
}

type collectingReporter struct {
	*reports
	states *[]source.FileState
}

func (c collectingReporter) FileRead(st source.FileState) {
	c.reports.FileRead(st)
	if c.states != nil {
		*c.states = append(*c.states, st)
	}
}

// An unchanged file is skipped and reported; a changed, an added and a touched but
// identical file are read (the last one skipped by its hash); a deleted file is
// simply not reported, which is how the host learns it is gone.
func TestTrackerSkipsOnlyUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "alpha")
	write(t, dir, "b.txt", "bravo")
	write(t, dir, "c.txt", "charlie")
	write(t, dir, "e.txt", "echo")
	var first []source.FileState
	r1 := &reports{on: true}
	if got := readAll(t, dir, nil, r1, &first); len(got) != 4 || len(r1.unchanged) != 0 {
		t.Fatalf("first run read %v, unchanged %v; want all four read", got, r1.unchanged)
	}
	for _, st := range first {
		if st.SHA256 == "" || st.Size == 0 || st.ModTime.IsZero() {
			t.Fatalf("state without hash, size or time: %+v", st)
		}
	}
	write(t, dir, "b.txt", "BRAVO!") // changed (size)
	if err := os.Remove(filepath.Join(dir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "d.txt", "delta") // added
	// Same content, new time (a fresh checkout): decided by the hash.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "e.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	r2 := &reports{on: true}
	got := readAll(t, dir, first, r2, nil)
	if want := []string{"b.txt", "d.txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second run read %v, want %v", got, want)
	}
	sort.Strings(r2.unchanged)
	if want := []string{"a.txt", "e.txt"}; !reflect.DeepEqual(r2.unchanged, want) {
		t.Errorf("second run reported unchanged %v, want %v", r2.unchanged, want)
	}

	// Same size, same time, other content cannot be told apart without reading; same
	// size and another time with other content is read.
	write(t, dir, "a.txt", "ALPHA")
	r3 := &reports{on: true}
	if got := readAll(t, dir, first, r3, nil); !contains(got, "a.txt") {
		t.Errorf("a rewritten file of the same size was skipped: read %v", got)
	}
}

// A host that takes no file reports (protocol minor < 2) gets a tracker that skips
// nothing, even with states at hand: it could not keep a skipped file's records.
func TestTrackerSkipsNothingForAHostThatDoesNotTrack(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "alpha")
	var first []source.FileState
	readAll(t, dir, nil, &reports{on: true}, &first)
	off := &reports{on: false}
	if got := readAll(t, dir, first, off, nil); len(got) != 1 || len(off.read)+len(off.unchanged) != 0 {
		t.Errorf("read %v, reported %v / %v; want the file read and nothing reported", got, off.read, off.unchanged)
	}
}

// AllUnchanged skips the whole source only when no file was added, removed or changed.
func TestTrackerAllUnchanged(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "alpha")
	write(t, dir, "b.txt", "bravo")
	tree, err := source.Open(t.Context(), dir, source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := func() []source.File {
		fs, err := tree.Glob("*.txt")
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	var prev []source.FileState
	rec := collectingReporter{&reports{on: true}, &prev}
	tr := source.NewTracker(nil, rec)
	if tr.AllUnchanged(files()) {
		t.Fatal("no previous states: AllUnchanged said true")
	}
	for _, f := range files() {
		if err := tr.Read(f); err != nil {
			t.Fatal(err)
		}
	}
	r := &reports{on: true}
	if !source.NewTracker(prev, r).AllUnchanged(files()) || len(r.unchanged) != 2 {
		t.Fatalf("same files: AllUnchanged false or reported %v", r.unchanged)
	}
	write(t, dir, "c.txt", "charlie")
	r = &reports{on: true}
	if source.NewTracker(prev, r).AllUnchanged(files()) || len(r.unchanged) != 0 {
		t.Errorf("a file added: AllUnchanged true or reported %v", r.unchanged)
	}
	if err := os.Remove(filepath.Join(dir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "c.txt", "charlie")
	if source.NewTracker(prev, &reports{on: true}).AllUnchanged(files()) {
		t.Error("a file replaced by another: AllUnchanged true")
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
