package sdk

// Conversions from the public Go types to the generated protocol types, for
// the plugin side. They live in package sdk (not sdk/internal) because they
// need the public types and package sdk needs them: a separate package would
// be an import cycle. The host's conversions back are in package host. The
// protocol types never appear in an exported signature.

import (
	"encoding/json"
	"fmt"

	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
)

func diagnosticToProto(d Diagnostic) *pb.Diagnostic {
	sev := pb.Severity_SEVERITY_ERROR
	if d.Severity == SeverityWarning {
		sev = pb.Severity_SEVERITY_WARNING
	}
	return &pb.Diagnostic{
		Severity:   sev,
		Summary:    d.Summary,
		Detail:     d.Detail,
		Attribute:  d.Attribute,
		File:       d.File,
		Line:       protocol.ClampLine(d.Line),
		ExternalId: d.ExternalID,
	}
}

func diagnosticsToProto(ds Diagnostics) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, diagnosticToProto(d))
	}
	return out
}

func descriptionToProto(d *Description) *pb.DescribeResponse {
	out := &pb.DescribeResponse{
		Name:            d.Name,
		Version:         d.Version,
		SdkVersion:      d.SDKVersion,
		ProtocolVersion: uint32(d.ProtocolVersion),
		ProtocolMinor:   uint32(d.ProtocolMinor),
	}
	for _, c := range d.Components {
		kind, _ := protocol.KindToProto(string(c.Kind)) // validated by BuildDescription
		out.Components = append(out.Components, &pb.Component{
			Kind:         kind,
			Type:         c.Type,
			Description:  c.Description,
			RecordKinds:  c.RecordKinds,
			ConfigSchema: c.ConfigSchema,
			MediaTypes:   c.MediaTypes,
		})
	}
	return out
}

// decodeSent decodes a record the host sent to an exporter and checks that
// its id agrees with the envelope.
func decodeSent(r *pb.Record) (Record, error) {
	rec, err := DecodeRecord(r.GetKind(), r.GetJson())
	if err == nil && rec.ID() != r.GetExternalId() {
		err = fmt.Errorf("record says external id %q but was sent as %q", rec.ID(), r.GetExternalId())
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", r.GetKind(), r.GetExternalId(), err)
	}
	return rec, nil
}

// rawConfig turns absent config into an empty object so that components
// always get valid JSON to unmarshal.
func rawConfig(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(b)
}
