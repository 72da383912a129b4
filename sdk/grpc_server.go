package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
	"github.com/aegis-sec/aegis/sdk/source"
)

// grpcPlugin is the plugin side of the go-plugin glue for protocol v1; the
// host side lives in package host.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *server
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	// All three services are always registered so that an unknown type is
	// answered with a diagnostic naming the types on offer, not with
	// Unimplemented.
	pb.RegisterPluginServer(s, p.srv)
	pb.RegisterImporterServer(s, p.srv)
	pb.RegisterExporterServer(s, p.srv)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("aegis sdk: the plugin-side plugin set cannot dispense a client (use package host)")
}

// newGRPCServerFunc builds the plugin's gRPC server: message limits and panic
// recovery on top of what go-plugin passes in (TLS).
func newGRPCServerFunc(logger hclog.Logger) func([]grpc.ServerOption) *grpc.Server {
	return func(opts []grpc.ServerOption) *grpc.Server {
		opts = append(opts,
			grpc.MaxRecvMsgSize(protocol.MaxMessageSize),
			grpc.MaxSendMsgSize(protocol.MaxMessageSize),
			grpc.ChainUnaryInterceptor(recoverUnary(logger)),
			grpc.ChainStreamInterceptor(recoverStream(logger)),
		)
		return grpc.NewServer(opts...)
	}
}

// A panic in a handler must fail that one call, not kill the process and
// every other call with it.
func recoverUnary(logger hclog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicStatus(logger, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(logger hclog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicStatus(logger, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}

func panicStatus(logger hclog.Logger, method string, p any) error {
	logger.Error("plugin panicked", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return status.Errorf(codes.Internal, "plugin panicked in %s: %v", method, p)
}

// server implements the three v1 services on top of the author's components.
type server struct {
	pb.UnimplementedPluginServer
	pb.UnimplementedImporterServer
	pb.UnimplementedExporterServer

	desc      *Description
	importers map[string]Importer
	exporters map[string]Exporter
	logger    hclog.Logger
	echo      hclog.Logger // nil: diagnostics are not echoed on stderr (tests with their own logger)
}

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return descriptionToProto(s.desc), nil
}

func (s *server) ValidateConfig(ctx context.Context, req *pb.ValidateConfigRequest) (*pb.ValidateConfigResponse, error) {
	var impl any
	kind := ComponentKind(protocol.KindFromProto(req.GetKind()))
	switch kind {
	case ComponentImporter:
		if imp, ok := s.importers[req.GetType()]; ok {
			impl = imp
		}
	case ComponentExporter:
		if exp, ok := s.exporters[req.GetType()]; ok {
			impl = exp
		}
	}
	if impl == nil {
		return &pb.ValidateConfigResponse{Diagnostics: diagnosticsToProto(Diagnostics{s.unknownType(kind, req.GetType())})}, nil
	}
	ctx = withLogger(ctx, s.logger.Named(string(kind)+"."+req.GetType()))
	return &pb.ValidateConfigResponse{Diagnostics: diagnosticsToProto(validateConfig(ctx, impl, req.GetConfigJson()))}, nil
}

// validateConfig checks that config is a JSON object, then runs the
// component's own validator if it has one.
func validateConfig(ctx context.Context, impl any, config []byte) Diagnostics {
	raw := rawConfig(config)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		detail := "the config must be a JSON object"
		if err != nil {
			detail = err.Error()
		}
		return Diagnostics{{Severity: SeverityError, Summary: "config is not a JSON object", Detail: detail, Attribute: "config"}}
	}
	if v, ok := impl.(ConfigValidator); ok {
		return v.ValidateConfig(ctx, raw)
	}
	return nil
}

func (s *server) unknownType(kind ComponentKind, typ string) Diagnostic {
	var types []string
	for _, c := range s.desc.Components {
		if c.Kind == kind {
			types = append(types, c.Type)
		}
	}
	offer := "none"
	if len(types) > 0 {
		offer = strings.Join(types, ", ")
	}
	return Diagnostic{
		Severity:  SeverityError,
		Summary:   fmt.Sprintf("plugin %s has no %s of type %q", s.desc.Name, kind, typ),
		Detail:    fmt.Sprintf("%s types offered: %s", kind, offer),
		Attribute: "type",
	}
}

func (s *server) Import(req *pb.ImportRequest, stream grpc.ServerStreamingServer[pb.ImportEvent]) error {
	ctx := stream.Context()
	typ := req.GetType()
	sendDiags := func(ds Diagnostics) error {
		for _, d := range ds {
			if err := stream.Send(&pb.ImportEvent{Event: &pb.ImportEvent_Diagnostic{Diagnostic: diagnosticToProto(d)}}); err != nil {
				return err
			}
		}
		return nil
	}
	imp, ok := s.importers[typ]
	if !ok {
		return sendDiags(Diagnostics{s.unknownType(ComponentImporter, typ)})
	}
	logger := s.logger.Named("importer."+typ).With("run_id", req.GetRunId())
	ctx = withLogger(ctx, logger)
	if ds := validateConfig(ctx, imp, req.GetConfigJson()); len(ds) > 0 {
		if err := sendDiags(ds); err != nil || ds.HasError() {
			return err
		}
	}
	out := newEmitter(ctx, stream.Send, logger.Warn, int(req.GetMaxBatch()))
	out.reportFiles = req.GetReportFiles()
	if s.echo != nil {
		out.echo = func(d Diagnostic) { echoDiagnostic(s.echo, d) }
	}
	err := imp.Import(ctx, ImportRequest{
		Type:   typ,
		Config: rawConfig(req.GetConfigJson()),
		Source: req.GetSource(),
		RunID:  req.GetRunId(),
		// A host that takes no reports cannot keep a skipped file's records:
		// it gets no states to skip by, whatever it sent.
		PreviousFiles: previousFiles(req),
		ReportFiles:   req.GetReportFiles(),
	}, out)
	if ctx.Err() != nil {
		// The host went away or gave up; nobody reads a diagnostic now.
		return status.FromContextError(ctx.Err()).Err()
	}
	if ferr := out.flush(); ferr != nil {
		return ferr
	}
	if err != nil {
		logger.Error("import failed", "error", err, "records", out.Count())
		return sendDiags(Diagnostics{errorDiagnostic("import "+typ+" failed", err)})
	}
	logger.Info("import finished", "records", out.Count())
	return nil
}

func previousFiles(req *pb.ImportRequest) []source.FileState {
	if !req.GetReportFiles() {
		return nil
	}
	return protocol.FileStatesFromProto(req.GetPreviousFiles())
}

// errorDiagnostic turns an error returned by a component into the ERROR
// diagnostic the host sees, keeping the field of a validation error.
func errorDiagnostic(summary string, err error) Diagnostic {
	d := Diagnostic{Severity: SeverityError, Summary: summary + ": " + err.Error()}
	var ve *ValidationError
	if errors.As(err, &ve) {
		d.ExternalID = ve.ID
		if len(ve.Problems) > 0 {
			d.Attribute = ve.Problems[0].Field
		}
	}
	return d
}

func (s *server) Export(stream grpc.BidiStreamingServer[pb.ExportMessage, pb.ExportChunk]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hdr := first.GetHeader()
	if hdr == nil {
		return status.Error(codes.InvalidArgument, "export stream must start with a header")
	}
	w := &artifactWriter{stream: stream}
	typ := hdr.GetType()
	exp, ok := s.exporters[typ]
	if !ok {
		w.Diagnostic(s.unknownType(ComponentExporter, typ))
		return w.err
	}
	logger := s.logger.Named("exporter."+typ).With("export_id", hdr.GetExportId())
	ctx = withLogger(ctx, logger)
	w.logger = logger
	if ds := validateConfig(ctx, exp, hdr.GetConfigJson()); len(ds) > 0 {
		for _, d := range ds {
			w.Diagnostic(d)
		}
		if ds.HasError() {
			return w.err
		}
	}
	it := &recordIterator{stream: stream}
	err = exp.Export(ctx, ExportRequest{
		Type:     typ,
		Config:   rawConfig(hdr.GetConfigJson()),
		ExportID: hdr.GetExportId(),
		Scope:    rawScope(hdr.GetScopeJson()),
	}, it, w)
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if ferr := w.flush(); ferr != nil {
		return ferr
	}
	if err != nil {
		logger.Error("export failed", "error", err)
		w.Diagnostic(errorDiagnostic("export "+typ+" failed", err))
		return w.err
	}
	logger.Info("export finished", "records", it.n, "artifacts", w.artifacts)
	return w.err
}

func rawScope(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// recordIterator decodes records off the export stream lazily, so an
// exporter can process scopes larger than memory.
type recordIterator struct {
	stream grpc.BidiStreamingServer[pb.ExportMessage, pb.ExportChunk]
	n      int64
	done   bool
	err    error
}

func (it *recordIterator) Next() (Record, error) {
	if it.done {
		return nil, io.EOF
	}
	if it.err != nil {
		return nil, it.err
	}
	for {
		msg, err := it.stream.Recv()
		if errors.Is(err, io.EOF) {
			it.err = errors.New("record stream ended without an end marker (the host stopped sending)")
			return nil, it.err
		}
		if err != nil {
			it.err = fmt.Errorf("receive record: %w", err)
			return nil, it.err
		}
		switch m := msg.GetMessage().(type) {
		case *pb.ExportMessage_Record:
			it.n++
			rec, err := decodeSent(m.Record)
			if err != nil {
				it.err = fmt.Errorf("record %d: %w", it.n, err)
				return nil, it.err
			}
			return rec, nil
		case *pb.ExportMessage_End:
			if got, want := it.n, m.End.GetRecordCount(); got != want {
				it.err = fmt.Errorf("host sent %d records but its end marker says %d", got, want)
				return nil, it.err
			}
			it.done = true
			return nil, io.EOF
		case *pb.ExportMessage_Header:
			it.err = errors.New("unexpected second export header")
			return nil, it.err
		default:
			// A message kind from a later minor version: skip it.
		}
	}
}

// artifactWriter buffers an artifact's bytes and sends them in chunks of
// protocol.ChunkSize, so many small writes do not become many tiny messages.
type artifactWriter struct {
	stream    interface{ Send(*pb.ExportChunk) error }
	mu        sync.Mutex
	buf       bytes.Buffer
	open      bool
	artifacts int
	err       error // first send error; later sends are skipped
	logger    hclog.Logger
	echo      hclog.Logger // nil: diagnostics are not echoed on stderr (tests with their own logger)
}

func (w *artifactWriter) send(c *pb.ExportChunk) error {
	if w.err != nil {
		return w.err
	}
	w.err = w.stream.Send(c)
	return w.err
}

func (w *artifactWriter) Begin(name, mediaType string) (io.Writer, error) {
	if name == "" || name != path.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("artifact name %q must be a bare file name", name)
	}
	if mediaType == "" {
		return nil, fmt.Errorf("artifact %q: media type is required", name)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flushLocked(); err != nil {
		return nil, err
	}
	if err := w.send(&pb.ExportChunk{Chunk: &pb.ExportChunk_Artifact{Artifact: &pb.ArtifactHeader{Name: name, MediaType: mediaType}}}); err != nil {
		return nil, fmt.Errorf("begin artifact %q: %w", name, err)
	}
	w.open = true
	w.artifacts++
	return &chunkWriter{w: w, n: w.artifacts}, nil
}

func (w *artifactWriter) write(n int, p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n != w.artifacts || !w.open {
		return 0, errors.New("write to an artifact that has ended (Begin was called again)")
	}
	written := 0
	for len(p) > 0 {
		room := protocol.ChunkSize - w.buf.Len()
		k := min(room, len(p))
		w.buf.Write(p[:k])
		p = p[k:]
		written += k
		if w.buf.Len() == protocol.ChunkSize {
			if err := w.flushLocked(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (w *artifactWriter) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *artifactWriter) flushLocked() error {
	if w.buf.Len() == 0 {
		return w.err
	}
	data := bytes.Clone(w.buf.Bytes())
	w.buf.Reset()
	if err := w.send(&pb.ExportChunk{Chunk: &pb.ExportChunk_Data{Data: data}}); err != nil {
		return fmt.Errorf("send artifact data: %w", err)
	}
	return nil
}

func (w *artifactWriter) Warn(externalID, summary, detail string) {
	w.Diagnostic(Diagnostic{Severity: SeverityWarning, ExternalID: externalID, Summary: summary, Detail: detail})
}

func (w *artifactWriter) Diagnostic(d Diagnostic) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Data buffered so far belongs before the diagnostic in stream order.
	_ = w.flushLocked()
	_ = w.send(&pb.ExportChunk{Chunk: &pb.ExportChunk_Diagnostic{Diagnostic: diagnosticToProto(d)}})
}

func (w *artifactWriter) Progress(done, total int64, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.send(&pb.ExportChunk{Chunk: &pb.ExportChunk_Progress{Progress: &pb.Progress{Done: done, Total: total, Message: msg}}})
}

type chunkWriter struct {
	w *artifactWriter
	n int
}

func (c *chunkWriter) Write(p []byte) (int, error) { return c.w.write(c.n, p) }

// sortedKeys is used for stable Describe output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// echoDiagnostic writes d on the plugin's stderr as a protocol.EchoMessage line.
func echoDiagnostic(l hclog.Logger, d Diagnostic) {
	l.Trace(protocol.EchoMessage, "severity", d.Severity.String(), "summary", d.Summary, "detail", d.Detail,
		"attribute", d.Attribute, "file", d.File, "line", d.Line, "external_id", d.ExternalID)
}
