package integration

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The production database gets the real data too: the same imports on SQLite and
// PostgreSQL store the same catalog, link for link.
func TestUpstreamOnPostgres(t *testing.T) {
	attack := filepath.Join(upstream(t, "mitre-cti"), "enterprise-attack")
	sigma, atomic := upstream(t, "sigma"), upstream(t, "atomic-red-team")
	d3fend, nist := upstream(t, "d3fend"), filepath.Join(upstream(t, "mappings-explorer"), "mappings")
	configs := map[string]string{"attack": `{"release_version":"18.1"}`, "cti": "", "sigma": "", "atomic": "",
		"d3fend": `{"attack_source": "` + attack + `"}`, "nist": ""}
	counts := map[string]map[string]int{}
	for _, driver := range []string{store.SQLite, store.Postgres} {
		e := newEnvOn(t, driver, configs)
		e.Import(t, "attack", attack)
		e.Import(t, "cti", attack)
		e.Import(t, "sigma", sigma)
		e.Import(t, "atomic", atomic)
		e.Import(t, "d3fend", d3fend)
		e.Import(t, "nist", nist)
		again := e.Import(t, "sigma", sigma)
		if again.Added+again.Updated+again.Deprecated != 0 {
			t.Errorf("%s: sigma re-import changed %d records", driver, again.Added+again.Updated+again.Deprecated)
		}
		c := map[string]int{}
		for _, table := range []string{"techniques", "tactics", "technique_tactics", "mitigations", "technique_mitigations",
			"threat_actors", "threat_actor_techniques", "campaign_profiles", "detection_rules", "detection_rule_techniques",
			"test_templates", "test_template_techniques", "import_records",
			"attack_release_techniques", "defensive_techniques", "defensive_technique_mappings", "compliance_frameworks",
			"compliance_controls", "compliance_control_mappings"} {
			c[table] = e.Count(t, "SELECT COUNT(*) FROM "+table)
		}
		c["unknown techniques"] = e.Count(t, "SELECT COUNT(*) FROM techniques WHERE NOT known")
		// The template ↔ rule links, derived when read, checked against a full association.
		c["test_template_detection_rules"] = storetest.CheckAssociations(t, e.Store)
		counts[driver] = c
	}
	lite, pg := counts[store.SQLite], counts[store.Postgres]
	for k, v := range lite {
		if pg[k] != v {
			t.Errorf("%s: %d on SQLite, %d on PostgreSQL", k, v, pg[k])
		}
	}
	if lite["test_template_detection_rules"] == 0 || lite["threat_actor_techniques"] == 0 ||
		lite["defensive_technique_mappings"] == 0 || lite["compliance_control_mappings"] == 0 {
		t.Fatalf("nothing was linked: %v", lite)
	}
	t.Log(fmt.Sprint(lite))
}
