package main

import (
	"regexp"
	"slices"
	"strings"
)

// tagInfo is what a rule's tags say about ATT&CK.
type tagInfo struct {
	tags        []string // every tag as written, sorted, without duplicates
	techniques  []string // T1059.001
	tactics     []string // shortnames: execution, stealth, ...
	groups      []string // G0016
	software    []string // S0002
	dataSources []string // DS0005
	mitigations []string // M1038
	tacticIDs   []string // TA ids with no shortname known here
	badTags     []string // look like technique tags but are not valid ids
}

var (
	techniqueTagRe = regexp.MustCompile(`^t\d{4}(\.\d{3})?$`)
	groupTagRe     = regexp.MustCompile(`^g\d{4}$`)
	softwareTagRe  = regexp.MustCompile(`^s\d{4}$`)
	dataSourceRe   = regexp.MustCompile(`^ds\d{4}$`)
	mitigationRe   = regexp.MustCompile(`^m\d{4}$`)
	tacticIDTagRe  = regexp.MustCompile(`^ta\d{4}$`)
	tacticNameRe   = regexp.MustCompile(`^[a-z][a-z _-]*[a-z]$`)
)

// enterpriseTactics maps ATT&CK Enterprise tactic ids to shortnames, for the
// rare collections that tag "attack.ta0002" instead of "attack.execution".
var enterpriseTactics = map[string]string{
	"TA0043": "reconnaissance", "TA0042": "resource-development", "TA0001": "initial-access",
	"TA0002": "execution", "TA0003": "persistence", "TA0004": "privilege-escalation",
	"TA0005": "defense-evasion", "TA0006": "credential-access", "TA0007": "discovery",
	"TA0008": "lateral-movement", "TA0009": "collection", "TA0011": "command-and-control",
	"TA0010": "exfiltration", "TA0040": "impact",
}

// classifyTags reads Sigma's tag namespaces. Tactic tags are kept whatever
// their name (ATT&CK v19's "stealth" and "defense-impairment" included), so
// a newer ATT&CK release needs no plugin change; older collections wrote
// "defense_evasion", which becomes the shortname "defense-evasion".
func classifyTags(tags []string) tagInfo {
	var ti tagInfo
	for _, tag := range tags {
		ti.tags = append(ti.tags, tag)
		lower := strings.ToLower(tag)
		rest, ok := strings.CutPrefix(lower, "attack.")
		if !ok {
			continue
		}
		switch {
		case techniqueTagRe.MatchString(rest):
			ti.techniques = append(ti.techniques, strings.ToUpper(rest))
		case groupTagRe.MatchString(rest):
			ti.groups = append(ti.groups, strings.ToUpper(rest))
		case softwareTagRe.MatchString(rest):
			ti.software = append(ti.software, strings.ToUpper(rest))
		case dataSourceRe.MatchString(rest):
			ti.dataSources = append(ti.dataSources, strings.ToUpper(rest))
		case mitigationRe.MatchString(rest):
			ti.mitigations = append(ti.mitigations, strings.ToUpper(rest))
		case tacticIDTagRe.MatchString(rest):
			id := strings.ToUpper(rest)
			if short, known := enterpriseTactics[id]; known {
				ti.tactics = append(ti.tactics, short)
			} else {
				ti.tacticIDs = append(ti.tacticIDs, id)
			}
		case len(rest) > 1 && rest[0] == 't' && rest[1] >= '0' && rest[1] <= '9':
			ti.badTags = append(ti.badTags, tag)
		case tacticNameRe.MatchString(rest):
			ti.tactics = append(ti.tactics, strings.NewReplacer("_", "-", " ", "-").Replace(rest))
		}
	}
	for _, s := range []*[]string{&ti.tags, &ti.techniques, &ti.tactics, &ti.groups, &ti.software, &ti.dataSources, &ti.mitigations, &ti.tacticIDs, &ti.badTags} {
		*s = sortedSet(*s)
	}
	return ti
}

// sortedSet sorts and removes duplicates: the order of tags carries no
// meaning, and a stable order keeps re-imports byte-identical.
func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}
