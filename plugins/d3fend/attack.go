package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/attacksource"
	"github.com/aegis-sec/aegis/sdk/source"
)

// stixObject holds the fields of an ATT&CK STIX object this plugin reads.
type stixObject struct {
	Type               string `json:"type"`
	ID                 string `json:"id"`
	Revoked            bool   `json:"revoked"`
	Deprecated         bool   `json:"x_mitre_deprecated"`
	RelationshipType   string `json:"relationship_type"`
	SourceRef          string `json:"source_ref"`
	TargetRef          string `json:"target_ref"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
}

// attackID is the object's ATT&CK id (T1003.001, M1018) from its mitre-* reference.
func (o *stixObject) attackID() string {
	for _, r := range o.ExternalReferences {
		if strings.HasPrefix(r.SourceName, "mitre-") && r.ExternalID != "" {
			return strings.ToUpper(strings.TrimSpace(r.ExternalID))
		}
	}
	return ""
}

func (o *stixObject) live() bool { return !o.Revoked && !o.Deprecated }

// attackMitigations maps ATT&CK mitigation ids (M1018) to the live techniques
// each mitigates, read from ATT&CK STIX data: a bundle file, the mitre/cti
// one-object-per-file folders, or a URL of either.
type attackMitigations struct {
	techniques map[string][]string
	files      int
}

// loadAttack reads the ATT&CK source. Files that are not STIX bundles are
// skipped; a source without any mitigation is an error, because then every
// mitigation mapping would silently vanish.
// Each file is reported to tr (by attacksource.Tracked's path) before it is read.
// listed, when not nil, is the listing of src that trackedFiles made for the skip
// check (a local source): walking the 25,000 files of a mitre/cti folder again cost
// as much as reading the ontology.
func loadAttack(ctx context.Context, src string, tr *source.Tracker, listed *attackListing) (*attackMitigations, []string, error) {
	var files []source.File
	where := src
	if listed != nil {
		files, where = listed.files, listed.tree.Source()
	} else {
		tree, fs, err := attacksource.Open(ctx, src, attackFolders...)
		if err != nil {
			return nil, nil, err
		}
		defer tree.Close()
		files, where = fs, tree.Source()
	}
	var skipped []string
	techniques := map[string]string{} // STIX id → T-id, live techniques only
	mitigations := map[string]string{}
	type rel struct{ src, dst string }
	var rels []rel
	for i, f := range files {
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		// A file that cannot be stated cannot be read either: it is skipped with a
		// warning below, and the next run, not finding its state, reads everything.
		_ = tr.Read(attacksource.Tracked(f))
		data, err := os.ReadFile(f.Path)
		if err == nil && !mayMatter(data) {
			continue
		}
		var objs []stixObject
		if err == nil {
			objs, err = parseSTIX(data)
		}
		if err != nil {
			skipped = append(skipped, f.Rel+": "+err.Error())
			continue
		}
		for _, o := range objs {
			switch {
			case o.Type == "attack-pattern" && o.live():
				if id := o.attackID(); attackIDRe.MatchString(id) {
					techniques[o.ID] = id
				}
			case o.Type == "course-of-action" && o.live():
				if id := o.attackID(); mitigationRe.MatchString(id) {
					mitigations[o.ID] = id
				}
			case o.Type == "relationship" && o.RelationshipType == "mitigates" && o.live():
				rels = append(rels, rel{o.SourceRef, o.TargetRef})
			}
		}
	}
	if len(mitigations) == 0 {
		return nil, skipped, fmt.Errorf("attack_source %s: no ATT&CK mitigations (course-of-action with an M id) found", where)
	}
	am := &attackMitigations{techniques: map[string][]string{}, files: len(files)}
	seen := map[rel]bool{}
	for _, r := range rels {
		m, t := mitigations[r.src], techniques[r.dst]
		if m == "" || t == "" || seen[rel{m, t}] {
			continue
		}
		seen[rel{m, t}] = true
		am.techniques[m] = append(am.techniques[m], t)
	}
	for _, ts := range am.techniques {
		sort.Strings(ts)
	}
	return am, skipped, nil
}

// attackFolders are the mitre/cti type folders loadAttack reads.
var attackFolders = []string{"attack-pattern", "course-of-action", "relationship"}

// attackListing is the list of attack_source's files, made once per run, and the
// open tree they are in.
type attackListing struct {
	tree  *source.Tree
	files []source.File
}

func (l *attackListing) close() {
	if l != nil {
		l.tree.Close()
	}
}

// mayMatter says whether a file can hold an object loadAttack keeps: a technique, a
// mitigation or a "mitigates" relationship. Most of mitre/cti's 20,000 relationship
// files are "uses", "detects" or "subtechnique-of": this look at the bytes spares
// decoding them (issue 11: decoding them was most of the plugin's time). A file that
// is not valid JSON still goes to the decoder, which says so.
func mayMatter(data []byte) bool {
	return bytes.Contains(data, []byte(`"mitigates"`)) || bytes.Contains(data, []byte(`"attack-pattern"`)) ||
		bytes.Contains(data, []byte(`"course-of-action"`)) || !json.Valid(data)
}

func parseSTIX(data []byte) ([]stixObject, error) {
	// mitre/cti's files are bundles of one object each: decoded in one pass when every
	// object decodes, which is what the object-by-object decode below gives then too.
	var whole struct {
		Type    string       `json:"type"`
		Objects []stixObject `json:"objects"`
	}
	if json.Unmarshal(data, &whole) == nil && whole.Type == "bundle" {
		return whole.Objects, nil
	}
	var b struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, err
	}
	if b.Type != "bundle" {
		var o stixObject
		if err := json.Unmarshal(data, &o); err != nil {
			return nil, err
		}
		return []stixObject{o}, nil
	}
	objs := make([]stixObject, 0, len(b.Objects))
	for _, raw := range b.Objects {
		var o stixObject
		// One odd object must not hide the rest of the bundle.
		if json.Unmarshal(raw, &o) == nil {
			objs = append(objs, o)
		}
	}
	return objs, nil
}
