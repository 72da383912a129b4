// Package exporter runs exporter plugins: the export pipeline of DESIGN.md §2. The core
// resolves a scope into records, streams them to the plugin and collects the artifacts
// it streams back. A run stores its artifacts with its row in one transaction, and only
// when everything went well: a plugin that crashes, hangs past its timeout, reports an
// error or sends garbage fails the run and leaves no artifact behind.
package exporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/sdk"
)

// MaxArtifactBytes bounds what one export may produce in total. Artifacts are kept in
// memory until the run is stored, so a runaway plugin must not exhaust the server.
const MaxArtifactBytes = 64 << 20

// MaxWarnings bounds how many warnings a run keeps (all are counted).
const MaxWarnings = 200

// Runner runs exports.
type Runner struct {
	Store core.Store
	Host  *pluginhost.Host
	// Resolver turns a scope into records; nil resolves with the store alone.
	Resolver Resolver
	Log      hclog.Logger
}

// Options describe one run.
type Options struct {
	Plugin string
	// Type selects the exporter inside the plugin; empty means its only exporter.
	Type        string
	Scope       core.ExportScope
	TriggeredBy string
	Actor       *core.User
	// Progress, when set, is called as the run moves on.
	Progress func(core.ExportProgress)
	// OnCreated, when set, is called once the run's row exists.
	OnCreated func(run *core.ExportRun)
}

// Result is a finished run and, when it succeeded, its artifacts with their bytes.
type Result struct {
	Run       *core.ExportRun
	Artifacts []*core.ExportArtifact
}

// runLocker is the store's lock that marks an export run as owned by a live process.
type runLocker interface {
	TryExportRunLock(ctx context.Context, id string) (unlock func(), ok bool, err error)
}

// orphanSweeper is the store's way to find export runs left running by a process that
// was killed or crashed, and mark them interrupted.
type orphanSweeper interface {
	InterruptOrphanedExports(ctx context.Context) ([]*core.ExportRun, error)
}

// SweepEvery is how often a server looks for interrupted exports.
const SweepEvery = time.Minute

// SweepInterrupted marks failed, as interrupted, every export run still marked running
// whose process is gone, and returns them. A store without run locks has nothing to
// sweep.
func (r *Runner) SweepInterrupted(ctx context.Context) ([]*core.ExportRun, error) {
	sw, ok := r.Store.(orphanSweeper)
	if !ok {
		return nil, nil
	}
	gone, err := sw.InterruptOrphanedExports(ctx)
	for _, g := range gone {
		r.logger().Warn("export interrupted: its process ended before it finished", "plugin", g.PluginName, "run", g.ID,
			"started", g.StartedAt)
	}
	return gone, err
}

func (r *Runner) logger() hclog.Logger {
	if r.Log == nil {
		return hclog.NewNullLogger()
	}
	return r.Log
}

// Run performs one export. The error is non-nil when the run failed; the run row, when
// there is one, says why as well.
func (r *Runner) Run(ctx context.Context, o Options) (*Result, error) {
	log := r.logger()
	if _, err := r.Host.Plugin(o.Plugin); err != nil {
		return nil, core.FieldError("plugin", "%v", err)
	}
	if err := o.Scope.Validate(); err != nil {
		return nil, err
	}
	scopeJSON, _ := json.Marshal(o.Scope)
	run := &core.ExportRun{ID: core.NewID(), PluginName: o.Plugin, ExporterType: o.Type, Scope: scopeJSON, Outcome: core.RunRunning,
		TriggeredBy: o.TriggeredBy, StartedAt: core.Now()}
	// The run's lock is taken before its row exists and held until its outcome is
	// written: a running row whose lock is free was left by a process that died.
	if l, ok := r.Store.(runLocker); ok {
		unlock, got, err := l.TryExportRunLock(ctx, run.ID)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", o.Plugin, err)
		}
		if !got {
			return nil, fmt.Errorf("export %s: the lock of new run %s is taken", o.Plugin, run.ID)
		}
		defer unlock()
	}
	if o.Actor != nil {
		id := o.Actor.ID
		run.UserID = &id
	}
	if err := r.Store.Update(ctx, func(tx core.Tx) error { return tx.CreateExportRun(ctx, run) }); err != nil {
		return nil, fmt.Errorf("export %s: %w", o.Plugin, err)
	}
	if o.OnCreated != nil {
		cp := *run
		o.OnCreated(&cp)
	}
	log = log.With("plugin", o.Plugin, "run", run.ID)
	log.Info("export started", "scope", o.Scope.String())

	st := &runState{run: run, progress: o.Progress}
	info, arts, runErr := r.run(ctx, st, o)
	res := &Result{Run: run}
	if runErr != nil {
		run.Outcome, run.Error = core.RunFailed, runErr.Error()
		arts = nil
	} else {
		run.Outcome = core.RunSucceeded
		res.Artifacts = arts
		run.Artifacts = len(arts)
		all := sha256.New()
		for _, a := range arts {
			run.SizeBytes += a.SizeBytes
			all.Write(a.Data)
		}
		run.SHA256 = hex.EncodeToString(all.Sum(nil))
	}
	fin := core.Now()
	run.FinishedAt = &fin
	run.DurationMS = fin.Sub(run.StartedAt).Milliseconds()
	run.WarningCount = st.warningCount
	if b, err := json.Marshal(st.warnings); err == nil {
		run.Warnings = b
	}
	st.report(core.ExportProgress{Phase: "storing"})
	// The row is finished on a context of its own: a run cancelled by its timeout must
	// still say how it ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := r.Store.Update(fctx, func(tx core.Tx) error {
		if info != nil {
			if err := tx.UpsertPlugin(fctx, info); err != nil {
				return err
			}
		}
		action, details := "export.succeeded", map[string]any{"plugin": o.Plugin, "type": run.ExporterType,
			"scope": o.Scope.String(), "size_bytes": run.SizeBytes, "sha256": run.SHA256, "triggered_by": run.TriggeredBy}
		if runErr != nil {
			action, details = "export.failed", map[string]any{"plugin": o.Plugin, "type": run.ExporterType,
				"scope": o.Scope.String(), "error": run.Error, "triggered_by": run.TriggeredBy}
		}
		if err := tx.AppendAudit(fctx, core.NewAudit(o.Actor, action, "export_run", run.ID, details)); err != nil {
			return err
		}
		return tx.FinishExportRun(fctx, run, arts)
	})
	if err != nil {
		log.Error("recording the export run failed", "error", err)
		if runErr == nil {
			runErr = err
			run.Outcome, run.Error = core.RunFailed, err.Error()
			res.Artifacts = nil
		}
	}
	if runErr != nil {
		log.Warn("export failed", "error", runErr)
		return res, fmt.Errorf("export %s: %w", o.Plugin, runErr)
	}
	log.Info("export finished", "artifacts", run.Artifacts, "bytes", run.SizeBytes, "records", run.Records,
		"duration", time.Duration(run.DurationMS)*time.Millisecond)
	return res, nil
}

type runState struct {
	run          *core.ExportRun
	progress     func(core.ExportProgress)
	warnings     []core.ImportWarning
	warningCount int
	total        int64
	sent         int64
	bytes        int64
	phase        string
}

func (s *runState) warn(w core.ImportWarning) {
	s.warningCount++
	if len(s.warnings) < MaxWarnings {
		s.warnings = append(s.warnings, w)
	}
}

func (s *runState) report(p core.ExportProgress) {
	if p.Phase == "" {
		p.Phase = s.phase
	}
	s.phase = p.Phase
	if s.progress == nil {
		return
	}
	p.Records, p.Total, p.Bytes = s.sent, s.total, s.bytes
	s.progress(p)
}

func (r *Runner) run(ctx context.Context, st *runState, o Options) (*core.PluginInfo, []*core.ExportArtifact, error) {
	st.report(core.ExportProgress{Phase: "resolving"})
	resolver := r.Resolver
	if resolver == nil {
		resolver = StoreResolver{Store: r.Store}
	}
	resolved, err := resolver.Resolve(ctx, o.Scope)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve scope %s: %w", o.Scope.String(), err)
	}
	st.run.Scope = core.JSON(resolved.ScopeJSON)
	st.run.Records = len(resolved.Records)
	st.total = int64(len(resolved.Records))
	return stream(ctx, r.Host, st, o.Plugin, o.Type, resolved)
}

// Convert runs an exporter over records the caller made, without a store or a run
// row (aegis convert): the same plugin start, checks and artifact rules as a run.
func Convert(ctx context.Context, h *pluginhost.Host, plugin, typ string, resolved *Resolved) ([]*core.ExportArtifact, []core.ImportWarning, error) {
	st := &runState{run: &core.ExportRun{ID: core.NewID()}, total: int64(len(resolved.Records))}
	_, arts, err := stream(ctx, h, st, plugin, typ, resolved)
	if err != nil {
		return nil, st.warnings, fmt.Errorf("%s: %w", plugin, err)
	}
	return arts, st.warnings, nil
}

// stream starts the plugin, sends the resolved records and collects the artifacts.
func stream(ctx context.Context, h *pluginhost.Host, st *runState, plugin, wantType string, resolved *Resolved) (*core.PluginInfo, []*core.ExportArtifact, error) {
	st.report(core.ExportProgress{Phase: "starting"})
	inst, err := h.Start(ctx, plugin)
	if err != nil {
		return nil, nil, err
	}
	defer inst.Close()
	const nothing = "nothing was exported"
	cctx, cancel := context.WithTimeout(ctx, inst.Config.Timeout)
	defer cancel()
	desc, err := inst.Client.Describe(cctx)
	if err != nil {
		return nil, nil, inst.CallFailure(cctx, "describe", nothing, err)
	}
	info := pluginhost.Info(inst, desc)
	typ, err := pluginhost.ChooseComponent(desc, sdk.ComponentExporter, wantType)
	if err != nil {
		return info, nil, err
	}
	st.run.ExporterType = typ
	if err := inst.ValidateConfig(cctx, sdk.ComponentExporter, typ); err != nil {
		return info, nil, err
	}
	if comp, ok := desc.Component(sdk.ComponentExporter, typ); ok {
		if err := checkKinds(comp, resolved.Records); err != nil {
			return info, nil, fmt.Errorf("%w; %s", err, nothing)
		}
	}

	st.report(core.ExportProgress{Phase: "exporting"})
	col := &collector{st: st}
	diags, err := inst.Client.Export(cctx, sdk.ExportRequest{Type: typ, Config: inst.Config.Config, ExportID: st.run.ID,
		Scope: resolved.ScopeJSON}, func(yield func(sdk.Record) error) error {
		for _, rec := range resolved.Records {
			if err := yield(rec); err != nil {
				return err
			}
			st.sent++
			if st.sent%200 == 0 {
				st.report(core.ExportProgress{})
			}
		}
		return nil
	}, col.open)
	for _, d := range diags {
		st.warn(core.ImportWarning{Severity: d.Severity.String(), Summary: d.Summary, Detail: d.Detail,
			File: d.File, Line: d.Line, ExternalID: d.ExternalID})
	}
	if err != nil {
		var ds sdk.Diagnostics
		if col.err != nil {
			return info, nil, fmt.Errorf("%w; %s", col.err, nothing)
		}
		if errors.As(err, &ds) {
			return info, nil, fmt.Errorf("the plugin reported %d error(s), %s: %s", len(ds.Errors()), nothing, pluginhost.SummarizeDiagnostics(ds.Errors()))
		}
		return info, nil, inst.CallFailure(cctx, "export", nothing, err)
	}
	arts, err := col.finish()
	if err != nil {
		return info, nil, fmt.Errorf("%w; %s", err, nothing)
	}
	return info, arts, nil
}

// collector keeps the artifacts a plugin streams, refusing bad names and anything
// past MaxArtifactBytes.
type collector struct {
	st   *runState
	arts []*core.ExportArtifact
	bufs []*bytes.Buffer
	err  error
}

func (c *collector) fail(err error) error {
	if c.err == nil {
		c.err = err
	}
	return c.err
}

func (c *collector) open(name, mediaType string) (io.Writer, error) {
	if err := checkArtifactName(name); err != nil {
		return nil, c.fail(err)
	}
	for _, a := range c.arts {
		if a.Name == name {
			return nil, c.fail(fmt.Errorf("the plugin sent two artifacts named %q", name))
		}
	}
	if _, _, err := mime.ParseMediaType(mediaType); err != nil {
		return nil, c.fail(fmt.Errorf("artifact %q: media type %q is not valid: %v", name, mediaType, err))
	}
	c.arts = append(c.arts, &core.ExportArtifact{Name: name, MediaType: mediaType})
	buf := &bytes.Buffer{}
	c.bufs = append(c.bufs, buf)
	return &limitedWriter{c: c, buf: buf, name: name}, nil
}

type limitedWriter struct {
	c    *collector
	buf  *bytes.Buffer
	name string
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.c.st.bytes+int64(len(p)) > MaxArtifactBytes {
		return 0, w.c.fail(fmt.Errorf("the plugin's artifacts exceed %d MiB (at %q)", MaxArtifactBytes>>20, w.name))
	}
	w.c.st.bytes += int64(len(p))
	return w.buf.Write(p)
}

// finish checks the artifacts as a whole and computes their checksums.
func (c *collector) finish() ([]*core.ExportArtifact, error) {
	if c.err != nil {
		return nil, c.err
	}
	if len(c.arts) == 0 {
		return nil, errors.New("the plugin produced no artifact")
	}
	for i, a := range c.arts {
		a.Data = c.bufs[i].Bytes()
		a.SizeBytes = int64(len(a.Data))
		sum := sha256.Sum256(a.Data)
		a.SHA256 = hex.EncodeToString(sum[:])
		if err := checkContent(a); err != nil {
			return nil, err
		}
	}
	return c.arts, nil
}

// checkArtifactName accepts bare file names only: artifacts become files on the
// user's disk, and a name must never become a path.
func checkArtifactName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("the plugin sent an artifact without a usable name (%q)", name)
	case strings.ContainsAny(name, "/\\\x00") || path.Base(name) != name:
		return fmt.Errorf("the plugin sent an artifact named %q: a name must be a bare file name", name)
	case len(name) > 255:
		return fmt.Errorf("the plugin sent an artifact name of %d bytes (at most 255)", len(name))
	}
	return nil
}

// checkContent refuses an artifact whose bytes contradict its media type: a JSON file
// that does not parse is garbage, whatever the plugin meant.
func checkContent(a *core.ExportArtifact) error {
	mt, _, _ := mime.ParseMediaType(a.MediaType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if !json.Valid(a.Data) {
			return fmt.Errorf("artifact %q says %s but is not valid JSON", a.Name, mt)
		}
	case mt == "application/x-ndjson" || mt == "application/jsonl":
		for i, line := range bytes.Split(a.Data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 && !json.Valid(line) {
				return fmt.Errorf("artifact %q says %s but line %d is not valid JSON", a.Name, mt, i+1)
			}
		}
	case mt == "text/csv":
		r := csv.NewReader(bytes.NewReader(a.Data))
		if _, err := r.ReadAll(); err != nil {
			return fmt.Errorf("artifact %q says text/csv but is not valid CSV: %v", a.Name, err)
		}
	}
	return nil
}

// checkKinds refuses a scope none of whose records the exporter reads: a converter of
// detection rules given an actor's coverage would otherwise warn once per record and
// write an empty file. An exporter that names no record kinds takes everything.
func checkKinds(comp sdk.Component, recs []sdk.Record) error {
	if len(comp.RecordKinds) == 0 || len(recs) == 0 {
		return nil
	}
	sent := map[string]bool{}
	for _, r := range recs {
		if slices.Contains(comp.RecordKinds, r.Kind()) {
			return nil
		}
		sent[r.Kind()] = true
	}
	return fmt.Errorf("exporter %s reads %s records, and this scope sends only %s: use a scope of what it reads (a rules scope for detection rules, a coverage scope for technique coverage)",
		comp.Type, strings.Join(comp.RecordKinds, ", "), strings.Join(slices.Sorted(maps.Keys(sent)), ", "))
}
