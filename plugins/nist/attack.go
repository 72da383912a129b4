package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aegis-sec/aegis/sdk/source"
)

// loadTechniqueIDs maps ATT&CK attack-pattern STIX ids to technique ids
// (T1003.001) from ATT&CK STIX data: a bundle, the mitre/cti
// one-object-per-file folders, or a URL of either. Revoked and deprecated
// techniques are kept: a mapping to them is still a fact, and the core moves
// it to the replacement when it migrates ATT&CK releases.
func loadTechniqueIDs(ctx context.Context, src string) (map[string]string, []string, error) {
	tree, err := source.Open(ctx, src, source.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("attack_source: %w", err)
	}
	defer tree.Close()
	var files []source.File
	if tree.File() != "" {
		files, err = tree.Glob("*")
	} else {
		// The mitre/cti layout keeps every attack-pattern in one folder per
		// domain; reading only those skips thousands of other objects.
		files, err = tree.Glob("**/attack-pattern/*.json")
		if err == nil && len(files) == 0 {
			files, err = tree.Glob("**/*.json")
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("attack_source: %w", err)
	}
	ids := map[string]string{}
	var skipped []string
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("attack_source: %w", err)
		}
		if err := addTechniqueIDs(data, ids); err != nil {
			skipped = append(skipped, f.Rel+": "+err.Error())
		}
	}
	if len(ids) == 0 {
		return nil, skipped, fmt.Errorf("attack_source %s: no ATT&CK techniques (attack-pattern objects with a mitre-attack id)", tree.Source())
	}
	return ids, skipped, nil
}

// addTechniqueIDs adds the attack-patterns of one STIX bundle or object.
func addTechniqueIDs(data []byte, ids map[string]string) error {
	var b struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	objs := b.Objects
	if b.Type != "bundle" {
		objs = []json.RawMessage{data}
	}
	for _, raw := range objs {
		var o stixObject
		if json.Unmarshal(raw, &o) != nil || o.Type != "attack-pattern" {
			continue
		}
		for _, r := range o.ExternalReferences {
			id := strings.ToUpper(strings.TrimSpace(r.ExternalID))
			if strings.HasPrefix(r.SourceName, "mitre-") && techniqueIDRe.MatchString(id) {
				ids[o.ID] = id
				break
			}
		}
	}
	return nil
}
