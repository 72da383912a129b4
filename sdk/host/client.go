package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aegis-sec/aegis/sdk"
	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
)

// grpcClient is the host side of protocol v1.
type grpcClient struct {
	plugin   pb.PluginClient
	importer pb.ImporterClient
	exporter pb.ExporterClient
}

var _ Client = (*grpcClient)(nil)

func newGRPCClient(c grpc.ClientConnInterface) *grpcClient {
	return &grpcClient{
		plugin:   pb.NewPluginClient(c),
		importer: pb.NewImporterClient(c),
		exporter: pb.NewExporterClient(c),
	}
}

// callError maps a gRPC error onto what the host can act on: the caller's
// own cancellation, a dead plugin, a protocol call the plugin lacks, or a
// failed call (such as a recovered panic) on a live plugin.
func callError(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("%s: %w: %s", op, ErrPluginUnavailable, st.Message())
	case codes.Unimplemented:
		return fmt.Errorf("%s: %w: the plugin does not implement this call: %s", op, errors.ErrUnsupported, st.Message())
	case codes.DeadlineExceeded:
		// gRPC carries the deadline to the plugin, whose side can end the stream a
		// moment before the local context's timer fires: same meaning, same error.
		return fmt.Errorf("%s: %w (%v)", op, context.DeadlineExceeded, err)
	case codes.Canceled:
		return fmt.Errorf("%s: %w (%v)", op, context.Canceled, err)
	}
	return fmt.Errorf("%s: plugin call failed: %w", op, err)
}

func (c *grpcClient) Describe(ctx context.Context) (*sdk.Description, error) {
	resp, err := c.plugin.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, callError(ctx, "describe", err)
	}
	return descriptionFromProto(resp), nil
}

func (c *grpcClient) ValidateConfig(ctx context.Context, kind, typ string, config json.RawMessage) ([]sdk.Diagnostic, error) {
	op := fmt.Sprintf("validate %s %s config", kind, typ)
	pk, err := protocol.KindToProto(kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	resp, err := c.plugin.ValidateConfig(ctx, &pb.ValidateConfigRequest{Kind: pk, Type: typ, ConfigJson: config})
	if err != nil {
		return nil, callError(ctx, op, err)
	}
	return diagnosticsFromProto(resp.GetDiagnostics()), nil
}

func (c *grpcClient) Import(ctx context.Context, req sdk.ImportRequest, handle func(ImportEvent) error) error {
	op := "import " + req.Type
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.importer.Import(ctx, &pb.ImportRequest{
		Type:       req.Type,
		ConfigJson: req.Config,
		Source:     req.Source,
		RunId:      req.RunID,
		MaxBatch:   MaxBatch,
		// Plugins of minor < 2 ignore both; their reports never come.
		PreviousFiles: protocol.FileStatesToProto(req.PreviousFiles),
		ReportFiles:   req.ReportFiles,
	})
	if err != nil {
		return callError(ctx, op, err)
	}
	var failed sdk.Diagnostics
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return callError(ctx, op, err)
		}
		var ev ImportEvent
		switch e := msg.GetEvent().(type) {
		case *pb.ImportEvent_Records:
			for _, r := range e.Records.GetRecords() {
				if err := handle(ImportEvent{Record: incomingFromProto(r)}); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
			}
			continue
		case *pb.ImportEvent_Record:
			ev.Record = incomingFromProto(e.Record)
		case *pb.ImportEvent_Diagnostic:
			d := diagnosticFromProto(e.Diagnostic)
			ev.Diagnostic = &d
			if d.Severity == sdk.SeverityError {
				failed = append(failed, d)
			}
		case *pb.ImportEvent_Progress:
			ev.Progress = progressFromProto(e.Progress)
		case *pb.ImportEvent_Files:
			if !req.ReportFiles {
				continue // not asked for: a host that keeps no file states ignores them
			}
			ev.Files = &FileReport{Read: protocol.FileStatesFromProto(e.Files.GetRead()), Unchanged: protocol.FileStatesFromProto(e.Files.GetUnchanged())}
		default:
			continue // an event kind from a later minor version
		}
		if err := handle(ev); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s: %w", op, failed)
	}
	return nil
}

// errExportStopped tells the host's record producer that the plugin stopped
// reading; it is not an error of the export itself.
var errExportStopped = errors.New("export stopped reading records")

func (c *grpcClient) Export(ctx context.Context, req sdk.ExportRequest, records func(yield func(sdk.Record) error) error, out func(name, mediaType string) (io.Writer, error)) ([]sdk.Diagnostic, error) {
	op := "export " + req.Type
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.exporter.Export(ctx)
	if err != nil {
		return nil, callError(ctx, op, err)
	}

	// Records go out on their own goroutine while chunks come back on this
	// one, so a plugin that writes artifacts while it reads cannot deadlock
	// against a host that is still sending. Whichever side fails first
	// cancels the other and its error is the one reported.
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		cancel()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := sendExportRecords(stream, req, records); err != nil {
			fail(fmt.Errorf("%s: %w", op, err))
		}
	}()

	diags, err := receiveArtifacts(stream, out)
	if err != nil {
		var st interface{ GRPCStatus() *status.Status }
		if errors.As(err, &st) {
			err = callError(ctx, op, err)
		} else {
			err = fmt.Errorf("%s: %w", op, err)
		}
		fail(err)
	}
	wg.Wait()
	if first != nil {
		return diags, first
	}
	if failed := diags.Errors(); len(failed) > 0 {
		return diags, fmt.Errorf("%s: %w", op, failed)
	}
	return diags, nil
}

func sendExportRecords(stream grpc.BidiStreamingClient[pb.ExportMessage, pb.ExportChunk], req sdk.ExportRequest, records func(yield func(sdk.Record) error) error) error {
	err := stream.Send(&pb.ExportMessage{Message: &pb.ExportMessage_Header{Header: &pb.ExportHeader{
		Type:       req.Type,
		ConfigJson: req.Config,
		ExportId:   req.ExportID,
		ScopeJson:  req.Scope,
	}}})
	if errors.Is(err, io.EOF) {
		return nil // the plugin ended the call; Recv reports why
	}
	if err != nil {
		return fmt.Errorf("send header: %w", err)
	}
	var n int64
	yield := func(r sdk.Record) error {
		pr, err := recordToProto(r)
		if err != nil {
			return err
		}
		if err := stream.Send(&pb.ExportMessage{Message: &pb.ExportMessage_Record{Record: pr}}); err != nil {
			if errors.Is(err, io.EOF) {
				return errExportStopped
			}
			return fmt.Errorf("send record %s %q: %w", pr.Kind, pr.ExternalId, err)
		}
		n++
		return nil
	}
	if records != nil {
		if err := records(yield); err != nil {
			if errors.Is(err, errExportStopped) {
				return nil
			}
			return fmt.Errorf("produce records: %w", err)
		}
	}
	err = stream.Send(&pb.ExportMessage{Message: &pb.ExportMessage_End{End: &pb.ExportEnd{RecordCount: n}}})
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("send end marker: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("close send: %w", err)
	}
	return nil
}

func receiveArtifacts(stream grpc.BidiStreamingClient[pb.ExportMessage, pb.ExportChunk], out func(name, mediaType string) (io.Writer, error)) (sdk.Diagnostics, error) {
	var (
		diags sdk.Diagnostics
		w     io.Writer
		name  string
	)
	closeCurrent := func() error {
		if c, ok := w.(io.Closer); ok {
			if err := c.Close(); err != nil {
				return fmt.Errorf("close artifact %q: %w", name, err)
			}
		}
		w = nil
		return nil
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return diags, closeCurrent()
		}
		if err != nil {
			_ = closeCurrent()
			return diags, err
		}
		switch m := msg.GetChunk().(type) {
		case *pb.ExportChunk_Artifact:
			if err := closeCurrent(); err != nil {
				return diags, err
			}
			name = m.Artifact.GetName()
			w, err = out(name, m.Artifact.GetMediaType())
			if err != nil {
				return diags, fmt.Errorf("open artifact %q: %w", name, err)
			}
			if w == nil {
				return diags, fmt.Errorf("open artifact %q: out returned a nil writer", name)
			}
		case *pb.ExportChunk_Data:
			if w == nil {
				return diags, errors.New("plugin sent artifact data before an artifact header")
			}
			if _, err := w.Write(m.Data); err != nil {
				_ = closeCurrent()
				return diags, fmt.Errorf("write artifact %q: %w", name, err)
			}
		case *pb.ExportChunk_Diagnostic:
			diags = append(diags, diagnosticFromProto(m.Diagnostic))
		case *pb.ExportChunk_Progress:
			// The v1 Client API has no progress callback for exports.
		}
	}
}
