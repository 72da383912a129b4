package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	pb "github.com/aegis-sec/aegis/sdk/internal/pb/pluginv1"
	"github.com/aegis-sec/aegis/sdk/internal/protocol"
	"github.com/aegis-sec/aegis/sdk/source"
)

// Importer reads an external source and emits typed records.
//
// Import returns nil when the source was read, even if some items were
// skipped with warnings; it returns an error when the import as a whole
// failed, and the SDK turns that error into an ERROR diagnostic, which makes
// the host fail the run and discard everything the run emitted.
type Importer interface {
	Import(ctx context.Context, req ImportRequest, out *Emitter) error
}

// ImporterFunc adapts a function to Importer.
type ImporterFunc func(ctx context.Context, req ImportRequest, out *Emitter) error

func (f ImporterFunc) Import(ctx context.Context, req ImportRequest, out *Emitter) error {
	return f(ctx, req, out)
}

// ImportRequest is one import run.
type ImportRequest struct {
	// Type selects the importer within the plugin.
	Type string
	// Config is the JSON object from the plugin's config block in aegis.hcl.
	Config json.RawMessage
	// Source is a URL (http, https) or a local path (file, folder, .tar.gz,
	// .tgz, .zip); open it with package sdk/source.
	Source string
	// RunID identifies the run in the host's logs and import history.
	RunID string
	// PreviousFiles (protocol minor 2) are the files of the host's previous
	// successful run of the same importer, source and configuration, as the
	// plugin reported them then. Hand them to source.NewTracker to skip the
	// unchanged ones; an importer that ignores them reads everything, which is
	// always correct. Empty when the host knows no such run or is older.
	PreviousFiles []source.FileState
	// ReportFiles (protocol minor 2) says the host takes file reports
	// (Emitter.FileRead, Emitter.FileUnchanged). Set by the host; the plugin
	// reads it through Emitter.TracksFiles.
	ReportFiles bool
}

// Emitter streams an importer's output to the host: one record per message to a
// host of protocol minor 0, batches of records to one that asks for them (see
// batchBytes). It is safe for concurrent use.
type Emitter struct {
	ctx     context.Context
	mu      sync.Mutex
	send    func(*pb.ImportEvent) error
	records atomic.Int64
	logWarn func(msg string, args ...any)
	// echo writes each diagnostic to the plugin's stderr before it is sent, so the
	// host still learns of it when the process dies before gRPC delivers it.
	echo func(Diagnostic)
	// maxBatch is the most records the host takes per message (ImportRequest.
	// max_batch; 0 or 1: one per message); batch holds the records not sent yet,
	// held bytes of JSON.
	maxBatch int
	batch    []*pb.Record
	held     int
	// reportFiles: the host takes file reports (ImportRequest.report_files);
	// files holds the reports not sent yet.
	reportFiles bool
	files       *pb.FileReport
	fileCount   int
}

// fileReportBatch is the most file states one message carries.
const fileReportBatch = 2048

// batchBytes bounds the JSON one batch holds, far below the gRPC message limit; a
// larger record goes alone.
const batchBytes = 1 << 20

func newEmitter(ctx context.Context, send func(*pb.ImportEvent) error, logWarn func(string, ...any), maxBatch int) *Emitter {
	return &Emitter{ctx: ctx, send: send, logWarn: logWarn, maxBatch: maxBatch}
}

// Record validates r and sends it. A record that fails validation is not
// sent: the returned error (a *ValidationError inside) names the field, and
// the importer decides whether to Warn and go on or to fail. An error also
// comes back when the run was cancelled or the stream broke; the importer
// should then return it.
func (e *Emitter) Record(r Record) error { return e.RecordAt(r, "", 0) }

// RecordAt is Record with the position in the source the record came from,
// which the host shows next to any problem with it.
func (e *Emitter) RecordAt(r Record, file string, line int) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	kind, id, data, err := EncodeRecord(r)
	if err != nil {
		return err
	}
	rec := &pb.Record{Kind: kind, ExternalId: id, Json: data, File: file, Line: protocol.ClampLine(line)}
	if e.maxBatch > 1 {
		err = e.hold(rec)
	} else {
		err = e.sendEvent(&pb.ImportEvent{Event: &pb.ImportEvent_Record{Record: rec}})
	}
	if err != nil {
		return fmt.Errorf("send %s %q: %w", kind, id, err)
	}
	e.records.Add(1)
	return nil
}

// Warn reports a problem the importer worked around, such as a skipped row.
func (e *Emitter) Warn(file string, line int, externalID, summary, detail string) {
	e.Diagnostic(Diagnostic{Severity: SeverityWarning, File: file, Line: line, ExternalID: externalID, Summary: summary, Detail: detail})
}

// Error reports a problem that fails the import. Prefer returning an error
// from Import; use Error to report several failures before returning.
func (e *Emitter) Error(file string, line int, externalID, summary, detail string) {
	e.Diagnostic(Diagnostic{Severity: SeverityError, File: file, Line: line, ExternalID: externalID, Summary: summary, Detail: detail})
}

// Diagnostic sends any diagnostic. Send failures are only logged: the next
// Record call reports them, so callers need not check every warning.
func (e *Emitter) Diagnostic(d Diagnostic) {
	if e.ctx.Err() != nil {
		return
	}
	if e.echo != nil {
		e.echo(d)
	}
	if err := e.sendEvent(&pb.ImportEvent{Event: &pb.ImportEvent_Diagnostic{Diagnostic: diagnosticToProto(d)}}); err != nil {
		e.logWarn("dropped diagnostic", "summary", d.Summary, "error", err)
	}
}

// Progress reports how far the import got; total is 0 when unknown.
func (e *Emitter) Progress(done, total int64, msg string) {
	if e.ctx.Err() != nil {
		return
	}
	if err := e.sendEvent(&pb.ImportEvent{Event: &pb.ImportEvent_Progress{Progress: &pb.Progress{Done: done, Total: total, Message: msg}}}); err != nil {
		e.logWarn("dropped progress", "error", err)
	}
}

// TracksFiles says the host takes file reports (protocol minor 2): only then
// may an importer skip a file as unchanged (source.Tracker checks it).
func (e *Emitter) TracksFiles() bool { return e.reportFiles }

// FileRead tells the host that a source file was read in this run, with the
// state the next run compares against. A host that takes no file reports
// gets nothing.
func (e *Emitter) FileRead(st source.FileState) { e.fileReport(st, false) }

// FileUnchanged tells the host that a source file was skipped because its
// state equals the previous run's: the host keeps the records read from it
// then. Only source.Tracker should call it, after comparing the file.
func (e *Emitter) FileUnchanged(st source.FileState) { e.fileReport(st, true) }

func (e *Emitter) fileReport(st source.FileState, unchanged bool) {
	if !e.reportFiles || e.ctx.Err() != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.files == nil {
		e.files = &pb.FileReport{}
	}
	ps := protocol.FileStatesToProto([]source.FileState{st})[0]
	if unchanged {
		e.files.Unchanged = append(e.files.Unchanged, ps)
	} else {
		e.files.Read = append(e.files.Read, ps)
	}
	e.fileCount++
	if e.fileCount >= fileReportBatch {
		if err := e.sendFiles(); err != nil {
			e.logWarn("dropped file report", "error", err)
		}
	}
}

// sendFiles sends the held file reports; e.mu is held. A report lost to a
// broken stream fails the run anyway (the host sees the stream end badly).
func (e *Emitter) sendFiles() error {
	if e.files == nil {
		return nil
	}
	ev := &pb.ImportEvent{Event: &pb.ImportEvent_Files{Files: e.files}}
	e.files, e.fileCount = nil, 0
	return e.send(ev)
}

// Count returns the number of records sent so far.
func (e *Emitter) Count() int64 { return e.records.Load() }

func (e *Emitter) sendEvent(ev *pb.ImportEvent) error {
	// gRPC streams do not allow concurrent Send calls.
	e.mu.Lock()
	defer e.mu.Unlock()
	// Held records go first: the host sees every event in the order it was made.
	if err := e.sendBatch(); err != nil {
		return err
	}
	return e.send(ev)
}

// hold adds a record to the batch, sending the batch when it is full.
func (e *Emitter) hold(r *pb.Record) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batch = append(e.batch, r)
	e.held += len(r.Json)
	if len(e.batch) >= e.maxBatch || e.held >= batchBytes {
		return e.sendBatch()
	}
	return nil
}

// flush sends the held records and file reports; the server calls it when the
// importer returns.
func (e *Emitter) flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.sendBatch(); err != nil {
		return err
	}
	return e.sendFiles()
}

// sendBatch sends the held records in one message; e.mu is held.
func (e *Emitter) sendBatch() error {
	if len(e.batch) == 0 {
		return nil
	}
	ev := &pb.ImportEvent{Event: &pb.ImportEvent_Records{Records: &pb.RecordBatch{Records: e.batch}}}
	e.batch, e.held = nil, 0
	return e.send(ev)
}
