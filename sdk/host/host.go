// Package host is the Aegis side of plugin protocol v1: it starts nothing
// itself, but gives the core (and sdktest) the go-plugin configuration and
// the [Client] that talks to a plugin process. Plugin authors do not need
// it; they use package sdk.
package host

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

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
	"github.com/aegis-sec/aegis/sdk/source"
)

// Handshake is the go-plugin handshake every Aegis plugin answers.
var Handshake = protocol.Handshake

// DispenseName is the single name under which a v1 plugin set is dispensed.
const DispenseName = protocol.DispenseName

// MaxMessageSize bounds one gRPC message in either direction.
const MaxMessageSize = protocol.MaxMessageSize

// MaxBatch is how many records the host asks a plugin to send per message
// (protocol minor 1; a plugin of minor 0 sends one per message). One message per
// record cost a gRPC frame, a protobuf envelope and a scheduler wake-up each.
const MaxBatch = 256

// Client is what the host gets when it dispenses DispenseName from a plugin
// started with PluginSets. Every protocol major version the host speaks
// dispenses a value implementing Client, so host code does not change when a
// v2 is added.
type Client interface {
	// Describe returns what the plugin offers.
	Describe(ctx context.Context) (*sdk.Description, error)

	// ValidateConfig checks a component's config. kind is "importer" or
	// "exporter". Problems with the config are diagnostics; the error is for
	// transport failures and unknown kinds.
	ValidateConfig(ctx context.Context, kind, typ string, config json.RawMessage) ([]sdk.Diagnostic, error)

	// Import runs an import and calls handle for every event, in order. An
	// error from handle cancels the import and is returned. When the plugin
	// reported ERROR diagnostics, Import returns an error wrapping them as
	// sdk.Diagnostics (errors.As); the caller must then discard the run.
	Import(ctx context.Context, req sdk.ImportRequest, handle func(ImportEvent) error) error

	// Export sends the records produced by records (which calls yield once
	// per record; yield returns an error when the export stopped early) and
	// writes the artifacts the plugin streams back to the writers returned by
	// out. A writer that also implements io.Closer is closed when its
	// artifact is complete. It returns all diagnostics, and an error wrapping
	// the ERROR ones (as sdk.Diagnostics) if there were any.
	Export(ctx context.Context, req sdk.ExportRequest, records func(yield func(sdk.Record) error) error, out func(name, mediaType string) (io.Writer, error)) ([]sdk.Diagnostic, error)
}

// ImportEvent is one message of an import stream: exactly one field is set.
type ImportEvent struct {
	Record     *IncomingRecord
	Diagnostic *sdk.Diagnostic
	Progress   *Progress
	// Files (protocol minor 2, only when the request set ReportFiles) says which
	// source files the plugin read and which it skipped as unchanged.
	Files *FileReport
}

// FileReport is one message of file reports from a plugin.
type FileReport struct {
	Read      []source.FileState
	Unchanged []source.FileState
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
func (r *IncomingRecord) Decode() (sdk.Record, error) {
	rec, err := sdk.DecodeRecord(r.Kind, r.JSON)
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

// clientPlugin is the host side of the go-plugin glue: it only dispenses.
type clientPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (clientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("aegis host: the host-side plugin set cannot serve (plugins use sdk.Serve)")
}

func (clientPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newGRPCClient(c), nil
}

// PluginSets is the go-plugin VersionedPlugins map the host passes in its
// ClientConfig. Today it holds protocol 1; a v2 will be added beside it, and
// both dispense a Client under DispenseName.
func PluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		sdk.ProtocolVersion: {DispenseName: clientPlugin{}},
	}
}

// DialOptions raise the host's per-call message limits to MaxMessageSize;
// pass them as ClientConfig.GRPCDialOptions.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
	}
}

// ClientConfig returns the parts of a go-plugin ClientConfig that the
// protocol fixes: handshake, versions, gRPC only, AutoMTLS and message
// limits. The host adds SecureConfig, Logger, StartTimeout, SkipHostEnv and
// the command's environment.
func ClientConfig(cmd *exec.Cmd) *plugin.ClientConfig {
	return &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  DialOptions(),
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
