package sdk

import (
	"context"
	"encoding/json"
)

// ComponentKind says whether a component imports or exports.
type ComponentKind string

const (
	ComponentImporter ComponentKind = "importer"
	ComponentExporter ComponentKind = "exporter"
)

// Component describes one importer or exporter of a plugin.
type Component struct {
	// Kind is filled in by the SDK from the ServeOpts map it was found in.
	Kind ComponentKind `json:"kind"`
	// Type is filled in by the SDK from the ServeOpts map key.
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// RecordKinds are the kinds produced (importer) or consumed (exporter).
	RecordKinds []string `json:"record_kinds,omitempty"`
	// ConfigSchema is a JSON Schema for the component's config object.
	ConfigSchema json.RawMessage `json:"config_schema,omitempty"`
	// MediaTypes are the media types of an exporter's artifacts.
	MediaTypes []string `json:"media_types,omitempty"`
}

// Description is what a plugin says about itself: the Describe RPC and the
// `describe` subcommand both return it.
type Description struct {
	Name            string      `json:"name"`
	Version         string      `json:"version"`
	SDKVersion      string      `json:"sdk_version"`
	ProtocolVersion int         `json:"protocol_version"`
	ProtocolMinor   int         `json:"protocol_minor"`
	Components      []Component `json:"components"`
}

// Component returns the component of the given kind and type.
func (d *Description) Component(kind ComponentKind, typ string) (Component, bool) {
	for _, c := range d.Components {
		if c.Kind == kind && c.Type == typ {
			return c, true
		}
	}
	return Component{}, false
}

// Describer is implemented by importers and exporters that describe
// themselves. Kind and Type in the returned value are ignored: the SDK takes
// them from ServeOpts.
type Describer interface {
	Describe() Component
}

// ConfigValidator is implemented by importers and exporters that check their
// configuration. The SDK calls it for the ValidateConfig RPC (the host calls
// that when it loads aegis.hcl) and again before every Import and Export, so
// Import can assume a valid config.
type ConfigValidator interface {
	ValidateConfig(ctx context.Context, config json.RawMessage) Diagnostics
}
