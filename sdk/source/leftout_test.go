package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type warnings []string

func (w *warnings) Warn(file string, _ int, _, summary, detail string) {
	*w = append(*w, file+": "+summary+" | "+detail)
}

func TestLeftOutAndWarnLeftOut(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("LICENSE")
	write("rules/a.yml")
	write("rules/b.yml")
	write("rules/notes.txt")
	write(".git/HEAD") // never source data
	for i := range 12 {
		write(fmt.Sprintf("tests/data/%02d.yml", i))
	}
	tree, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	read, err := tree.Glob("rules/*.yml")
	if err != nil || len(read) != 2 {
		t.Fatalf("glob: %v %v", read, err)
	}
	left, err := tree.LeftOut(read)
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, f := range left {
		rels = append(rels, f.Rel)
		if f.Path != filepath.Join(dir, filepath.FromSlash(f.Rel)) {
			t.Errorf("%s: path %s", f.Rel, f.Path)
		}
	}
	if len(rels) != 14 || rels[0] != "LICENSE" || rels[1] != "rules/notes.txt" || rels[2] != "tests/data/00.yml" {
		t.Fatalf("left out: %v", rels)
	}

	var w warnings
	WarnLeftOut(&w, left, func(rel string) string {
		if strings.HasPrefix(rel, "tests/") {
			return "matches the exclude pattern **/tests/**"
		}
		return "not a .yml file"
	})
	want := []string{
		"LICENSE: file left out: not a .yml file | ",
		"rules/notes.txt: file left out: not a .yml file | ",
		"tests: 12 files under tests/ left out: matches the exclude pattern **/tests/** | first: tests/data/00.yml, tests/data/01.yml, " +
			"tests/data/02.yml, tests/data/03.yml, tests/data/04.yml, tests/data/05.yml, tests/data/06.yml, tests/data/07.yml, " +
			"tests/data/08.yml, tests/data/09.yml and 2 more",
	}
	if strings.Join(w, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(w, "\n"), strings.Join(want, "\n"))
	}

	// Without a Glob first, LeftOut lists the tree itself; a single-file source
	// leaves nothing out.
	fresh, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if all, err := fresh.LeftOut(); err != nil || len(all) != 16 {
		t.Errorf("everything left out: %d %v", len(all), err)
	}
	single, err := Open(context.Background(), filepath.Join(dir, "LICENSE"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if none, err := single.LeftOut(); err != nil || len(none) != 0 {
		t.Errorf("single file: %v %v", none, err)
	}
}

// A symbolic link under a folder source is read through when it names a file and
// named by LeftOut otherwise (a link to a folder, a dangling one, a loop): before,
// the listing kept regular files only, so a linked rule file was neither imported
// nor named in any warning.
func TestSymlinksAreListedNotSkipped(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "shared.yml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.yml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"linked.yml": filepath.Join(outside, "shared.yml"),
		"loop":       ".",
		"self.yml":   "self.yml",
		"gone.yml":   "nowhere.yml",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	tree, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	read, err := tree.Glob("**/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range read {
		got = append(got, f.Rel)
	}
	if strings.Join(got, ",") != "a.yml,gone.yml,linked.yml,self.yml" {
		t.Fatalf("glob = %v", got)
	}
	if b, err := os.ReadFile(read[2].Path); err != nil || string(b) != "x" {
		t.Errorf("linked file read: %q %v", b, err)
	}
	left, err := tree.LeftOut(read)
	if err != nil || len(left) != 1 || left[0].Rel != "loop" {
		t.Fatalf("left out = %v, %v", left, err)
	}
}
