package sdk

import (
	"regexp"
	"strings"
)

// Sources spell ATT&CK ids and severities many ways; these helpers give the
// one spelling records must use, so every plugin does not write its own.

// techniqueLooseRe accepts the spellings seen in the wild: "t1059",
// "T1059.001", "T1059/001" (ATT&CK URLs), "attack.t1059.001" (Sigma tags).
var techniqueLooseRe = regexp.MustCompile(`^(?:ATTACK\.)?T(\d{4})(?:[./](\d{3}))?$`)

// NormalizeTechniqueID returns id as records spell technique ids ("T1059",
// "T1059.001"), and false when it is not a technique id at all.
func NormalizeTechniqueID(id string) (string, bool) {
	m := techniqueLooseRe.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(id)))
	if m == nil {
		return "", false
	}
	if m[2] == "" {
		return "T" + m[1], true
	}
	return "T" + m[1] + "." + m[2], true
}

// NormalizeTechniqueIDs normalises every id, drops duplicates (keeping the
// first), and returns the ids that are not technique ids separately so the
// importer can warn about them.
func NormalizeTechniqueIDs(ids []string) (valid, invalid []string) {
	seen := map[string]bool{}
	for _, raw := range ids {
		id, ok := NormalizeTechniqueID(raw)
		switch {
		case !ok:
			if strings.TrimSpace(raw) != "" {
				invalid = append(invalid, raw)
			}
		case !seen[id]:
			seen[id] = true
			valid = append(valid, id)
		}
	}
	return valid, invalid
}

var tacticLooseRe = regexp.MustCompile(`^(?:ATTACK\.)?TA(\d{4})$`)

// NormalizeTacticID returns id as "TA0002", and false when it is not a
// tactic id.
func NormalizeTacticID(id string) (string, bool) {
	m := tacticLooseRe.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(id)))
	if m == nil {
		return "", false
	}
	return "TA" + m[1], true
}

// Detection rule levels, lowest first: the values of DetectionRule.Level.
const (
	LevelInformational = "informational"
	LevelLow           = "low"
	LevelMedium        = "medium"
	LevelHigh          = "high"
	LevelCritical      = "critical"
)

// severityWords maps the words sources use onto levels.
var severityWords = map[string]string{
	"info": LevelInformational, "informational": LevelInformational, "information": LevelInformational,
	"low":    LevelLow,
	"medium": LevelMedium, "moderate": LevelMedium, "med": LevelMedium,
	"high":     LevelHigh,
	"critical": LevelCritical, "crit": LevelCritical,
}

// NormalizeLevel maps a source's severity word ("Info", "MODERATE",
// "critical") onto a DetectionRule level, and returns false for a word it
// does not know. Keep an unknown word in DetectionRule.Severity, so nothing
// the source said is lost.
func NormalizeLevel(severity string) (string, bool) {
	lvl, ok := severityWords[strings.ToLower(strings.TrimSpace(severity))]
	return lvl, ok
}

// LevelFromRiskScore maps a 0..100 risk score onto a level with Elastic's
// bands (0-21 low, 22-47 medium, 48-73 high, 74-100 critical), and returns
// false outside 0..100.
func LevelFromRiskScore(score int) (string, bool) {
	switch {
	case score < 0 || score > 100:
		return "", false
	case score < 22:
		return LevelLow, true
	case score < 48:
		return LevelMedium, true
	case score < 74:
		return LevelHigh, true
	}
	return LevelCritical, true
}
