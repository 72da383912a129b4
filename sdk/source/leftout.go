package source

import (
	"fmt"
	"strings"
)

// Warner takes an importer's warnings; *sdk.Emitter implements it.
type Warner interface {
	Warn(file string, line int, externalID, summary, detail string)
}

// LeftOut returns the regular files and symbolic links under the tree that are in none of read,
// sorted by Rel: what an importer still has to account for, since every file
// under a source is either read or named in a warning (WarnLeftOut). The tree
// is taken as the last Glob listed it (or listed now when none did); Walk's
// rules apply (.git folders are never source data), and a single-file source
// leaves nothing out.
func (t *Tree) LeftOut(read ...[]File) ([]File, error) {
	if t.file != "" {
		return nil, nil
	}
	taken := map[string]bool{}
	for _, files := range read {
		for _, f := range files {
			taken[f.Rel] = true
		}
	}
	all := t.listing
	if all == nil {
		var err error
		if all, err = t.list(); err != nil {
			return nil, err
		}
	}
	var out []File
	for _, f := range all {
		if !taken[f.Rel] {
			out = append(out, f)
		}
	}
	return out, nil
}

// leftOutEach is the most files of one reason and folder named one warning
// each; more are named in one warning for their folder.
const leftOutEach = 10

// WarnLeftOut names the files an importer leaves out, with the reason why
// gives for each (“not a .yml or .yaml file”, “matches the exclude pattern
// **/tests/**”). Files of one reason under one top-level folder are one
// warning each when there are a few; when there are more than ten, one
// warning names the folder, how many files and the first of them, so that
// a folder of test data does not bury the run's other warnings.
func WarnLeftOut(w Warner, left []File, why func(rel string) string) {
	type group struct {
		reason, dir string
		files       []string
	}
	var order []*group
	groups := map[[2]string]*group{}
	for _, f := range left {
		reason := why(f.Rel)
		dir, _, nested := strings.Cut(f.Rel, "/")
		if !nested {
			dir = ""
		}
		k := [2]string{reason, dir}
		g := groups[k]
		if g == nil {
			g = &group{reason: reason, dir: dir}
			groups[k] = g
			order = append(order, g)
		}
		g.files = append(g.files, f.Rel)
	}
	for _, g := range order {
		if len(g.files) <= leftOutEach {
			for _, rel := range g.files {
				w.Warn(rel, 0, "", "file left out: "+g.reason, "")
			}
			continue
		}
		where := g.dir + "/"
		if g.dir == "" {
			where = "the top folder"
		}
		w.Warn(g.dir, 0, "", fmt.Sprintf("%d files under %s left out: %s", len(g.files), where, g.reason),
			"first: "+strings.Join(g.files[:leftOutEach], ", ")+fmt.Sprintf(" and %d more", len(g.files)-leftOutEach))
	}
}
