// Package protocol holds what both ends of plugin protocol v1 must agree on
// and that an author never touches: the go-plugin handshake, the dispense
// name, message limits, and the mapping of component kinds onto the wire.
package protocol

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-plugin"

	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
	"github.com/aegis-sec/aegis/sdk/source"
)

// Handshake is shared by host and plugins. The cookie must never change: it
// only tells a plugin binary that it was started by Aegis (a UX feature, not a
// security measure). ProtocolVersion is deliberately 0 because versions are
// negotiated through VersionedPlugins.
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "AEGIS_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "12396961b4bb1602e7849e5495f6e3b50c788bec76ac872f75ef3709ceee32e6",
}

// DispenseName is the single name under which a v1 plugin set is dispensed.
const DispenseName = "plugin"

// MaxMessageSize bounds one gRPC message in either direction. gRPC's 4 MiB
// default is too small for large records; unlimited would let one bad plugin
// exhaust the host's memory.
const MaxMessageSize = 64 << 20

// ChunkSize is the largest artifact chunk an exporter sends in one message.
const ChunkSize = 1 << 20

// Component kinds as the public API spells them.
const (
	KindImporter = "importer"
	KindExporter = "exporter"
)

// KindToProto maps "importer" or "exporter" onto the wire enum.
func KindToProto(k string) (pb.ComponentKind, error) {
	switch k {
	case KindImporter:
		return pb.ComponentKind_COMPONENT_KIND_IMPORTER, nil
	case KindExporter:
		return pb.ComponentKind_COMPONENT_KIND_EXPORTER, nil
	}
	return pb.ComponentKind_COMPONENT_KIND_UNSPECIFIED, fmt.Errorf("unknown component kind %q (want importer or exporter)", k)
}

// KindFromProto is the inverse of KindToProto; a kind from a later minor
// version comes back as "unknown(N)".
func KindFromProto(k pb.ComponentKind) string {
	switch k {
	case pb.ComponentKind_COMPONENT_KIND_IMPORTER:
		return KindImporter
	case pb.ComponentKind_COMPONENT_KIND_EXPORTER:
		return KindExporter
	}
	return fmt.Sprintf("unknown(%d)", int32(k))
}

// ClampLine keeps a line number inside the wire's int32; out of range is 0
// (unknown).
func ClampLine(line int) int32 {
	if line < 0 || line > 1<<31-1 {
		return 0
	}
	return int32(line)
}

// EchoMessage is the log message under which a plugin echoes each diagnostic on its
// stderr (a JSON hclog line whose fields are the sdk.Diagnostic's JSON fields). The
// host reads these lines only when the process died before the diagnostics it sent
// over gRPC arrived.
const EchoMessage = "aegis.diagnostic"

// FileStatesToProto converts file states for ImportRequest.previous_files and
// FileReport; a zero time travels as 0.
func FileStatesToProto(sts []source.FileState) []*pb.FileState {
	if len(sts) == 0 {
		return nil
	}
	out := make([]*pb.FileState, len(sts))
	for i, st := range sts {
		out[i] = &pb.FileState{Path: st.Path, Size: st.Size, Sha256: st.SHA256}
		if !st.ModTime.IsZero() {
			out[i].ModTimeUnixNano = st.ModTime.UnixNano()
		}
	}
	return out
}

// FileStatesFromProto is the inverse of FileStatesToProto.
func FileStatesFromProto(ps []*pb.FileState) []source.FileState {
	if len(ps) == 0 {
		return nil
	}
	out := make([]source.FileState, len(ps))
	for i, p := range ps {
		out[i] = source.FileState{Path: p.GetPath(), Size: p.GetSize(), SHA256: p.GetSha256()}
		if ns := p.GetModTimeUnixNano(); ns != 0 {
			out[i].ModTime = time.Unix(0, ns)
		}
	}
	return out
}
