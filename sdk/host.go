package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxMessageSize bounds one gRPC message in either direction. gRPC's 4 MiB
// default is too small for large records; unlimited would let one bad plugin
// exhaust the host's memory.
const MaxMessageSize = 64 << 20

// ChunkSize is the largest artifact chunk an exporter sends in one message.
const ChunkSize = 1 << 20

// Client is what the host gets when it dispenses DispenseName from a plugin
// started with HostPluginSets. Every protocol major version the host speaks
// dispenses a value implementing Client, so host code does not change when a
// v2 is added.
type Client interface {
	// Describe returns what the plugin offers.
	Describe(ctx context.Context) (*Description, error)

	// ValidateConfig checks a component's config. kind is "importer" or
	// "exporter". Problems with the config are diagnostics; the error is for
	// transport failures and unknown kinds.
	ValidateConfig(ctx context.Context, kind, typ string, config json.RawMessage) ([]Diagnostic, error)

	// Import runs an import and calls handle for every event, in order. An
	// error from handle cancels the import and is returned. When the plugin
	// reported ERROR diagnostics, Import returns an error wrapping them as
	// Diagnostics (errors.As); the caller must then discard the run.
	Import(ctx context.Context, req ImportRequest, handle func(ImportEvent) error) error

	// Export sends the records produced by records (which calls yield once
	// per record; yield returns an error when the export stopped early) and
	// writes the artifacts the plugin streams back to the writers returned by
	// out. A writer that also implements io.Closer is closed when its
	// artifact is complete. It returns all diagnostics, and an error wrapping
	// the ERROR ones (as Diagnostics) if there were any.
	Export(ctx context.Context, req ExportRequest, records func(yield func(Record) error) error, out func(name, mediaType string) (io.Writer, error)) ([]Diagnostic, error)
}

// ImportEvent is one message of an import stream: exactly one field is set.
type ImportEvent struct {
	Record     *IncomingRecord
	Diagnostic *Diagnostic
	Progress   *Progress
}

// IncomingRecord is a record as it arrived from a plugin, not yet decoded, so
// that the host can hash and store the exact bytes.
type IncomingRecord struct {
	Kind       string
	ExternalID string
	JSON       []byte
	File       string
	Line       int
}

// Decode decodes and validates the record, and checks that its kind and id
// agree with the envelope. Errors name the kind, id and position.
func (r *IncomingRecord) Decode() (Record, error) {
	rec, err := DecodeRecord(r.Kind, r.JSON)
	if err == nil && rec.ID() != r.ExternalID {
		err = fmt.Errorf("record says external id %q but was sent as %q", rec.ID(), r.ExternalID)
	}
	if err != nil {
		return nil, fmt.Errorf("%s%s %q: %w", r.position(), r.Kind, r.ExternalID, err)
	}
	return rec, nil
}

func (r *IncomingRecord) position() string {
	switch {
	case r.File != "" && r.Line > 0:
		return fmt.Sprintf("%s:%d: ", r.File, r.Line)
	case r.File != "":
		return r.File + ": "
	}
	return ""
}

// Progress reports how far an import or export got.
type Progress struct {
	Done    int64  `json:"done"`
	Total   int64  `json:"total,omitempty"` // 0 when unknown
	Message string `json:"message,omitempty"`
}

// HostPluginSets is the go-plugin VersionedPlugins map the host passes in
// its ClientConfig. Today it holds protocol 1; a v2 will be added beside it,
// and both dispense a Client under DispenseName.
func HostPluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {DispenseName: &grpcPlugin{}},
	}
}

// HostDialOptions raise the host's per-call message limits to
// MaxMessageSize; pass them as ClientConfig.GRPCDialOptions.
func HostDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
	}
}

// HostClientConfig returns the parts of a go-plugin ClientConfig that the
// protocol fixes: handshake, versions, gRPC only, AutoMTLS and message
// limits. The host adds SecureConfig, Logger, StartTimeout, SkipHostEnv and
// the command's environment.
func HostClientConfig(cmd *exec.Cmd) *plugin.ClientConfig {
	return &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: HostPluginSets(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  HostDialOptions(),
	}
}

// ErrPluginUnavailable is wrapped by Client errors when the plugin process
// stopped answering, which almost always means it crashed or was killed.
var ErrPluginUnavailable = errors.New("plugin unavailable (the plugin process probably crashed or was killed)")

// IsUnavailable reports whether err means the plugin process is gone, as
// opposed to a failed call on a live plugin.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrPluginUnavailable) {
		return true
	}
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable
}
