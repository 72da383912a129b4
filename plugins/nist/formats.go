package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
	"github.com/aegis-sec/aegis/sdk"
)

var techniqueIDRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// finding is one problem with a single object of a file.
type finding struct {
	Line    int
	ID      string
	Summary string
	Detail  string
}

// controlDef is a control or enhancement as a catalog defines it.
type controlDef struct {
	ID          controlID
	Title       string
	Description string
	Family      string // family name when the file gives one
	Line        int
}

// mappingRow is one control → technique statement, before ATT&CK ids are
// known for the STIX format.
type mappingRow struct {
	Control     controlID
	ControlRef  string // STIX: course-of-action id of the control
	TechniqueID string // Mappings Explorer: the ATT&CK id
	TargetRef   string // STIX: attack-pattern id to resolve
	MappingType string
	Comments    string
	Title       string // the control's title as the mapping row gives it
	Family      string
	Line        int
	ObjectID    string // for warnings
}

// fileResult is what one file contributed.
type fileResult struct {
	Format      string // "mappings-explorer", "stix-controls", "stix-mappings" or "" when not ours
	Controls    []controlDef
	ControlRefs map[string]controlID // STIX course-of-action id → control
	Mappings    []mappingRow
	NonMappable int
	Problems    []finding
	Skip        string // set when the whole file is not NIST 800-53 rev. 5
	// Framework is set for a Mappings Explorer file of another framework (AWS,
	// Azure, GCP, Microsoft 365, ...): its controls are Capabilities.
	Framework    *sdk.ComplianceFramework
	Capabilities []capability
}

// parseFile recognises a file by its content and reads it. The result's
// Format is empty for JSON files of neither format, which a folder of a
// repository checkout has plenty of.
func parseFile(data []byte) (*fileResult, error) {
	doc, err := jsonpos.Scan(data, "objects", "mapping_objects")
	if err != nil {
		return nil, err
	}
	if _, ok := doc.Arrays["mapping_objects"]; ok {
		return parseMappingsExplorer(doc), nil
	}
	var typ string
	_ = json.Unmarshal(doc.Fields["type"], &typ)
	if typ == "bundle" {
		return parseSTIX(doc.Arrays["objects"]), nil
	}
	return &fileResult{}, nil
}

// parseMappingsExplorer reads the Mappings Explorer format: metadata and a
// flat list of mapping objects, control ids zero-padded ("AC-02").
func parseMappingsExplorer(doc *jsonpos.Document) *fileResult {
	res := &fileResult{Format: "mappings-explorer"}
	var meta mapexMeta
	raw, ok := doc.Fields["metadata"]
	if !ok {
		// The revision comes from the data, never from a default.
		res.Skip = "no metadata: the file does not say which framework and revision it maps (metadata.mapping_framework_version)"
		return res
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		res.Skip = "metadata is not an object of the Mappings Explorer format: " + err.Error()
		return res
	}
	fw := strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(strings.ToLower(meta.Framework))
	if !strings.Contains(fw, "nist80053") {
		// Another framework of the same project (AWS, Azure, GCP, Microsoft 365,
		// VERIS, CVE, ...): the format is shared, the framework comes from the data.
		return parseOtherFramework(doc, meta)
	}
	switch rev := revision(meta.Version); rev {
	case "5":
	case "":
		res.Skip = fmt.Sprintf("metadata.mapping_framework_version %q does not say which revision of NIST 800-53 the file maps", meta.Version)
		return res
	default:
		res.Skip = "mapping framework " + meta.Framework + " " + meta.Version + " is not NIST 800-53 rev5"
		return res
	}
	for _, el := range doc.Arrays["mapping_objects"] {
		var o mapexObject
		if err := json.Unmarshal(el.Raw, &o); err != nil {
			res.Problems = append(res.Problems, finding{Line: el.Line, Summary: "skipped malformed mapping object", Detail: err.Error()})
			continue
		}
		status := strings.ToLower(strings.TrimSpace(str(o.Status)))
		cid := strings.TrimSpace(str(o.CapabilityID))
		switch status {
		case "non_mappable":
			// The format's way of saying "no control addresses this technique".
			res.NonMappable++
			continue
		case "", "complete", "in_progress":
		default:
			res.Problems = append(res.Problems, finding{Line: el.Line, ID: cid, Summary: "skipped mapping with unknown status " + status})
			continue
		}
		id, ok := parseControlID(cid)
		if !ok {
			res.Problems = append(res.Problems, finding{Line: el.Line, ID: cid, Summary: "skipped mapping with an invalid control id",
				Detail: "capability_id " + quoteOrNull(o.CapabilityID)})
			continue
		}
		tid := strings.ToUpper(strings.TrimSpace(str(o.AttackID)))
		if !techniqueIDRe.MatchString(tid) {
			res.Problems = append(res.Problems, finding{Line: el.Line, ID: id.String(), Summary: "skipped mapping with an invalid ATT&CK id",
				Detail: "attack_object_id " + quoteOrNull(o.AttackID)})
			continue
		}
		row := mappingRow{Control: id, TechniqueID: tid, MappingType: strings.TrimSpace(str(o.MappingType)),
			Comments: strings.TrimSpace(str(o.Comments)), Title: strings.TrimSpace(str(o.CapabilityDesc)), Line: el.Line, ObjectID: id.String()}
		if g := strings.TrimSpace(str(o.Group)); g != "" {
			row.Family = meta.Groups[g]
		}
		res.Mappings = append(res.Mappings, row)
	}
	return res
}

// stixObject holds the fields of the STIX objects this format uses.
type stixObject struct {
	Type               string `json:"type"`
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Description        string `json:"description"`
	RelationshipType   string `json:"relationship_type"`
	SourceRef          string `json:"source_ref"`
	TargetRef          string `json:"target_ref"`
	Revoked            bool   `json:"revoked"`
	Deprecated         bool   `json:"x_mitre_deprecated"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
}

// parseSTIX reads a bundle of attack-control-framework-mappings: controls as
// course-of-action objects, or "mitigates" relationships from a control to
// an ATT&CK attack-pattern. Other objects (subcontrol-of, related-to) carry
// nothing the record needs: the parent follows from the id.
func parseSTIX(objects []jsonpos.Element) *fileResult {
	res := &fileResult{ControlRefs: map[string]controlID{}}
	for _, el := range objects {
		var o stixObject
		if err := json.Unmarshal(el.Raw, &o); err != nil {
			res.Problems = append(res.Problems, finding{Line: el.Line, Summary: "skipped malformed STIX object", Detail: err.Error()})
			continue
		}
		switch o.Type {
		case "course-of-action":
			ref, nist := nistReference(&o)
			if !nist {
				continue
			}
			switch revision(ref.SourceName) {
			case "5":
			case "":
				res.Skip = fmt.Sprintf("controls of %q, which does not say which revision of NIST 800-53 they are", ref.SourceName)
				return res
			default:
				res.Skip = "controls of " + ref.SourceName + ", not NIST 800-53 rev5"
				return res
			}
			id, ok := parseControlID(ref.ExternalID)
			if !ok {
				res.Problems = append(res.Problems, finding{Line: el.Line, ID: o.ID, Summary: "skipped control with an invalid id", Detail: "external_id " + ref.ExternalID})
				continue
			}
			if o.Revoked || o.Deprecated {
				continue
			}
			res.Format = "stix-controls"
			res.ControlRefs[o.ID] = id
			res.Controls = append(res.Controls, controlDef{ID: id, Title: strings.TrimSpace(o.Name), Description: strings.TrimSpace(o.Description), Line: el.Line})
		case "relationship":
			if o.RelationshipType != "mitigates" || !strings.HasPrefix(o.SourceRef, "course-of-action--") {
				continue
			}
			if o.Revoked || o.Deprecated {
				continue
			}
			if res.Format == "" {
				res.Format = "stix-mappings"
			}
			res.Mappings = append(res.Mappings, mappingRow{ControlRef: o.SourceRef, TargetRef: o.TargetRef, MappingType: "mitigates",
				Line: el.Line, ObjectID: o.ID})
		}
	}
	return res
}

// nistReference finds the NIST 800-53 external reference of a control.
func nistReference(o *stixObject) (ref struct{ SourceName, ExternalID string }, ok bool) {
	for _, r := range o.ExternalReferences {
		if strings.Contains(strings.ToUpper(r.SourceName), "NIST 800-53") || strings.Contains(strings.ToUpper(r.SourceName), "NIST SP 800-53") {
			return struct{ SourceName, ExternalID string }{r.SourceName, r.ExternalID}, true
		}
	}
	return ref, false
}

// revision returns the NIST 800-53 revision a name or version states ("rev5",
// "r5", "5", "Revision 5" give "5"), or "" when it states none: the revision
// comes from the data, never from a default.
func revision(s string) string {
	s = strings.ToLower(s)
	if m := revisionRe.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	s = strings.NewReplacer("800-53", "", "800 53", "", "800_53", "", "80053", "").Replace(s)
	if digits := digitsRe.FindAllString(s, -1); len(digits) == 1 {
		return digits[0]
	}
	return ""
}

var (
	revisionRe = regexp.MustCompile(`(?:revision|rev\.?|\br)\s*(\d+)`)
	digitsRe   = regexp.MustCompile(`\d+`)
)

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func quoteOrNull(p *string) string {
	if p == nil {
		return "null"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}
