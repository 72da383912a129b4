package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// controlIDRe accepts the spellings found in the wild: "AC-2", "AC-02"
// (Mappings Explorer), "AC-2(1)", "AC-02(01)", "ac-2.1" (OSCAL), "AC-2 (1)".
var controlIDRe = regexp.MustCompile(`^([A-Za-z]{2})\s*-\s*(\d{1,3})\s*(?:\(\s*(\d{1,3})\s*\)|\.(\d{1,3}))?$`)

// controlID is a normalised control or enhancement id.
type controlID struct {
	Family      string // "AC"
	Number      int    // 2
	Enhancement int    // 1 for AC-2(1); 0 for a base control
}

func parseControlID(s string) (controlID, bool) {
	m := controlIDRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return controlID{}, false
	}
	id := controlID{Family: strings.ToUpper(m[1])}
	id.Number, _ = strconv.Atoi(m[2])
	enh := m[3] + m[4]
	if enh != "" {
		id.Enhancement, _ = strconv.Atoi(enh)
		if id.Enhancement == 0 {
			return controlID{}, false
		}
	}
	if id.Number == 0 {
		return controlID{}, false
	}
	return id, true
}

// String is the canonical form: no zero padding, enhancement in parentheses.
func (c controlID) String() string {
	if c.Enhancement > 0 {
		return fmt.Sprintf("%s-%d(%d)", c.Family, c.Number, c.Enhancement)
	}
	return fmt.Sprintf("%s-%d", c.Family, c.Number)
}

// Parent is the base control of an enhancement, "" for a base control.
func (c controlID) Parent() string {
	if c.Enhancement == 0 {
		return ""
	}
	return controlID{Family: c.Family, Number: c.Number}.String()
}

// less orders controls as the catalog does: AC-2 < AC-2(1) < AC-2(10) < AC-3.
func (c controlID) less(o controlID) bool {
	if c.Family != o.Family {
		return c.Family < o.Family
	}
	if c.Number != o.Number {
		return c.Number < o.Number
	}
	return c.Enhancement < o.Enhancement
}

// families are the twenty control families of SP 800-53 rev. 5.
var families = map[string]string{
	"AC": "Access Control",
	"AT": "Awareness and Training",
	"AU": "Audit and Accountability",
	"CA": "Assessment, Authorization, and Monitoring",
	"CM": "Configuration Management",
	"CP": "Contingency Planning",
	"IA": "Identification and Authentication",
	"IR": "Incident Response",
	"MA": "Maintenance",
	"MP": "Media Protection",
	"PE": "Physical and Environmental Protection",
	"PL": "Planning",
	"PM": "Program Management",
	"PS": "Personnel Security",
	"PT": "PII Processing and Transparency",
	"RA": "Risk Assessment",
	"SA": "System and Services Acquisition",
	"SC": "System and Communications Protection",
	"SI": "System and Information Integrity",
	"SR": "Supply Chain Risk Management",
}
