package host

// Conversions from the generated protocol types to the public Go types, for
// the host side; package sdk holds the plugin side's conversions the other way.

import (
	"encoding/json"

	"github.com/aegis-sec/aegis/sdk"
	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
)

func diagnosticFromProto(d *pb.Diagnostic) sdk.Diagnostic {
	// An unspecified severity is a plugin bug: fail safe and treat it as an
	// error. A severity added by a later minor version is below error.
	sev := sdk.SeverityWarning
	switch d.GetSeverity() {
	case pb.Severity_SEVERITY_ERROR, pb.Severity_SEVERITY_UNSPECIFIED:
		sev = sdk.SeverityError
	}
	return sdk.Diagnostic{
		Severity:   sev,
		Summary:    d.GetSummary(),
		Detail:     d.GetDetail(),
		Attribute:  d.GetAttribute(),
		File:       d.GetFile(),
		Line:       int(d.GetLine()),
		ExternalID: d.GetExternalId(),
	}
}

func diagnosticsFromProto(ds []*pb.Diagnostic) sdk.Diagnostics {
	var out sdk.Diagnostics
	for _, d := range ds {
		out = append(out, diagnosticFromProto(d))
	}
	return out
}

func descriptionFromProto(r *pb.DescribeResponse) *sdk.Description {
	d := &sdk.Description{
		Name:            r.GetName(),
		Version:         r.GetVersion(),
		SDKVersion:      r.GetSdkVersion(),
		ProtocolVersion: int(r.GetProtocolVersion()),
		ProtocolMinor:   int(r.GetProtocolMinor()),
		Components:      []sdk.Component{},
	}
	for _, c := range r.GetComponents() {
		comp := sdk.Component{
			Kind:        sdk.ComponentKind(protocol.KindFromProto(c.GetKind())),
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

func recordToProto(r sdk.Record) (*pb.Record, error) {
	kind, id, data, err := sdk.EncodeRecord(r)
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
