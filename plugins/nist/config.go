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
	// Files is a glob, relative to the source, of the JSON files to read;
	// each is recognised by its content.
	Files string `json:"files"`
	// AttackSource is ATT&CK STIX data (a bundle, a mitre/cti folder, or a
	// URL of either) to resolve the attack-pattern ids of the STIX format.
	AttackSource string `json:"attack_source"`
}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "files":         {"type": "string", "default": "**/*.json", "description": "glob, relative to the source, of the JSON files to read"},
    "attack_source": {"type": "string", "description": "ATT&CK STIX data (bundle, mitre/cti folder or URL) that resolves the attack-pattern ids of the STIX mappings"}
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	c, err := sdk.DecodeConfig(raw, config{Files: "**/*.json"})
	c.AttackSource = strings.TrimSpace(c.AttackSource)
	return c, err
}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description: "NIST SP 800-53 rev. 5 controls, enhancements and control-to-ATT&CK mappings from Mappings Explorer JSON " +
			"or the STIX bundles of attack-control-framework-mappings",
		RecordKinds:  []string{sdk.KindComplianceFramework, sdk.KindComplianceControl},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid nist config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	if strings.TrimSpace(c.Files) == "" {
		ds.AddError("files must not be empty", "", "files")
	} else if _, err := path.Match(strings.ReplaceAll(c.Files, "**", "*"), ""); err != nil {
		ds.AddError("invalid glob", err.Error(), "files")
	}
	return ds
}
