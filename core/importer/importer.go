// Package importer runs import plugins and applies what they stream to the store: the
// import pipeline of DESIGN.md §2. A run either applies everything in one transaction or
// nothing: a plugin that crashes, hangs past its timeout, reports an error or sends an
// invalid record leaves the catalog exactly as it was.
package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
)

// MaxWarnings bounds how many warnings a run keeps (all are counted).
const MaxWarnings = 200

// Runner runs imports.
type Runner struct {
	Store core.Store
	Host  *pluginhost.Host
	Log   hclog.Logger
}

// importLocker is the store's lock that keeps two imports of one plugin from
// overlapping, across processes and instances.
type importLocker interface {
	TryImportLock(ctx context.Context, plugin string) (unlock func(), running *core.ImportRun, ok bool, err error)
}

// orphanSweeper is the store's way to find runs left "running" by a process that was
// killed: their plugin's import lock is free.
type orphanSweeper interface {
	// InterruptImportRuns marks the plugin's running runs failed as interrupted; the
	// caller holds the plugin's import lock.
	InterruptImportRuns(ctx context.Context, plugin string) ([]*core.ImportRun, error)
	// InterruptOrphanedImports does it for every plugin whose lock is free.
	InterruptOrphanedImports(ctx context.Context) ([]*core.ImportRun, error)
}

// SweepEvery is how often a server looks for interrupted imports.
const SweepEvery = time.Minute

// SweepInterrupted marks failed, as interrupted, every import run still marked running
// whose process is gone (killed, crashed, its machine lost), and returns them. A store
// without import locks has nothing to sweep.
func (r *Runner) SweepInterrupted(ctx context.Context) ([]*core.ImportRun, error) {
	sw, ok := r.Store.(orphanSweeper)
	if !ok {
		return nil, nil
	}
	gone, err := sw.InterruptOrphanedImports(ctx)
	for _, g := range gone {
		r.logger().Warn("import interrupted: its process ended before it finished", "plugin", g.PluginName, "run", g.ID,
			"started", g.StartedAt, "error", g.Error)
	}
	return gone, err
}

func (r *Runner) logger() hclog.Logger {
	if r.Log == nil {
		return hclog.NewNullLogger()
	}
	return r.Log
}

// busyError refuses an import while another of the same plugin runs, naming it.
func busyError(plugin string, running *core.ImportRun) error {
	msg := fmt.Sprintf("import %s: another import of %s is running", plugin, plugin)
	detail := map[string]any{}
	if running != nil {
		msg += fmt.Sprintf(" (run %s, started %s, triggered by %s, source %s)", running.ID,
			running.StartedAt.UTC().Format(time.RFC3339), running.TriggeredBy, running.SourceLocation)
		detail["run_id"] = running.ID
	}
	return &core.Error{Code: core.ECONFLICT, Message: msg + "; wait for it to finish", Detail: detail}
}

// Options describe one run.
type Options struct {
	Plugin string
	// Type selects the importer inside the plugin; empty means its only importer.
	Type string
	// Source overrides the plugin's configured source.
	Source string
	// DryRun does everything but commit.
	DryRun      bool
	TriggeredBy string
	Actor       *core.User
	// Progress, when set, is called as the plugin reports progress and as records arrive.
	Progress func(p Progress)
	// OnCreated, when set, is called once the run's row exists (before the plugin starts).
	OnCreated func(run *core.ImportRun)
}

// Progress is a live view of a run.
type Progress struct {
	Phase    string // "starting", "importing", "applying", "indexing", then "done" or "failed"
	Done     int64
	Total    int64
	Records  int64
	Warnings int
	Message  string
}

// pending is one record received from the plugin, not yet applied.
type pending struct {
	*host.IncomingRecord
	rec  sdk.Record
	hash string
	// decodeErr is why the record did not decode (rec nil).
	decodeErr error
}

// decodeAll decodes the records sent on in, in the background while the plugin still
// reads and sends (decoding was a fifth of the host's time after the last record); the
// returned wait says when every record sent before close(in) is decoded.
func decodeAll(in <-chan *pending) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range in {
			p.rec, p.decodeErr = p.Decode()
			if p.decodeErr == nil {
				p.hash = contentHash(p.Kind, p.JSON)
			}
		}
	}()
	return func() { <-done }
}

// kindOrder applies records so that what others refer to exists first.
var kindOrder = map[string]int{
	sdk.KindTactic: 0, sdk.KindTechnique: 1, sdk.KindMitigation: 2, sdk.KindThreatActor: 3,
	sdk.KindDefensiveTechnique: 4, sdk.KindComplianceFramework: 5, sdk.KindComplianceControl: 6,
	sdk.KindTestTemplate: 7, sdk.KindDetectionRule: 8, sdk.KindIntelItem: 9, sdk.KindCampaign: 10,
}

// errDryRun rolls back a dry run's transaction after its counts are known.
var errDryRun = errors.New("dry run")

// Run performs one import and returns its run row. The error is non-nil when the run
// failed; the run row says why as well.
func (r *Runner) Run(ctx context.Context, o Options) (*core.ImportRun, error) {
	log := r.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	p, err := r.Host.Plugin(o.Plugin)
	if err != nil {
		return nil, err
	}
	source := o.Source
	if source == "" {
		source = p.Source
	}
	if source == "" {
		return nil, fmt.Errorf("import %s: no source: give --source, or set source in the plugin block (%s)", o.Plugin, p.Range)
	}
	// Credentials in a source URL (from an env(...) in the plugin block) reach the
	// plugin, never the run row, the audit log or the log.
	shown := pluginhost.MaskSource(source)
	if l, ok := r.Store.(importLocker); ok {
		unlock, running, got, err := l.TryImportLock(ctx, o.Plugin)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", o.Plugin, err)
		}
		if !got {
			return nil, busyError(o.Plugin, running)
		}
		defer unlock()
		// Holding the lock proves that no process runs an import of this plugin: a
		// run still marked running was left by one that was killed.
		if sw, ok := r.Store.(orphanSweeper); ok {
			gone, err := sw.InterruptImportRuns(ctx, o.Plugin)
			if err != nil {
				return nil, fmt.Errorf("import %s: %w", o.Plugin, err)
			}
			for _, g := range gone {
				log.Warn("an earlier import was interrupted", "plugin", o.Plugin, "run", g.ID, "started", g.StartedAt, "error", g.Error)
			}
		}
	}
	run := &core.ImportRun{PluginName: o.Plugin, ImporterType: o.Type, SourceLocation: shown, DryRun: o.DryRun,
		TriggeredBy: o.TriggeredBy, Outcome: core.RunRunning, StartedAt: core.Now()}
	if err := r.Store.Update(ctx, func(tx core.Tx) error { return tx.CreateImportRun(ctx, run) }); err != nil {
		return nil, fmt.Errorf("import %s: %w", o.Plugin, err)
	}
	if o.OnCreated != nil {
		o.OnCreated(run)
	}
	log = log.With("plugin", o.Plugin, "run", run.ID)
	log.Info("import started", "source", shown, "dry_run", o.DryRun)

	st := &runState{run: run, opts: o, progress: o.Progress}
	info, runErr := r.run(ctx, st, source)
	if runErr != nil {
		runErr = maskedError{err: runErr, text: pluginhost.MaskIn(runErr.Error(), source)}
		run.Outcome, run.Error = core.RunFailed, runErr.Error()
	} else {
		run.Outcome = core.RunSucceeded
	}
	fin := core.Now()
	run.FinishedAt = &fin
	run.DurationMS = fin.Sub(run.StartedAt).Milliseconds()
	run.WarningCount = st.warningCount
	for i := range st.warnings {
		w := &st.warnings[i]
		w.Summary, w.Detail, w.File = pluginhost.MaskIn(w.Summary, source), pluginhost.MaskIn(w.Detail, source), pluginhost.MaskIn(w.File, source)
	}
	if b, err := json.Marshal(st.warnings); err == nil {
		run.Warnings = b
	}
	// The run row, the plugin's description and (for failures) the audit entry are
	// written on a context of their own: a run cancelled by its timeout must still say
	// how it ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err = r.Store.Update(fctx, func(tx core.Tx) error {
		if info != nil {
			if err := tx.UpsertPlugin(fctx, info); err != nil {
				return err
			}
		}
		// A successful run was audited with its data; a failed or dry run changed no
		// data, and is audited here.
		switch {
		case runErr != nil:
			if err := tx.AppendAudit(fctx, core.NewAudit(o.Actor, "import.failed", "import_run", run.ID,
				map[string]any{"plugin": o.Plugin, "source": shown, "error": run.Error, "triggered_by": run.TriggeredBy})); err != nil {
				return err
			}
		case o.DryRun:
			if err := tx.AppendAudit(fctx, core.NewAudit(o.Actor, "import.dry_run", "import_run", run.ID,
				map[string]any{"plugin": o.Plugin, "source": shown, "added": run.Added, "updated": run.Updated,
					"unchanged": run.Unchanged, "deprecated": run.Deprecated})); err != nil {
				return err
			}
		}
		if st.files != nil && st.files.forget {
			if fs, ok := tx.(fileStore); ok {
				if err := fs.DeleteImportFiles(fctx, o.Plugin, run.ImporterType); err != nil {
					return err
				}
			}
		}
		return tx.FinishImportRun(fctx, run)
	})
	if err != nil {
		log.Error("recording the import run failed", "error", err)
		if runErr == nil {
			runErr = err
		}
	}
	// A failed run never reports "done": its last phase says it failed.
	if runErr != nil {
		st.report(Progress{Phase: "failed"})
	} else {
		st.report(Progress{Phase: "done"})
	}
	if runErr != nil {
		log.Warn("import failed", "error", runErr)
		return run, fmt.Errorf("import %s: %w", o.Plugin, runErr)
	}
	log.Info("import finished", "added", run.Added, "updated", run.Updated, "unchanged", run.Unchanged,
		"deprecated", run.Deprecated, "warnings", run.WarningCount, "duration", time.Duration(run.DurationMS)*time.Millisecond)
	return run, nil
}

// maskedError is a run's error with the source's credentials masked in its text; it
// still unwraps to the original for errors.Is and errors.As.
type maskedError struct {
	err  error
	text string
}

func (e maskedError) Error() string { return e.text }
func (e maskedError) Unwrap() error { return e.err }

type runState struct {
	run          *core.ImportRun
	opts         Options
	progress     func(Progress)
	warnings     []core.ImportWarning
	warningCount int
	received     int64
	last         Progress
	// unreadFiles and skippedIDs are what the plugin said it could not read or
	// skipped: their earlier records are kept, not deprecated.
	unreadFiles map[string]bool
	skippedIDs  map[string]bool
	// files is the skipping of unchanged files (nil: the store keeps no file states);
	// scope is the scope apply kept the records under.
	files *fileTracking
	scope string
	// keptCatalog: the run brought an older ATT&CK release than one imported, recorded
	// for its matrix only; the file states of the newer release's import stay.
	keptCatalog bool
}

// noteSkipped remembers what a warning says the plugin could not read or skipped: a
// file (a warning naming a file without a line, or a line without the record's id)
// or a record (a warning naming its id).
func (s *runState) noteSkipped(d sdk.Diagnostic) {
	if d.Severity != sdk.SeverityWarning && d.Severity != sdk.SeverityError {
		return
	}
	if s.unreadFiles == nil {
		s.unreadFiles, s.skippedIDs = map[string]bool{}, map[string]bool{}
	}
	if d.ExternalID != "" {
		s.skippedIDs[d.ExternalID] = true
	}
	if d.File != "" && (d.Line == 0 || d.ExternalID == "") {
		s.unreadFiles[strings.TrimSuffix(d.File, "/")] = true
	}
}

// unread says why a record that did not come this time must be kept ("" when it
// simply vanished from the source).
func (s *runState) unread(r *core.ImportRecord) string {
	if s.skippedIDs[r.ExternalID] {
		return "skipped with a warning"
	}
	for f := r.File; f != "" && f != "." && f != "/"; f = path.Dir(f) {
		if s.unreadFiles[f] {
			return "not read: " + f
		}
		if !strings.Contains(f, "/") {
			break
		}
	}
	return ""
}

// warn keeps a diagnostic of the run. Only warnings count as warnings: an error
// diagnostic is the run's failure, said once as its error, not one more warning.
func (s *runState) warn(w core.ImportWarning) {
	if w.Severity != "error" {
		s.warningCount++
	}
	if len(s.warnings) < MaxWarnings {
		s.warnings = append(s.warnings, w)
	}
}

func (s *runState) report(p Progress) {
	if s.progress == nil {
		return
	}
	p.Records, p.Warnings = s.received, s.warningCount
	if p.Phase == "" {
		p.Phase = s.last.Phase
	}
	s.last = p
	s.progress(p)
}

// diagnostic keeps a diagnostic the plugin sent as a warning of the run.
func (s *runState) diagnostic(d sdk.Diagnostic) {
	s.warn(core.ImportWarning{Severity: d.Severity.String(), Summary: d.Summary, Detail: d.Detail,
		File: d.File, Line: d.Line, ExternalID: d.ExternalID})
	s.noteSkipped(d)
}

func (r *Runner) run(ctx context.Context, st *runState, source string) (*core.PluginInfo, error) {
	o := st.opts
	st.report(Progress{Phase: "starting"})
	inst, err := r.Host.Start(ctx, o.Plugin)
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	if err := renamedBlock(ctx, r.Store, r.Host, inst); err != nil {
		return nil, err
	}

	cctx, cancel := context.WithTimeout(ctx, inst.Config.Timeout)
	defer cancel()
	desc, err := inst.Client.Describe(cctx)
	if err != nil {
		return nil, inst.CallFailure(cctx, "describe", "nothing was imported", err)
	}
	info := pluginhost.Info(inst, desc)
	typ, err := pluginhost.ChooseComponent(desc, sdk.ComponentImporter, o.Type)
	if err != nil {
		return info, err
	}
	st.run.ImporterType = typ
	if err := inst.ValidateConfig(cctx, sdk.ComponentImporter, typ); err != nil {
		return info, err
	}

	ft, err := startTracking(cctx, r.Store, o.Plugin, typ, st.run.SourceLocation, filesKey(typ, inst))
	if err != nil {
		return info, err
	}
	st.files = ft
	var recs []*pending
	seen := map[pluginKey]*pending{}
	var errs, received sdk.Diagnostics
	toDecode := make(chan *pending, 256)
	decoded := decodeAll(toDecode)
	defer func() {
		// A run that failed while receiving still waits for the decoder to end.
		if toDecode != nil {
			close(toDecode)
			decoded()
		}
	}()
	st.report(Progress{Phase: "importing"})
	req := sdk.ImportRequest{Type: typ, Config: inst.Config.Config, Source: source, RunID: st.run.ID,
		PreviousFiles: ft.previous(), ReportFiles: ft != nil}
	err = inst.Client.Import(cctx, req,
		func(ev host.ImportEvent) error {
			switch {
			case ev.Files != nil:
				if ft != nil {
					ft.report(st, ev.Files)
				}
			case ev.Record != nil:
				st.received++
				p := &pending{IncomingRecord: ev.Record}
				key := pluginKey{ev.Record.Kind, ev.Record.ExternalID}
				if first, dup := seen[key]; dup {
					st.run.Rejected++
					st.warn(core.ImportWarning{Severity: "warning", Summary: fmt.Sprintf("duplicate %s %q: the first one (%s) is kept",
						key.kind, key.id, position(first.IncomingRecord)), File: ev.Record.File, Line: ev.Record.Line, ExternalID: key.id})
					return nil
				}
				seen[key] = p
				recs = append(recs, p)
				toDecode <- p
				if st.received%500 == 0 {
					st.report(Progress{})
				}
			case ev.Diagnostic != nil:
				d := *ev.Diagnostic
				received = append(received, d)
				st.diagnostic(d)
				if d.Severity == sdk.SeverityError {
					errs = append(errs, d)
				}
			case ev.Progress != nil:
				st.report(Progress{Done: ev.Progress.Done, Total: ev.Progress.Total, Message: ev.Progress.Message})
			}
			return nil
		})
	if err != nil {
		var diags sdk.Diagnostics
		if errors.As(err, &diags) || len(errs) > 0 {
			if len(errs) == 0 {
				errs = diags.Errors()
			}
			return info, fmt.Errorf("the plugin reported %d error(s), nothing was imported: %s", len(errs), pluginhost.SummarizeDiagnostics(errs))
		}
		if host.IsUnavailable(err) {
			// The process died: what it said before, but gRPC had not delivered yet,
			// is on its stderr. Keep it with the failed run.
			for _, d := range inst.LostDiagnostics(received) {
				st.diagnostic(d)
			}
		}
		return info, inst.CallFailure(cctx, "import", "nothing was imported", err)
	}
	if len(errs) > 0 {
		return info, fmt.Errorf("the plugin reported %d error(s), nothing was imported: %s", len(errs), pluginhost.SummarizeDiagnostics(errs))
	}

	close(toDecode)
	toDecode = nil
	decoded()
	if ft != nil {
		st.run.FilesRead, st.run.FilesUnchanged = len(ft.read), len(ft.unchanged)
	}
	if err := yieldedRecords(recs, st); err != nil {
		return info, err
	}

	// Validate everything before writing anything: an invalid record is a plugin bug,
	// and half an import is worse than none.
	var bad []string
	for _, p := range recs {
		err := p.decodeErr
		if err != nil {
			st.run.Rejected++
			st.warn(core.ImportWarning{Severity: "error", Summary: "invalid record: " + err.Error(), File: p.File, Line: p.Line, ExternalID: p.ExternalID})
			bad = append(bad, err.Error())
			continue
		}
		if _, ok := appliers[p.Kind]; !ok {
			return info, fmt.Errorf("records of kind %q cannot be stored by this Aegis yet (%s %q)", p.Kind, p.Kind, p.ExternalID)
		}
	}
	if len(bad) > 0 {
		return info, fmt.Errorf("the plugin sent %d invalid record(s), nothing was imported; first: %s", len(bad), bad[0])
	}
	sort.SliceStable(recs, func(i, j int) bool { return kindOrder[recs[i].Kind] < kindOrder[recs[j].Kind] })

	st.report(Progress{Phase: "applying", Done: 0, Total: int64(len(recs))})
	// The store runs the transaction again after a conflict with a concurrent one
	// (PostgreSQL): each attempt starts from the counts and warnings of before.
	before, warnings, warningCount := *st.run, len(st.warnings), st.warningCount
	err = r.Store.Update(ctx, func(tx core.Tx) error {
		*st.run = before
		st.warnings, st.warningCount = st.warnings[:warnings], warningCount
		if err := r.apply(ctx, tx, st, st.run.SourceLocation, recs); err != nil {
			return err
		}
		if o.DryRun {
			return errDryRun
		}
		if ft != nil && !st.keptCatalog {
			return ft.save(ctx, tx, st, recs, st.scope)
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return info, nil
	}
	if err == nil {
		r.indexSearch(ctx, st)
	}
	return info, err
}

// searchIndexer is a store that writes search documents after the commit of the rows
// (PostgreSQL, migration 0250).
type searchIndexer interface {
	IndexSearch(ctx context.Context) (int, error)
}

// indexSearch writes the search documents of what the run's transaction changed, so
// that a search finds the run's rules and templates once the run is done. The rows are
// committed already: a failure here leaves them queued for the next index step (the
// next import or write of a rule or template, the next start) and is a warning of the
// run, not a failure.
func (r *Runner) indexSearch(ctx context.Context, st *runState) {
	ix, ok := r.Store.(searchIndexer)
	if !ok {
		return
	}
	st.report(Progress{Phase: "indexing"})
	if _, err := ix.IndexSearch(context.WithoutCancel(ctx)); err != nil {
		st.warn(core.ImportWarning{Severity: "warning", Summary: "the search index was not brought up to date (the next import or start will): " + err.Error()})
	}
}

type pluginKey struct{ kind, id string }

// containerKinds hold other records and mean nothing alone: a run that yields only
// these imported nothing.
var containerKinds = map[string]bool{sdk.KindComplianceFramework: true}

// yieldedRecords fails a run whose source gave no records (or only containers, such as a
// framework without a single control): that is a wrong path or a format the plugin does
// not read, never success, and applying it would deprecate everything imported before.
func yieldedRecords(recs []*pending, st *runState) error {
	if st.files != nil && len(st.files.unchanged) > 0 {
		// The unchanged files' records count too; apply checks that there are some.
		return nil
	}
	for _, p := range recs {
		if !containerKinds[p.Kind] {
			return nil
		}
	}
	what := "no records"
	if len(recs) > 0 {
		what = fmt.Sprintf("only %d %s record(s) and nothing in them", len(recs), recs[0].Kind)
	}
	msg := "the source yielded " + what + ", nothing was changed"
	if len(st.warnings) > 0 {
		var ws []string
		for i, w := range st.warnings {
			if i == 3 {
				ws = append(ws, fmt.Sprintf("and %d more", st.warningCount-3))
				break
			}
			ws = append(ws, w.String())
		}
		msg += "; the plugin said: " + strings.Join(ws, "; ")
	}
	return errors.New(msg)
}

// sdkWarning is a warning about a file, as a plugin would send it.
func sdkWarning(file, summary string) sdk.Diagnostic {
	return sdk.Diagnostic{Severity: sdk.SeverityWarning, File: file, Summary: summary}
}

func position(r *host.IncomingRecord) string {
	switch {
	case r.File != "" && r.Line > 0:
		return fmt.Sprintf("%s:%d", r.File, r.Line)
	case r.File != "":
		return r.File
	}
	return "earlier in the stream"
}

// contentHash identifies a record's content: the plugin's JSON encoding is
// deterministic (struct fields in order, map keys sorted), so unchanged upstream data
// hashes the same on every run.
func contentHash(kind string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
