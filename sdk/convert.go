package sdk

// Conversions between the public Go types and the generated protocol types.
// They live in package sdk (not sdk/internal) because they need the public
// types and package sdk needs them: a separate package would be an import
// cycle. The protocol types still never appear in an exported signature.

import (
	"encoding/json"
	"fmt"

	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
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
		Line:       clampLine(d.Line),
		ExternalId: d.ExternalID,
	}
}

func diagnosticFromProto(d *pb.Diagnostic) Diagnostic {
	// An unspecified severity is a plugin bug: fail safe and treat it as an
	// error. A severity added by a later minor version is below error.
	sev := SeverityWarning
	switch d.GetSeverity() {
	case pb.Severity_SEVERITY_ERROR, pb.Severity_SEVERITY_UNSPECIFIED:
		sev = SeverityError
	}
	return Diagnostic{
		Severity:   sev,
		Summary:    d.GetSummary(),
		Detail:     d.GetDetail(),
		Attribute:  d.GetAttribute(),
		File:       d.GetFile(),
		Line:       int(d.GetLine()),
		ExternalID: d.GetExternalId(),
	}
}

func diagnosticsToProto(ds Diagnostics) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, 0, len(ds))
	for _, d := range ds {
		out = append(out, diagnosticToProto(d))
	}
	return out
}

func diagnosticsFromProto(ds []*pb.Diagnostic) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		out = append(out, diagnosticFromProto(d))
	}
	return out
}

func componentKindToProto(k ComponentKind) (pb.ComponentKind, error) {
	switch k {
	case ComponentImporter:
		return pb.ComponentKind_COMPONENT_KIND_IMPORTER, nil
	case ComponentExporter:
		return pb.ComponentKind_COMPONENT_KIND_EXPORTER, nil
	}
	return pb.ComponentKind_COMPONENT_KIND_UNSPECIFIED, fmt.Errorf("unknown component kind %q (want importer or exporter)", k)
}

func componentKindFromProto(k pb.ComponentKind) ComponentKind {
	switch k {
	case pb.ComponentKind_COMPONENT_KIND_IMPORTER:
		return ComponentImporter
	case pb.ComponentKind_COMPONENT_KIND_EXPORTER:
		return ComponentExporter
	}
	return ComponentKind(fmt.Sprintf("unknown(%d)", int32(k)))
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
		kind, _ := componentKindToProto(c.Kind) // validated by BuildDescription
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

func descriptionFromProto(r *pb.DescribeResponse) *Description {
	d := &Description{
		Name:            r.GetName(),
		Version:         r.GetVersion(),
		SDKVersion:      r.GetSdkVersion(),
		ProtocolVersion: int(r.GetProtocolVersion()),
		ProtocolMinor:   int(r.GetProtocolMinor()),
		Components:      []Component{},
	}
	for _, c := range r.GetComponents() {
		comp := Component{
			Kind:        componentKindFromProto(c.GetKind()),
			Type:        c.GetType(),
			Description: c.GetDescription(),
			RecordKinds: c.GetRecordKinds(),
			MediaTypes:  c.GetMediaTypes(),
		}
		if len(c.GetConfigSchema()) > 0 {
			comp.ConfigSchema = json.RawMessage(c.GetConfigSchema())
		}
		d.Components = append(d.Components, comp)
	}
	return d
}

func recordToProto(r Record) (*pb.Record, error) {
	kind, id, data, err := EncodeRecord(r)
	if err != nil {
		return nil, err
	}
	return &pb.Record{Kind: kind, ExternalId: id, Json: data}, nil
}

func incomingFromProto(r *pb.Record) *IncomingRecord {
	return &IncomingRecord{
		Kind:       r.GetKind(),
		ExternalID: r.GetExternalId(),
		JSON:       r.GetJson(),
		File:       r.GetFile(),
		Line:       int(r.GetLine()),
	}
}

func progressFromProto(p *pb.Progress) *Progress {
	return &Progress{Done: p.GetDone(), Total: p.GetTotal(), Message: p.GetMessage()}
}

// rawConfig turns absent config into an empty object so that components
// always get valid JSON to unmarshal.
func rawConfig(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(b)
}
