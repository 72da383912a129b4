// Package attacksource opens the ATT&CK STIX data that a plugin reads beside
// its own source (the attack_source setting of d3fend and nist) and names its
// files for a source.Tracker.
package attacksource

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/sdk/source"
)

// Open opens src (a STIX bundle, a mitre/cti folder, or a URL of either) and
// lists the files to read: a single file as it is; in a folder, the files of
// the mitre/cti type folders named (attack-pattern, relationship, …), or every
// .json file when there are none. The caller closes the tree.
func Open(ctx context.Context, src string, folders ...string) (*source.Tree, []source.File, error) {
	tree, err := source.Open(ctx, src, source.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("attack_source: %w", err)
	}
	var files []source.File
	if tree.File() != "" {
		files, err = tree.Glob("*")
	} else {
		// In the mitre/cti layout only these folders matter; skipping the
		// thousands of other objects keeps the run short.
		globs := make([]string, len(folders))
		for i, f := range folders {
			globs[i] = "**/" + f + "/*.json"
		}
		files, err = tree.Glob(globs...)
		if err == nil && len(files) == 0 {
			files, err = tree.Glob("**/*.json")
		}
	}
	if err != nil {
		tree.Close()
		return nil, nil, fmt.Errorf("attack_source: %w", err)
	}
	return tree, files, nil
}

// Tracked is f as a Tracker knows it: under attack_source/, apart from the
// files of the import's own source.
func Tracked(f source.File) source.File {
	return source.File{Path: f.Path, Rel: "attack_source/" + f.Rel}
}
