package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/attacksource"
	"github.com/aegis-sec/aegis/sdk/source"
)

// loadTechniqueIDs maps ATT&CK attack-pattern STIX ids to technique ids
// (T1003.001) from ATT&CK STIX data: a bundle, the mitre/cti
// one-object-per-file folders, or a URL of either. Revoked and deprecated
// techniques are kept: a mapping to them is still a fact, and the core moves
// it to the replacement when it migrates ATT&CK releases.
// Each file is reported to tr (by attacksource.Tracked's path) before it is read.
func loadTechniqueIDs(ctx context.Context, src string, tr *source.Tracker) (map[string]string, []string, error) {
	tree, files, err := attacksource.Open(ctx, src, "attack-pattern")
	if err != nil {
		return nil, nil, err
	}
	defer tree.Close()
	ids := map[string]string{}
	var skipped []string
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if err := tr.Read(attacksource.Tracked(f)); err != nil {
			return nil, nil, fmt.Errorf("attack_source: %w", err)
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
