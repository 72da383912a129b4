package exporter

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/sdk"
)

// coverage resolves a coverage scope (organisation, tactic, actor, campaign, snapshot,
// diff) into one technique_coverage record per technique and sub-technique in scope,
// and fills the scope's summary. Every figure comes from the coverage service.
func (r StoreResolver) coverage(ctx context.Context, scope core.ExportScope, sc *sdk.Scope) ([]sdk.Record, error) {
	svc := r.Coverage
	if svc == nil {
		svc = coverage.New(r.Store, nil)
	}
	q := coverage.ExportQuery{Domain: scope.Domain}
	switch scope.Kind {
	case core.ScopeOrganisation:
	case core.ScopeTactic:
		q.TacticID = scope.ID
	case core.ScopeActor:
		q.ActorID = scope.ID
	case core.ScopeCampaign:
		q.CampaignID = scope.ID
	case core.ScopeSnapshot:
		q.SnapshotID = scope.ID
	case core.ScopeDiff:
		q.SnapshotID, q.BaseSnapshotID = scope.ID, scope.Base
	default:
		return nil, core.FieldError("scope.kind", "unknown scope %q", scope.Kind)
	}
	cov, err := svc.Export(ctx, q)
	if err != nil {
		return nil, err
	}
	mx := cov.Matrix
	sc.Domain, sc.AttackVersion = mx.Domain, mx.Release
	sum := &sdk.ScopeSummary{Score: cov.Score.Score, Techniques: cov.Score.Techniques, Tested: cov.Score.Scored,
		FormulaVersion: mx.FormulaVersion, Counts: map[string]int{}, Statuses: map[string]int{}}
	for st, n := range cov.StatusCounts {
		sum.Statuses[string(st)] = n
	}
	for _, col := range mx.Tactics {
		sum.Tactics = append(sum.Tactics, sdk.TacticScore{ID: col.ExternalID, Shortname: col.Shortname, Name: col.Name,
			Score: col.Score.Score, Techniques: col.Score.Techniques, Tested: col.Score.Scored})
	}
	for _, a := range cov.Actors {
		sum.Actors = append(sum.Actors, sdk.ActorScore{ID: a.ExternalID, Name: a.Name, Score: a.Score.Score,
			Techniques: a.Techniques, Tested: a.Score.Scored})
	}
	for _, sn := range cov.Snapshots {
		sum.Trend = append(sum.Trend, sdk.TrendPoint{SnapshotID: sn.ID, Name: sn.Name, TakenAt: sn.TakenAt, Score: sn.OrgScore})
	}
	changes := diffChanges(cov.Comparison)
	var out []sdk.Record
	platforms := map[string]bool{}
	for i := range cov.Techniques {
		et := &cov.Techniques[i]
		rec := techniqueRecord(et, r.BaseURL)
		if changes != nil {
			rec.Change = &sdk.CoverageChange{Direction: sdk.ChangeUnchanged, BeforeStatus: rec.Status, BeforeScore: rec.Score}
			if ch := changes[et.ExternalID]; ch != nil {
				rec.Change = &ch.CoverageChange
			}
			if b := cov.Before[et.ExternalID]; b != nil {
				rec.Change.BeforeTests, rec.Change.BeforeValidated = b.Counts.Tests, b.Counts.Validated
			} else {
				rec.Change.BeforeTests, rec.Change.BeforeValidated = 0, 0
			}
			delete(changes, et.ExternalID)
		}
		for _, p := range et.Platforms {
			platforms[p] = true
		}
		addCounts(sum.Counts, et.Counts)
		out = append(out, rec)
	}
	// What the earlier snapshot had and the later one lacks is no live technique now.
	for _, id := range slices.Sorted(maps.Keys(changes)) {
		ch := changes[id]
		out = append(out, &sdk.TechniqueCoverage{TechniqueID: id, Name: ch.name, Status: sdk.CoverageNotTested, Change: &ch.CoverageChange})
	}
	for p := range platforms {
		sum.Platforms = append(sum.Platforms, p)
	}
	slices.Sort(sum.Platforms)
	sc.Summary = sum
	if err := r.name(ctx, cov, scope, sc); err != nil {
		return nil, err
	}
	for _, rec := range out {
		if err := rec.Validate(); err != nil {
			return nil, fmt.Errorf("coverage of %s: %w", rec.ID(), err)
		}
	}
	return out, nil
}

// name titles the scope and, for a diff, adds the comparison's figures.
func (r StoreResolver) name(ctx context.Context, cov *coverage.ExportCoverage, scope core.ExportScope, sc *sdk.Scope) error {
	switch scope.Kind {
	case core.ScopeOrganisation:
		sc.Name, sc.Title = "Organisation", "Organisation coverage"
	case core.ScopeTactic:
		sc.ID = cov.Tactic.ExternalID
		sc.Name, sc.Title = cov.Tactic.Name, "Coverage of "+cov.Tactic.Name+" ("+cov.Tactic.ExternalID+")"
	case core.ScopeActor:
		sc.ID = cov.Actor.ExternalID
		sc.Name, sc.Title = cov.Actor.Name, "Coverage against "+cov.Actor.Name+" ("+cov.Actor.ExternalID+")"
	case core.ScopeCampaign:
		name := scope.ID
		if err := r.Store.View(ctx, func(tx core.Tx) error {
			c, err := tx.CampaignByID(ctx, scope.ID)
			if err == nil {
				name = c.Name
			}
			return err
		}); err != nil {
			return err
		}
		sc.Name, sc.Title = name, "Coverage of campaign "+name
	case core.ScopeSnapshot:
		sn := snapshotOf(cov, scope.ID)
		sc.Name, sc.Title = sn.Name, "Coverage at snapshot "+sn.Name
	case core.ScopeDiff:
		cmp := cov.Comparison
		sc.Name = cmp.To.Name
		sc.Title = "Coverage change from " + cmp.From.Name + " to " + cmp.To.Name
		sc.Summary.Diff = &sdk.ScopeDiff{BaseName: cmp.From.Name, BaseTakenAt: cmp.From.TakenAt, BaseScore: cmp.From.OrgScore,
			Name: cmp.To.Name, TakenAt: cmp.To.TakenAt, Score: cmp.To.OrgScore, ScoreChange: cmp.ScoreChange, SameFormula: cmp.SameFormula,
			Improved: len(cmp.Improved), Regressed: len(cmp.Regressed), New: len(cmp.New), Removed: len(cmp.Removed), Unchanged: cmp.Unchanged}
	}
	return nil
}

func snapshotOf(cov *coverage.ExportCoverage, id string) *core.Snapshot {
	for _, sn := range cov.Snapshots {
		if sn.ID == id {
			return sn
		}
	}
	return &core.Snapshot{ID: id, Name: id}
}

func techniqueRecord(et *coverage.ExportTechnique, baseURL string) *sdk.TechniqueCoverage {
	c := et.Counts
	rec := &sdk.TechniqueCoverage{TechniqueID: et.ExternalID, Name: et.Name, Parent: et.Parent, Tactics: et.Tactics,
		Platforms: et.Platforms, Status: string(et.Status), Score: et.Score, Templates: et.Templates, LastValidated: et.LastValidated,
		Weight: et.Weight, Counts: sdk.TestCounts{Tests: c.Tests, InProgress: c.InProgress, Validated: c.Validated, Rejected: c.Rejected,
			Prevented: c.Prevented, Alerted: c.Alerted, Logged: c.Logged, None: c.None}}
	if baseURL != "" {
		rec.URL = strings.TrimRight(baseURL, "/") + "/techniques/" + url.PathEscape(et.ID)
	}
	return rec
}

func addCounts(m map[string]int, c core.TechniqueTestCounts) {
	m["tests"] += c.Tests
	m["in_progress"] += c.InProgress
	m["validated"] += c.Validated
	m["rejected"] += c.Rejected
	m["prevented"] += c.Prevented
	m["alerted"] += c.Alerted
	m["logged"] += c.Logged
	m["none"] += c.None
}

type namedChange struct {
	sdk.CoverageChange
	name string
}

// diffChanges indexes a comparison's moved techniques by ATT&CK id (nil without one).
func diffChanges(cmp *coverage.SnapshotComparison) map[string]*namedChange {
	if cmp == nil {
		return nil
	}
	out := map[string]*namedChange{}
	for dir, list := range map[string][]coverage.TechniqueChange{sdk.ChangeImproved: cmp.Improved, sdk.ChangeRegressed: cmp.Regressed,
		sdk.ChangeNew: cmp.New, sdk.ChangeRemoved: cmp.Removed} {
		for _, c := range list {
			out[c.TechniqueID] = &namedChange{CoverageChange: sdk.CoverageChange{Direction: dir,
				BeforeStatus: string(c.BeforeStatus), BeforeScore: c.BeforeScore, TestsChanged: len(c.Tests)}, name: c.Name}
		}
	}
	return out
}
