package importer

import (
	"testing"

	"github.com/aegis-sec/aegis/core"
)

// Only a move of a template's or a rule's technique can change the template ↔ rule
// links; a NIST or D3FEND import moves its own mappings in every run.
func TestMovedLinkInputs(t *testing.T) {
	for _, c := range []struct {
		moved map[string]int
		want  bool
	}{
		{map[string]int{"compliance_control_mappings": 12, "defensive_technique_mappings": 3, "tests": 2}, false},
		{map[string]int{"detection_rule_techniques": 1}, true},
		{map[string]int{"compliance_control_mappings": 4, "test_template_techniques": 2}, true},
		{nil, false},
	} {
		moves := []core.RemapMove{{From: "T1086", To: "T1059.001", Moved: map[string]int{"technique_mitigations": 1}}, {Moved: c.moved}}
		if got := movedLinkInputs(moves); got != c.want {
			t.Errorf("moved %v: %v, want %v", c.moved, got, c.want)
		}
	}
}
