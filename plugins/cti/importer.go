package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aegis-sec/aegis/plugins/internal/stix"
	"github.com/aegis-sec/aegis/sdk"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	stix.SourceConfig
	// IncludeRevoked keeps revoked intrusion sets and campaigns (flagged
	// revoked); by default they are left out, as ATT&CK merged them into
	// another group.
	IncludeRevoked bool `json:"include_revoked,omitempty"`
	// ViaSoftware adds the techniques of the software (malware, tools) an
	// actor uses to the actor's techniques. Default true.
	ViaSoftware *bool `json:"via_software,omitempty"`
	// ViaCampaigns adds the techniques of the campaigns attributed to an
	// actor. Default true.
	ViaCampaigns *bool `json:"via_campaigns,omitempty"`
}

func (c config) viaSoftware() bool  { return c.ViaSoftware == nil || *c.ViaSoftware }
func (c config) viaCampaigns() bool { return c.ViaCampaigns == nil || *c.ViaCampaigns }

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {` + stix.SourceSchemaProperties + `,
    "include_revoked": {"type": "boolean", "default": false,
      "description": "Also import revoked intrusion sets and campaigns (flagged revoked)."},
    "via_software": {"type": "boolean", "default": true,
      "description": "Count the techniques of the software an actor uses as the actor's (procedure text says so)."},
    "via_campaigns": {"type": "boolean", "default": true,
      "description": "Count the techniques of the campaigns attributed to an actor as the actor's (procedure text says so)."}
  }
}`

func decodeConfig(raw json.RawMessage) (config, error) {
	return sdk.DecodeConfig(raw, config{})
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description: "Threat actors (ATT&CK intrusion sets) with the techniques they use, directly and through their " +
			"software and campaigns, and ATT&CK campaigns, from the same STIX sources as the attack plugin",
		RecordKinds:  []string{sdk.KindThreatActor, sdk.KindCampaign},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid cti config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	c.Check(&ds)
	return ds
}

func (*importer) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// An actor's record draws on relationship and technique files: the source is
	// skipped whole, when no file changed, or read whole.
	ds, unchanged, err := stix.LoadUnlessUnchanged(ctx, req.Source, cfg.Options(), out, req.PreviousFiles, out)
	if err != nil {
		return err
	}
	if unchanged {
		out.Progress(0, 0, "source unchanged since the previous import: nothing read")
		return nil
	}
	b := &builder{ds: ds, cfg: cfg, warn: func(p stix.Position, id, summary, detail string) {
		out.Warn(p.File, p.Line, id, summary, detail)
	}}
	items := b.build()
	if len(items) == 0 && b.skipped == 0 {
		// Emitting nothing would make the core deprecate every actor of an
		// earlier import from this source.
		return fmt.Errorf("%s holds %d STIX objects but no intrusion sets or campaigns", req.Source, ds.Len())
	}
	total := int64(len(items))
	for i, it := range items {
		err := out.RecordAt(it.rec, it.pos.File, it.pos.Line)
		var ve *sdk.ValidationError
		if errors.As(err, &ve) {
			out.Warn(it.pos.File, it.pos.Line, it.rec.ID(), "skipped invalid "+it.rec.Kind(), err.Error())
		} else if err != nil {
			return err
		}
		if (i+1)%100 == 0 || i+1 == len(items) {
			out.Progress(int64(i+1), total, "emitting threat actors and campaigns")
		}
	}
	return nil
}
