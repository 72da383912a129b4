package store

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/core"
)

// statSpec says how one entity is counted: its table and the expressions it is grouped
// by. Boolean columns are turned into text in SQL so both dialects give the same keys.
type statSpec struct {
	entity string
	table  string
	by     map[string]string // dimension name → SQL expression
}

func boolText(col string) string {
	return "CASE WHEN " + col + " THEN 'true' ELSE 'false' END"
}

// standing splits imported records into active, deprecated and revoked (and
// inactive, where users can switch records off), the counts users ask for first.
func standing(revoked, active bool) string {
	e := "CASE "
	if revoked {
		e += "WHEN revoked THEN 'revoked' "
	}
	e += "WHEN deprecated THEN 'deprecated' "
	if active {
		e += "WHEN NOT active THEN 'inactive' "
	}
	return e + "ELSE 'active' END"
}

var statSpecs = []statSpec{
	{"users", "users", map[string]string{"role": "role", "disabled": boolText("disabled")}},
	{"tactics", "tactics", map[string]string{"domain": "domain", "source": "source", "standing": standing(false, false)}},
	{"techniques", "techniques", map[string]string{
		"coverage_status": "coverage_status", "source": "source",
		"standing": "CASE WHEN revoked THEN 'revoked' WHEN deprecated THEN 'deprecated' WHEN NOT known THEN 'unknown_to_release' ELSE 'active' END",
		"level":    "CASE WHEN is_subtechnique THEN 'sub-technique' ELSE 'technique' END",
	}},
	{"mitigations", "mitigations", map[string]string{"source": "source", "standing": standing(false, false)}},
	{"test_templates", "test_templates", map[string]string{"source": "source", "type": "template_type", "active": boolText("active"), "deprecated": boolText("deprecated"), "standing": standing(false, true)}},
	{"detection_rules", "detection_rules", map[string]string{"source": "source", "format": "format", "kind": "kind", "level": "level", "deprecated": boolText("deprecated"), "standing": standing(false, true)}},
	{"defensive_techniques", "defensive_techniques", map[string]string{"source": "source", "standing": standing(false, false)}},
	{"defensive_technique_mappings", "defensive_technique_mappings", map[string]string{"relation": "relation"}},
	{"threat_actors", "threat_actors", map[string]string{"source": "source", "standing": standing(true, false)}},
	{"threat_actor_techniques", "threat_actor_techniques", nil},
	{"intel_items", "intel_items", map[string]string{"source": "source"}},
	{"compliance_frameworks", "compliance_frameworks", nil},
	{"compliance_controls", "compliance_controls", map[string]string{"source": "source", "standing": standing(false, false)}},
	{"compliance_control_mappings", "compliance_control_mappings", map[string]string{"mapping_type": "mapping_type"}},
	{"campaigns", "campaigns", map[string]string{"status": "status"}},
	{"tests", "tests", map[string]string{"state": "state", "remediation_status": "remediation_status"}},
	{"test_detection_results", "test_detection_results", map[string]string{"triggered": boolText("triggered"), "method": "method"}},
	{"evidences", "evidences", map[string]string{"team": "team"}},
	{"worklogs", "worklogs", nil},
	{"coverage_snapshots", "coverage_snapshots", nil},
	{"audit_logs", "audit_logs", nil},
	{"notifications", "notifications", map[string]string{"read": "CASE WHEN read_at IS NULL THEN 'unread' ELSE 'read' END"}},
	{"plugins", "plugins", map[string]string{"enabled": boolText("enabled")}},
	{"import_runs", "import_runs", map[string]string{"outcome": "outcome", "plugin": "plugin_name"}},
	{"export_runs", "export_runs", map[string]string{"outcome": "outcome", "plugin": "plugin_name"}},
	{"export_artifacts", "export_artifacts", nil},
	{"api_tokens", "api_tokens", nil},
	{"sessions", "sessions", nil},
	{"login_failures", "login_failures", nil},
	{"test_votes", "test_votes", map[string]string{"decision": "decision", "lead_role": "lead_role"}},
	{"technique_mitigations", "technique_mitigations", nil},
	{"campaign_profiles", "campaign_profiles", map[string]string{"kind": "kind", "source": "source", "standing": standing(false, false),
		// ATT&CK campaigns and adversary profiles share the table: each kind's own split.
		"standing_by_kind": "kind || ':' || " + standing(false, false)}},
	{"technique_reviews", "technique_reviews", map[string]string{"status": "status"}},
	{"campaign_tests", "campaign_tests", nil},
	{"detection_rule_techniques", "detection_rule_techniques", nil},
	{"test_template_techniques", "test_template_techniques", nil},
	{"technique_tactics", "technique_tactics", nil},
	{"scoring_configs", "scoring_configs", map[string]string{"active": boolText("active")}},
	{"snapshot_technique_states", "snapshot_technique_states", nil},
	{"import_records", "import_records", map[string]string{"kind": "kind", "source": "source", "deprecated": boolText("deprecated")}},
	{"snapshot_test_states", "snapshot_test_states", nil},
	{"technique_test_counts", "technique_test_counts", nil},
	{"technique_cell_validations", "technique_cell_validations", nil},
	{"campaign_test_dependencies", "campaign_test_dependencies", nil},
	{"campaign_progress", "campaign_progress", nil},
	{"job_runs", "job_runs", map[string]string{"job": "job", "outcome": "outcome"}},
	{"import_locks", "import_locks", map[string]string{"plugin": "plugin"}},
	{"coverage_generation", "coverage_generation", nil},
	{"import_files", "import_files", map[string]string{"plugin": "plugin_name"}},
	{"attack_release_techniques", "attack_release_techniques", map[string]string{"release": "domain || ' ' || release_version"}},
	{"attack_release_tactics", "attack_release_tactics", map[string]string{"release": "domain || ' ' || release_version"}},
}

// Stats counts every entity, and each by its dimensions, in one read transaction so the
// figures are consistent with each other.
func (s *Store) Stats(ctx context.Context) (*core.Stats, error) {
	st := &core.Stats{Entities: map[string]core.EntityStats{}}
	err := s.runTx(ctx, s.read, nil, func(tx *Tx) error {
		for _, spec := range statSpecs {
			var es core.EntityStats
			if err := tx.get(ctx, &es.Total, `SELECT COUNT(*) FROM `+spec.table); err != nil {
				return fmt.Errorf("store: count %s: %w", spec.table, err)
			}
			for dim, expr := range spec.by {
				var rows []struct {
					Key   string `db:"k"`
					Count int    `db:"n"`
				}
				q := `SELECT ` + expr + ` AS k, COUNT(*) AS n FROM ` + spec.table + ` GROUP BY ` + expr
				if err := tx.sel(ctx, &rows, q); err != nil {
					return fmt.Errorf("store: count %s by %s: %w", spec.table, dim, err)
				}
				if len(rows) == 0 {
					continue
				}
				if es.By == nil {
					es.By = map[string]map[string]int{}
				}
				m := map[string]int{}
				for _, r := range rows {
					m[r.Key] = r.Count
				}
				es.By[dim] = m
			}
			st.Entities[spec.entity] = es
		}
		// The template ↔ rule links are derived, not stored (core.AssociationQueryRepo):
		// counted by deriving them all, under the name their table had.
		links, err := tx.CountAssociations(ctx)
		if err != nil {
			return err
		}
		st.Entities["test_template_detection_rules"] = core.EntityStats{Total: links}
		return nil
	})
	return st, err
}
