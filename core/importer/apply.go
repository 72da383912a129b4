package importer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
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
	tx        *store.Tx
	st        *runState
	source    string            // plugin instance name
	sourceRef string            // source location
	hash      string            // content hash of the record being applied
	tactics   map[string]string // domain/shortname → tactic id, loaded on first use
}

func (a *applyCtx) warn(rec sdk.Record, summary string) {
	a.st.warn(core.ImportWarning{Severity: "warning", Summary: summary, ExternalID: rec.ID()})
}

// apply writes the run's records: unchanged ones are skipped without a write, new and
// changed ones upserted, and records of the same source location that did not come
// this time are marked deprecated.
func (r *Runner) apply(ctx context.Context, tx *store.Tx, st *runState, sourceRef string, recs []*pending) error {
	run := st.run
	source := st.opts.Plugin
	existing, err := tx.ImportRecords(ctx, source)
	if err != nil {
		return err
	}
	a := &applyCtx{tx: tx, st: st, source: source, sourceRef: sourceRef}
	seen := make(map[store.ImportRecordKey]bool, len(recs))
	for i, p := range recs {
		key := store.ImportRecordKey{Kind: p.Kind, ExternalID: p.ExternalID}
		seen[key] = true
		old := existing[key]
		if old != nil && old.ContentHash == p.hash && !old.Deprecated && old.SourceRef == sourceRef && old.ImporterType == run.ImporterType {
			run.Unchanged++
			continue
		}
		a.hash = p.hash
		entityID, err := appliers[p.Kind](ctx, a, p.rec)
		if err != nil {
			return fmt.Errorf("%s%s %q: %w", positionPrefix(p.IncomingRecord), p.Kind, p.ExternalID, err)
		}
		rec := &store.ImportRecord{Source: source, ImporterType: run.ImporterType, SourceRef: sourceRef, Kind: p.Kind,
			ExternalID: p.ExternalID, EntityID: entityID, ContentHash: p.hash, FirstRunID: run.ID, LastRunID: run.ID}
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

	// What vanished from this same source location (same plugin, importer and place)
	// is deprecated, never deleted: tests that point at it keep their history. Another
	// location of the same plugin is a different scope and is left alone.
	gone := map[string][]string{}
	for key, old := range existing {
		if seen[key] || old.Deprecated || old.SourceRef != sourceRef || old.ImporterType != run.ImporterType {
			continue
		}
		old.Deprecated, old.LastRunID = true, run.ID
		if err := tx.PutImportRecord(ctx, old); err != nil {
			return err
		}
		gone[key.Kind] = append(gone[key.Kind], old.EntityID)
		run.Deprecated++
	}
	for kind, ids := range gone {
		if err := tx.DeprecateEntities(ctx, kind, ids); err != nil {
			return err
		}
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
	added, removed, err := core.RecomputeAssociations(ctx, tx)
	if err != nil {
		return err
	}
	if added+removed > 0 {
		st.warn(core.ImportWarning{Severity: "info", Summary: fmt.Sprintf("template ↔ detection rule links: %d added, %d removed", added, removed)})
	}
	return auditRun(ctx, tx, st, sourceRef)
}

// auditRun writes the run's audit entry in the transaction that applies it, so the log
// and the data cannot disagree. (A dry run's transaction is rolled back; its entry is
// written with the run row instead.)
func auditRun(ctx context.Context, tx *store.Tx, st *runState, sourceRef string) error {
	run := st.run
	return tx.AppendAudit(ctx, core.NewAudit(st.opts.Actor, "import.run", "import_run", run.ID, map[string]any{
		"plugin": st.opts.Plugin, "importer": run.ImporterType, "source": sourceRef, "triggered_by": run.TriggeredBy,
		"added": run.Added, "updated": run.Updated, "unchanged": run.Unchanged, "deprecated": run.Deprecated, "rejected": run.Rejected,
	}))
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
