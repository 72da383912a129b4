package importer

import (
	"context"
	"fmt"
	"sort"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/sdk"
)

// runRelease is the ATT&CK release a run's technique records name ("" when none does)
// and the domains of its tactics and techniques.
func runRelease(recs []*pending) (string, []string) {
	release := ""
	set := map[string]bool{}
	for _, p := range recs {
		switch r := p.rec.(type) {
		case *sdk.Tactic:
			set[r.Domain] = true
		case *sdk.Technique:
			if release == "" {
				release = r.ReleaseVersion
			}
			addAll(set, r.Domains)
		}
	}
	delete(set, "")
	doms := make([]string, 0, len(set))
	for d := range set {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	return release, doms
}

// newerRelease returns the newest release recorded for the run's domains when every one
// of them already holds a release newer than the run's: the run then brings an older
// release, after an upgrade ("" otherwise, and for a run that names no release).
func newerRelease(ctx context.Context, tx core.Tx, recs []*pending) (release, newer string, err error) {
	release, doms := runRelease(recs)
	if release == "" || len(doms) == 0 {
		return "", "", nil
	}
	for _, d := range doms {
		list, err := tx.AttackReleases(ctx, d)
		if err != nil {
			return "", "", err
		}
		newest := ""
		for _, r := range list {
			if newest == "" || core.ReleaseLess(newest, r) {
				newest = r
			}
		}
		if newest == "" || !core.ReleaseLess(release, newest) {
			return "", "", nil
		}
		if newer == "" || core.ReleaseLess(newest, newer) {
			newer = newest
		}
	}
	return release, newer, nil
}

// applyOlderRelease stores what an ATT&CK release older than one already imported held:
// its tactics as it had them and its techniques in them, for the matrix of that release.
// The catalog in use stays the newer release's: technique and tactic rows (their names,
// links, revoked and deprecated flags, last_seen_release), the import's bookkeeping
// (whose records would otherwise be the older ones, and the newer release's additions
// deprecated as "gone"), the remap queue and the file states of the newer import. A
// tactic or technique the catalog lacks gets a row that leaves today's matrix as it is
// (a deprecated tactic; an "unknown to the release in use" technique).
func (r *Runner) applyOlderRelease(ctx context.Context, tx core.Tx, st *runState, recs []*pending, release, newer string) error {
	run := st.run
	st.keptCatalog = true
	a := &applyCtx{tx: tx, st: st, source: st.opts.Plugin, sourceRef: st.run.SourceLocation, tacticRows: map[string]*core.Tactic{}}
	// The release's own shortnames, by domain, for its techniques' kill-chain phases.
	a.tactics = map[string]string{}
	for i, p := range recs {
		a.file, a.line = p.File, p.Line
		switch rec := p.rec.(type) {
		case *sdk.Tactic:
			ta, err := tx.TacticByExternalID(ctx, rec.Domain, rec.ExternalID)
			if core.ErrorCode(err) == core.ENOTFOUND {
				ta = &core.Tactic{ExternalID: rec.ExternalID, STIXID: rec.STIXID, Name: rec.Name, Shortname: rec.Shortname,
					Domain: rec.Domain, MatrixOrder: rec.Order, Description: rec.Description, URL: rec.URL, Deprecated: true,
					Source: a.source, SourceRef: a.sourceRef}
				err = tx.UpsertTactic(ctx, ta)
			}
			if err != nil {
				return fmt.Errorf("%stactic %q: %w", positionPrefix(p.IncomingRecord), p.ExternalID, err)
			}
			a.tactics[rec.Domain+"/"+rec.Shortname] = ta.ID
			a.tacticRows[ta.ID] = &core.Tactic{ID: ta.ID, ExternalID: rec.ExternalID, Name: rec.Name, Shortname: rec.Shortname,
				Domain: rec.Domain, MatrixOrder: rec.Order}
		case *sdk.Technique:
			id, err := tx.EnsureTechnique(ctx, rec.ExternalID)
			if err != nil {
				return fmt.Errorf("%stechnique %q: %w", positionPrefix(p.IncomingRecord), p.ExternalID, err)
			}
			byDomain := map[string][]string{}
			for _, short := range rec.Tactics {
				for _, d := range rec.Domains {
					if ta, ok := a.tactics[d+"/"+short]; ok {
						byDomain[d] = append(byDomain[d], ta)
					}
				}
			}
			if err := recordRelease(ctx, a, rec, rec, id, byDomain); err != nil {
				return err
			}
		}
		if (i+1)%500 == 0 {
			st.report(Progress{Done: int64(i + 1), Total: int64(len(recs))})
		}
	}
	a.file, a.line = "", 0
	run.Unchanged = len(recs)
	st.warn(core.ImportWarning{Severity: "info", Summary: fmt.Sprintf(
		"ATT&CK %s is older than %s, imported already: its tactics and techniques are recorded for the matrix of %s, and the catalog in use stays %s",
		release, newer, release, newer)})
	return auditRun(ctx, tx, st, st.run.SourceLocation)
}
