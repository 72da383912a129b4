package main

import (
	"context"
	"encoding/json"
	"path"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	// Ontology is a glob, relative to the source, naming the JSON-LD ontology.
	Ontology string `json:"ontology"`
	// Mitigations is a glob, relative to the source, naming D3FEND's
	// ATT&CK-mitigation mappings (attack-mitigations.json).
	Mitigations string `json:"mitigations"`
	// MitigationsSource is a URL or path of attack-mitigations.json when it
	// is not inside the source (e.g. the source is the ontology URL alone).
	MitigationsSource string `json:"mitigations_source"`
	// AttackSource is ATT&CK STIX data (a bundle, a mitre/cti folder, or a URL
	// of either) that says which techniques each mitigation mitigates. Without
	// it the mitigation mappings cannot name techniques and are left out.
	AttackSource string `json:"attack_source"`
}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "ontology":           {"type": "string", "default": "**/d3fend.json", "description": "glob, relative to the source, of the D3FEND JSON-LD ontology"},
    "mitigations":        {"type": "string", "default": "**/attack-mitigations.json", "description": "glob, relative to the source, of D3FEND's ATT&CK mitigation mappings"},
    "mitigations_source": {"type": "string", "description": "URL or path of attack-mitigations.json when it is not inside the source"},
    "attack_source":      {"type": "string", "description": "ATT&CK STIX data (bundle, mitre/cti folder or URL) used to expand mitigations to the techniques they mitigate"}
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{Ontology: "**/d3fend.json", Mitigations: "**/attack-mitigations.json"})
	c.MitigationsSource = strings.TrimSpace(c.MitigationsSource)
	c.AttackSource = strings.TrimSpace(c.AttackSource)
	return c, err
}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description:  "MITRE D3FEND defensive techniques from the JSON-LD ontology, related to ATT&CK techniques through shared digital artifacts and through ATT&CK mitigations",
		RecordKinds:  []string{sdk.KindDefensiveTechnique},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid d3fend config", err.Error(), "")
		return ds
	}
	for _, g := range [][2]string{{"ontology", c.Ontology}, {"mitigations", c.Mitigations}} {
		attr, glob := g[0], g[1]
		if strings.TrimSpace(glob) == "" {
			ds.AddError(attr+" must not be empty", "", attr)
		} else if _, err := path.Match(strings.ReplaceAll(glob, "**", "*"), ""); err != nil {
			ds.AddError("invalid glob", err.Error(), attr)
		}
	}
	return ds
}
