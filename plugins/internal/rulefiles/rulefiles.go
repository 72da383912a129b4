// Package rulefiles finds the rule files of a rule collection (Sigma, Elastic): the
// whole source or some folders of it, less excluded globs, each file size-capped.
package rulefiles

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

// MaxFileSize bounds one rule file; real rules are a few KiB, the largest ~60 KiB.
const MaxFileSize = 8 << 20

// Scope says which files of a source are rules.
type Scope struct {
	Folders    []string // folders to read; empty reads the whole source
	Exclude    []string // globs ("**" for any folders) of files to skip
	Extensions []string // ".yml", ".toml", ...
}

// CheckFolder refuses a folder that is not a path inside the source.
func CheckFolder(f string) error {
	clean := path.Clean(filepath.ToSlash(f))
	if strings.TrimSpace(f) == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("folder %q must be a path inside the source", f)
	}
	return nil
}

// Find lists the rule files of the scope, sorted. A source that is a single file is
// that file; a configured folder the source lacks is a warning.
func Find(tree *source.Tree, s Scope, out *sdk.Emitter) ([]source.File, error) {
	if tree.File() != "" {
		return []source.File{{Path: tree.File(), Rel: filepath.Base(tree.File())}}, nil
	}
	var dirs, missing []string
	if len(s.Folders) == 0 {
		dirs = []string{"**"}
	}
	for _, f := range s.Folders {
		if err := CheckFolder(f); err != nil {
			return nil, err
		}
		dir := path.Clean(filepath.ToSlash(f))
		if st, err := os.Stat(tree.Path(dir)); err != nil || !st.IsDir() {
			missing = append(missing, dir)
			continue
		}
		dirs = append(dirs, dir+"/**")
	}
	switch {
	case len(s.Folders) > 0 && len(dirs) == 0:
		// None of the configured folders: the source is itself a folder of rules (any
		// collection, not a checkout of the project the defaults describe).
		dirs = []string{"**"}
		out.Warn("", 0, "", "none of the configured folders is in the source; the whole source is read as a folder of rules",
			"folders: "+strings.Join(missing, ", ")+"; source: "+tree.Source())
	default:
		for _, dir := range missing {
			out.Warn(dir, 0, "", "configured folder not found in the source", "source: "+tree.Source())
		}
	}
	var patterns []string
	for _, d := range dirs {
		for _, ext := range s.Extensions {
			patterns = append(patterns, d+"/*"+ext)
		}
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	found, err := tree.Glob(patterns...)
	if err != nil {
		return nil, err
	}
	var files []source.File
	for _, f := range found {
		if excludedBy(f.Rel, s.Exclude) == "" {
			files = append(files, f)
		}
	}
	// Every other file under the source is named in a warning, with why it was
	// not read: nothing under a source goes unmentioned.
	left, err := tree.LeftOut(files)
	if err != nil {
		return nil, err
	}
	source.WarnLeftOut(out, left, func(rel string) string {
		if p := excludedBy(rel, s.Exclude); p != "" {
			return "matches the exclude pattern " + p
		}
		if !hasExtension(rel, s.Extensions) {
			return "not a " + strings.Join(s.Extensions, " or ") + " file"
		}
		return "outside the configured folders (" + strings.Join(s.Folders, ", ") + ")"
	})
	return files, nil
}

// excludedBy returns the first exclude pattern rel matches, or "".
func excludedBy(rel string, patterns []string) string {
	for _, p := range patterns {
		if source.Match(p, rel) {
			return p
		}
	}
	return ""
}

func hasExtension(rel string, exts []string) bool {
	for _, e := range exts {
		if strings.HasSuffix(rel, e) {
			return true
		}
	}
	return false
}

// Describe names the scope in messages.
func Describe(tree *source.Tree, s Scope) string {
	if len(s.Folders) == 0 {
		return tree.Source()
	}
	return fmt.Sprintf("%s (folders %s)", tree.Source(), strings.Join(s.Folders, ", "))
}

// Read reads one rule file, refusing one over MaxFileSize.
func Read(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	return data, nil
}

// ReadTracked is Read through a tracker, which reports the file read, with its
// SHA-256, so that the next run can skip it while it stays the same.
func ReadTracked(tr *source.Tracker, f source.File) ([]byte, error) {
	info, err := os.Stat(f.Path)
	if err != nil {
		return nil, err
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	return tr.ReadFile(f)
}
