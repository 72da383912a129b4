package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
	"github.com/aegis-sec/aegis/sdk"
)

// mapexMeta is the metadata of a Mappings Explorer file.
type mapexMeta struct {
	Framework     string            `json:"mapping_framework"`
	Version       string            `json:"mapping_framework_version"`
	AttackVersion string            `json:"attack_version"`
	Domain        string            `json:"technology_domain"`
	Groups        map[string]string `json:"capability_groups"`
}

// mapexObject is one row of mapping_objects.
type mapexObject struct {
	CapabilityID   *string `json:"capability_id"`
	CapabilityDesc *string `json:"capability_description"`
	Group          *string `json:"capability_group"`
	MappingType    *string `json:"mapping_type"`
	AttackID       *string `json:"attack_object_id"`
	Status         *string `json:"status"`
	Comments       *string `json:"comments"`
	ScoreCategory  *string `json:"score_category"`
	ScoreValue     *string `json:"score_value"`
}

// capability is one control of another framework (an AWS service, an Azure
// or Microsoft 365 capability, a CIS safeguard) with the rows that map it.
type capability struct {
	ID, Title, Family string
	Line              int
	Mappings          []mappingRow
}

// frameworkNames are the display names of the Mappings Explorer frameworks
// whose ids say little; any other framework keeps its id as its name.
var frameworkNames = map[string]string{
	"aws":   "AWS security capabilities",
	"azure": "Microsoft Azure security capabilities",
	"gcp":   "Google Cloud security capabilities",
	"m365":  "Microsoft 365 security capabilities",
}

// notControls are Mappings Explorer projects whose "capabilities" are
// vulnerabilities or incident categories, not controls: compliance frameworks
// made of them would be wrong, so their files are named in a warning.
var notControls = map[string]string{
	"cve":   "it maps vulnerabilities (CVE ids), not controls",
	"kev":   "it maps known exploited vulnerabilities, not controls",
	"veris": "it maps VERIS incident categories, not controls",
}

var slugRe = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(slugRe.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// parseOtherFramework reads a Mappings Explorer file of a framework other than
// NIST 800-53. The framework and its version come from the metadata: a file
// that names neither is skipped, never given a default. Security-stack files
// (AWS, Azure, GCP, Microsoft 365) score each mapping: the score category
// (protect, detect, respond) becomes the mapping type, the score value leads
// the comments.
func parseOtherFramework(doc *jsonpos.Document, meta mapexMeta) *fileResult {
	res := &fileResult{}
	name := strings.ToLower(strings.TrimSpace(meta.Framework))
	version := strings.TrimSpace(meta.Version)
	switch {
	case name == "":
		res.Skip = "metadata.mapping_framework is empty: the file does not say which framework it maps"
		return res
	case notControls[name] != "":
		res.Skip = fmt.Sprintf("mapping framework %q %s is not imported: %s", meta.Framework, version, notControls[name])
		return res
	case version == "":
		res.Skip = fmt.Sprintf("metadata.mapping_framework_version is empty: the file does not say which version of %q it maps", meta.Framework)
		return res
	}
	display := frameworkNames[name]
	if display == "" {
		display = meta.Framework
	}
	res.Format = "mappings-explorer"
	res.Framework = &sdk.ComplianceFramework{
		ExternalID: slug(name + "-" + version),
		Name:       display,
		Version:    version,
		Description: fmt.Sprintf("Mappings Explorer: %s mapped to ATT&CK %s %s", display, strings.TrimSpace(meta.AttackVersion),
			strings.TrimSpace(meta.Domain)),
		URL: "https://center-for-threat-informed-defense.github.io/mappings-explorer/external/" + slug(name) + "/",
	}
	index := map[string]int{}
	for _, el := range doc.Arrays["mapping_objects"] {
		var o mapexObject
		if err := json.Unmarshal(el.Raw, &o); err != nil {
			res.Problems = append(res.Problems, finding{Line: el.Line, Summary: "skipped malformed mapping object", Detail: err.Error()})
			continue
		}
		cid := strings.TrimSpace(str(o.CapabilityID))
		switch status := strings.ToLower(strings.TrimSpace(str(o.Status))); status {
		case "non_mappable":
			res.NonMappable++
			continue
		case "", "complete", "in_progress":
		default:
			res.Problems = append(res.Problems, finding{Line: el.Line, ID: cid, Summary: "skipped mapping with unknown status " + status})
			continue
		}
		if cid == "" {
			res.Problems = append(res.Problems, finding{Line: el.Line, Summary: "skipped mapping without a capability_id"})
			continue
		}
		tid := strings.ToUpper(strings.TrimSpace(str(o.AttackID)))
		if !techniqueIDRe.MatchString(tid) {
			res.Problems = append(res.Problems, finding{Line: el.Line, ID: cid, Summary: "skipped mapping with an invalid ATT&CK id",
				Detail: "attack_object_id " + quoteOrNull(o.AttackID)})
			continue
		}
		i, seen := index[cid]
		if !seen {
			i = len(res.Capabilities)
			index[cid] = i
			c := capability{ID: cid, Title: strings.TrimSpace(str(o.CapabilityDesc)), Line: el.Line}
			if g := strings.TrimSpace(str(o.Group)); g != "" {
				c.Family = meta.Groups[g]
				if c.Family == "" {
					c.Family = g
				}
			}
			res.Capabilities = append(res.Capabilities, c)
		}
		mt, comments := strings.TrimSpace(str(o.MappingType)), strings.TrimSpace(str(o.Comments))
		if cat := strings.ToLower(strings.TrimSpace(str(o.ScoreCategory))); cat != "" {
			mt = cat
		}
		if v := strings.TrimSpace(str(o.ScoreValue)); v != "" {
			comments = strings.TrimSpace("Score: " + v + ". " + comments)
		}
		res.Capabilities[i].Mappings = append(res.Capabilities[i].Mappings,
			mappingRow{TechniqueID: tid, MappingType: mt, Comments: comments, Line: el.Line, ObjectID: cid})
	}
	return res
}
