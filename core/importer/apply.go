package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
)

// applier stores one decoded record and returns the id of the entity it became.
// existingID is the entity the record became last time, if any.
type applier func(ctx context.Context, a *applyCtx, rec sdk.Record) (entityID string, err error)

// appliers holds a function per record kind this Aegis can store; a kind missing here
// fails the run before anything is written.
var appliers = map[string]applier{}

// applyCtx is what appliers share during one run.
type applyCtx struct {
	tx        core.Tx
	st        *runState
	source    string            // plugin instance name
	sourceRef string            // source location
	hash      string            // content hash of the record being applied
	tactics   map[string]string // domain/shortname → tactic id, loaded on first use
	// tacticRows are tactics by id as the run's release has them (its tactic records,
	// else the catalog's row), for the release's tactic rows; releaseTactics are those
	// written (domain/release/id).
	tacticRows     map[string]*core.Tactic
	releaseTactics map[string]bool
	// file and line are where the record being applied was read.
	file string
	line int
	// templatesChanged says the run wrote test templates (profiles may name them).
	templatesChanged bool
}

func (a *applyCtx) warn(rec sdk.Record, summary string) {
	a.st.warn(core.ImportWarning{Severity: "warning", Summary: summary, ExternalID: rec.ID(), File: a.file, Line: a.line})
}

// apply writes the run's records: unchanged ones are skipped without a write, new and
// changed ones upserted (merged with what other scopes of the source bring), and
// records of the run's scope that did not come this time are marked deprecated, unless
// the plugin said it could not read them.
func (r *Runner) apply(ctx context.Context, tx core.Tx, st *runState, sourceRef string, recs []*pending) error {
	run := st.run
	source := st.opts.Plugin
	// An ATT&CK release older than one imported already only records what it held.
	if release, newer, err := newerRelease(ctx, tx, recs); err != nil {
		return err
	} else if newer != "" {
		return r.applyOlderRelease(ctx, tx, st, recs, release, newer)
	}
	st.keptCatalog = false
	// The store may hold the upserts of templates and rules back and write them many
	// per statement (one round trip per record bounded PostgreSQL's write phase).
	if h, ok := tx.(interface{ HoldWrites() }); ok {
		h.HoldWrites()
	}
	// The store may write search documents after the commit (PostgreSQL): the run does
	// it as a phase of its own (indexSearch), not the commit.
	if d, ok := tx.(interface{ DeferSearchIndex() }); ok {
		d.DeferSearchIndex()
	}
	existing, err := tx.ImportRecords(ctx, source)
	if err != nil {
		return err
	}
	scope := st.files.scope(runScope(recs, sourceRef), sourceRef, len(recs))
	st.scope = scope
	// The records of the files the plugin skipped as unchanged are kept as they are;
	// the store must still hold what the previous run left of them.
	ft := st.files
	if ft != nil {
		ft.rows = map[string]int{} // a retried transaction counts again
	}
	skipped := map[string]bool{}
	if ft != nil && len(ft.unchanged) > 0 {
		skipped = ft.unchanged
		have := map[string]int{}
		for _, rows := range existing {
			if old := ownRow(rows, run.ImporterType, scope, sourceRef); old != nil && !old.Deprecated && skipped[old.File] {
				have[old.File]++
			}
		}
		if err := ft.checkKept(have); err != nil {
			return err
		}
	}
	live := func(file string) {
		if ft != nil {
			ft.rows[file]++
		}
	}
	a := &applyCtx{tx: tx, st: st, source: source, sourceRef: sourceRef}
	seen := make(map[core.ImportRecordKey]bool, len(recs))
	for i, p := range recs {
		key := core.ImportRecordKey{Kind: p.Kind, ExternalID: p.ExternalID}
		rows := existing[key]
		old := ownRow(rows, run.ImporterType, scope, sourceRef)
		if old != nil && !old.Deprecated && old.File != p.File && skipped[old.File] {
			// A full run would have met it twice and kept the first; the kept one stays.
			run.Rejected++
			st.warn(core.ImportWarning{Severity: "warning", Summary: fmt.Sprintf("duplicate %s %q: the one of %s (unchanged, skipped) is kept",
				p.Kind, p.ExternalID, old.File), File: p.File, Line: p.Line, ExternalID: p.ExternalID})
			continue
		}
		seen[key] = true
		live(p.File)
		if old != nil && old.ContentHash == p.hash && !old.Deprecated && old.SourceRef == sourceRef && old.Scope == scope &&
			old.Data != "" && old.File == p.File {
			run.Unchanged++
			continue
		}
		data, err := packRecord(p.JSON)
		if err != nil {
			return err
		}
		rec := &core.ImportRecord{Source: source, ImporterType: run.ImporterType, Scope: scope, SourceRef: sourceRef,
			File: p.File, Kind: p.Kind, ExternalID: p.ExternalID, ContentHash: p.hash, Data: data,
			FirstRunID: run.ID, LastRunID: run.ID}
		versions, err := liveVersions(rows, old)
		if err != nil {
			return err
		}
		versions = append(versions, scoped{scope: scope, sourceRef: sourceRef, rec: p.rec})
		a.file, a.line = p.File, p.Line
		entityID, err := a.applyVersions(ctx, p.Kind, p.hash, versions)
		a.file, a.line = "", 0
		if err != nil {
			return fmt.Errorf("%s%s %q: %w", positionPrefix(p.IncomingRecord), p.Kind, p.ExternalID, err)
		}
		rec.EntityID = entityID
		if p.Kind == sdk.KindTestTemplate {
			a.templatesChanged = true
		}
		if old != nil {
			rec.ID, rec.FirstRunID = old.ID, old.FirstRunID
			run.Updated++
		} else {
			run.Added++
		}
		if err := tx.PutImportRecord(ctx, rec); err != nil {
			return err
		}
		if (i+1)%500 == 0 {
			st.report(Progress{Done: int64(i + 1), Total: int64(len(recs))})
		}
	}

	// What vanished from this run's scope (same plugin, importer and scope) is
	// deprecated, never deleted: tests that point at it keep their history. Another
	// scope of the same plugin is left alone, and a record another scope still brings
	// stays live with what that scope says. A record of a file the plugin could not
	// read, or one it skipped with a warning, is kept as it was.
	gone := map[string][]string{}
	kept := map[string]int{}
	keys := make([]core.ImportRecordKey, 0, len(existing))
	for key := range existing {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].Kind < keys[j].Kind || keys[i].Kind == keys[j].Kind && keys[i].ExternalID < keys[j].ExternalID
	})
	for _, key := range keys {
		rows := existing[key]
		old := ownRow(rows, run.ImporterType, scope, sourceRef)
		if seen[key] || old == nil || old.Deprecated {
			continue
		}
		if skipped[old.File] {
			run.Unchanged++
			live(old.File)
			continue
		}
		if why := st.unread(old); why != "" {
			kept[why]++
			live(old.File)
			continue
		}
		old.Deprecated, old.LastRunID, old.Scope = true, run.ID, scope
		if err := tx.PutImportRecord(ctx, old); err != nil {
			return err
		}
		run.Deprecated++
		versions, err := liveVersions(rows, old)
		if err != nil {
			return err
		}
		if len(versions) == 0 {
			gone[key.Kind] = append(gone[key.Kind], old.EntityID)
			continue
		}
		// Another scope still brings it: the entity becomes what the others say.
		if _, err := a.applyVersions(ctx, key.Kind, "", versions); err != nil {
			return fmt.Errorf("%s %q: %w", key.Kind, key.ExternalID, err)
		}
	}
	for kind, ids := range gone {
		if err := tx.DeprecateEntities(ctx, kind, ids); err != nil {
			return err
		}
	}
	if a.templatesChanged {
		if err := refreshProfiles(ctx, a); err != nil {
			return err
		}
	}
	if len(kept) > 0 {
		whys := make([]string, 0, len(kept))
		total := 0
		for why, n := range kept {
			whys = append(whys, fmt.Sprintf("%s (%d)", why, n))
			total += n
		}
		sort.Strings(whys)
		st.warn(core.ImportWarning{Severity: "warning", Summary: fmt.Sprintf(
			"%d record(s) imported earlier were not delivered this time but are kept as they were, not deprecated, because the plugin could not read or skipped them: %s",
			total, strings.Join(whys, ", "))})
	}
	if len(skipped) > 0 && len(recs) == 0 && run.Unchanged == 0 {
		return fmt.Errorf("the source yielded no records: the %d file(s) the plugin skipped as unchanged hold none either, nothing was changed", len(skipped))
	}
	if run.Added+run.Updated+run.Deprecated == 0 {
		// Nothing changed: no catalog row is written, only the run's audit entry.
		return auditRun(ctx, tx, st, sourceRef)
	}
	// A release that revokes or deprecates techniques, or a source that links to a
	// retired one, is followed by the remap: unambiguous moves happen, the rest is queued.
	rep, err := core.ApplyRemap(ctx, tx, st.opts.Actor)
	if err != nil {
		return err
	}
	for _, m := range rep.Moves {
		st.warn(core.ImportWarning{Severity: "info", Summary: fmt.Sprintf("%s remapped to %s (%s): %v", m.From, m.To, m.Reason, m.Moved), ExternalID: m.From})
	}
	for _, q := range rep.Queued {
		st.warn(core.ImportWarning{Severity: "info", Summary: q + " is retired and waits in the review queue (GET /api/v1/attack/reviews)", ExternalID: q})
	}
	// The template ↔ rule links are derived when read (core.AssociationQueryRepo):
	// nothing to write for them.
	return auditRun(ctx, tx, st, sourceRef)
}

// auditRun writes the run's audit entry in the transaction that applies it, so the log
// and the data cannot disagree. (A dry run's transaction is rolled back; its entry is
// written with the run row instead.)
func auditRun(ctx context.Context, tx core.Tx, st *runState, sourceRef string) error {
	run := st.run
	return tx.AppendAudit(ctx, core.NewAudit(st.opts.Actor, "import.run", "import_run", run.ID, map[string]any{
		"plugin": st.opts.Plugin, "importer": run.ImporterType, "source": sourceRef, "triggered_by": run.TriggeredBy,
		"added": run.Added, "updated": run.Updated, "unchanged": run.Unchanged, "deprecated": run.Deprecated, "rejected": run.Rejected,
	}))
}

// ownRow is the bookkeeping row of the run's scope among a record's rows: the row of
// the scope, or a row written before scopes existed for the same location.
func ownRow(rows []*core.ImportRecord, importerType, scope, sourceRef string) *core.ImportRecord {
	var legacy *core.ImportRecord
	for _, r := range rows {
		if r.ImporterType != importerType {
			continue
		}
		if r.Scope == scope {
			return r
		}
		if r.Data == "" && r.Scope == sourceRef {
			legacy = r
		}
	}
	return legacy
}

// liveVersions decodes what the other scopes (not own) still bring of a record.
func liveVersions(rows []*core.ImportRecord, own *core.ImportRecord) ([]scoped, error) {
	var out []scoped
	for _, r := range rows {
		if r == own || r.Deprecated {
			continue
		}
		rec, err := unpackRecord(r)
		if err != nil {
			return nil, err
		}
		if rec == nil {
			// Written before scopes were kept: nothing to merge with.
			continue
		}
		out = append(out, scoped{scope: r.Scope, sourceRef: r.SourceRef, rec: rec})
	}
	return out, nil
}

// applyVersions stores the merge of a record's versions and returns the entity id.
// hash is the content hash of a lone version (computed for a merge).
func (a *applyCtx) applyVersions(ctx context.Context, kind, hash string, versions []scoped) (string, error) {
	rec, sourceRef := mergeScopes(versions)
	if len(versions) > 1 || hash == "" {
		data, err := json.Marshal(rec)
		if err != nil {
			return "", err
		}
		hash = contentHash(kind, data)
	}
	saved := a.sourceRef
	a.hash, a.sourceRef = hash, sourceRef
	defer func() { a.sourceRef = saved }()
	return appliers[kind](ctx, a, rec)
}

func positionPrefix(r *host.IncomingRecord) string {
	if r.File == "" {
		return ""
	}
	return position(r) + ": "
}

// mustJSON encodes v for a JSON column; a nil value becomes the column's empty value.
func mustJSON(v any, empty string) core.JSON {
	if v == nil {
		return core.JSON(empty)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return core.JSON(empty)
	}
	return b
}

func strs(s []string) core.Strings {
	if s == nil {
		return core.Strings{}
	}
	return core.Strings(s)
}
