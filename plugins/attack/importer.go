package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/aegis-sec/aegis/plugins/internal/stix"
	"github.com/aegis-sec/aegis/sdk"
)

// config is the plugin's `config { ... }` block from aegis.hcl.
type config struct {
	stix.SourceConfig
	// ReleaseVersion labels the records with an ATT&CK release ("18.1")
	// when the data does not say (mitre/cti's folders carry no collection
	// object), or overrides what it says.
	ReleaseVersion string `json:"release_version,omitempty"`
}

const configSchema = `{
  "type": "object",
  "additionalProperties": false,
  "properties": {` + stix.SourceSchemaProperties + `,
    "release_version": {
      "type": "string", "pattern": "^[0-9]+(\\.[0-9]+)*$",
      "description": "ATT&CK release the records are labelled with, e.g. 18.1; default the collection's x_mitre_version, the index release, or a version in the source's name."
    }
  }
}`

var releaseRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

func decodeConfig(raw json.RawMessage) (config, error) {
	return sdk.DecodeConfig(raw, config{})
}

type importer struct{}

func (*importer) Describe() sdk.Component {
	return sdk.Component{
		Description: "MITRE ATT&CK Enterprise, Mobile and ICS (tactics, techniques, sub-techniques, mitigations) " +
			"from a STIX 2.1 bundle, mitre/cti STIX 2.0 folders, a collection index or a TAXII 2.1 server",
		RecordKinds:  []string{sdk.KindTactic, sdk.KindTechnique, sdk.KindMitigation},
		ConfigSchema: json.RawMessage(configSchema),
	}
}

func (*importer) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	c, err := decodeConfig(raw)
	if err != nil {
		ds.AddError("invalid attack config", err.Error(), sdk.ConfigKey(err))
		return ds
	}
	c.Check(&ds)
	if c.ReleaseVersion != "" && !releaseRe.MatchString(c.ReleaseVersion) {
		ds.AddError(fmt.Sprintf("release_version %q is not a release such as 18.1", c.ReleaseVersion), "", "release_version")
	}
	return ds
}

func (*importer) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	ds, unchanged, err := stix.LoadUnlessUnchanged(ctx, req.Source, cfg.Options(), out, req.PreviousFiles, out)
	if err != nil {
		return err
	}
	if unchanged {
		// The host keeps every record of the previous run.
		out.Progress(0, 0, "ATT&CK source unchanged since the previous import: nothing read")
		return nil
	}
	b := &builder{ds: ds, release: cfg.ReleaseVersion, warn: func(p stix.Position, id, summary, detail string) {
		out.Warn(p.File, p.Line, id, summary, detail)
	}}
	items := b.build()
	if len(items) == 0 {
		// Emitting nothing would make the core deprecate every record of an
		// earlier import from this source; a source without ATT&CK is an error.
		return fmt.Errorf("%s holds %d STIX objects but no ATT&CK tactics, techniques or mitigations", req.Source, ds.Len())
	}
	if b.unknownRelease {
		out.Warn("", 0, "", "ATT&CK release unknown",
			`the source carries no x-mitre-collection and its name no release; set release_version (e.g. "18.1") in the plugin's config so that techniques record the release they were last seen in`)
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
		if (i+1)%250 == 0 || i+1 == len(items) {
			out.Progress(int64(i+1), total, "emitting ATT&CK records")
		}
	}
	return nil
}
