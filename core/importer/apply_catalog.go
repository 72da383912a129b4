package importer

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/sdk"
)

func init() {
	appliers[sdk.KindTactic] = applyTactic
	appliers[sdk.KindTechnique] = applyTechnique
	appliers[sdk.KindTestTemplate] = applyTestTemplate
	appliers[sdk.KindDetectionRule] = applyDetectionRule
}

func applyTactic(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.Tactic)
	t := &core.Tactic{ExternalID: r.ExternalID, STIXID: r.STIXID, Name: r.Name, Shortname: r.Shortname, Domain: r.Domain,
		MatrixOrder: r.Order, Description: r.Description, URL: r.URL, Deprecated: r.Deprecated,
		Source: a.source, SourceRef: a.sourceRef, ContentHash: a.hash}
	if err := a.tx.UpsertTactic(ctx, t); err != nil {
		return "", err
	}
	if a.tactics != nil {
		a.tactics[t.Domain+"/"+t.Shortname] = t.ID
	}
	if a.tacticRows == nil {
		a.tacticRows = map[string]*core.Tactic{}
	}
	a.tacticRows[t.ID] = t
	return t.ID, nil
}

func (a *applyCtx) tacticID(ctx context.Context, domain, shortname string) (string, bool, error) {
	if a.tactics == nil {
		list, err := a.tx.ListTactics(ctx, "")
		if err != nil {
			return "", false, err
		}
		a.tactics = make(map[string]string, len(list))
		for _, t := range list {
			a.tactics[t.Domain+"/"+t.Shortname] = t.ID
		}
	}
	id, ok := a.tactics[domain+"/"+shortname]
	return id, ok, nil
}

func applyTechnique(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.Technique)
	t := &core.Technique{ExternalID: r.ExternalID, STIXID: r.STIXID, Name: r.Name, Description: r.Description,
		Platforms: strs(r.Platforms), Domains: strs(r.Domains), DataSources: strs(r.DataSources), Detection: r.DetectionText,
		URL: r.URL, ObjectVersion: r.Version, Revoked: r.Revoked, RevokedBy: r.RevokedBy, Deprecated: r.Deprecated,
		Known: true, LastSeenRelease: r.ReleaseVersion, Source: a.source, SourceRef: a.sourceRef, ContentHash: a.hash}
	if !r.Modified.IsZero() {
		m := r.Modified.UTC().Truncate(time.Microsecond)
		t.ModifiedAt = &m
	}
	if r.ParentID != "" {
		pid, err := a.tx.EnsureTechnique(ctx, r.ParentID)
		if err != nil {
			return "", err
		}
		t.ParentID = &pid
	}
	if err := a.tx.UpsertTechnique(ctx, t); err != nil {
		return "", err
	}
	domains := r.Domains
	if len(domains) == 0 {
		domains = []string{"enterprise-attack"}
	}
	var tacticIDs []string
	byDomain := map[string][]string{}
	for _, short := range r.Tactics {
		found := false
		for _, d := range domains {
			id, ok, err := a.tacticID(ctx, d, short)
			if err != nil {
				return "", err
			}
			if ok {
				tacticIDs = append(tacticIDs, id)
				byDomain[d] = append(byDomain[d], id)
				found = true
			}
		}
		if !found {
			a.warn(rec, fmt.Sprintf("technique %s names tactic %q, which no imported tactic of %v has; the link is left out", r.ExternalID, short, domains))
		}
	}
	if err := a.tx.SetTechniqueTactics(ctx, t.ID, tacticIDs); err != nil {
		return "", err
	}
	if err := recordRelease(ctx, a, rec, r, t.ID, byDomain); err != nil {
		return "", err
	}
	return t.ID, nil
}

// recordRelease records that the record's ATT&CK release held the technique, in each
// domain the record names (the domains the matrix of a domain lists techniques by),
// with the release's tactics of it, and those tactics as the release had them: after an
// upgrade the technique and tactic rows say only the newest release, and the matrix of
// an older one is read from these rows.
func recordRelease(ctx context.Context, a *applyCtx, rec sdk.Record, r *sdk.Technique, id string, tactics map[string][]string) error {
	if r.ReleaseVersion == "" {
		// The plugin warns once that the source names no release.
		return nil
	}
	if len(r.Domains) == 0 {
		a.warn(rec, fmt.Sprintf("technique %s names no ATT&CK domain, so it is in no domain's matrix of release %s", r.ExternalID, r.ReleaseVersion))
		return nil
	}
	for _, d := range r.Domains {
		ids := core.Strings(tactics[d])
		sort.Strings(ids)
		if err := a.tx.PutReleaseTechnique(ctx, &core.ReleaseTechnique{Domain: d, Release: r.ReleaseVersion, TechniqueID: id,
			TacticIDs: ids, Revoked: r.Revoked, Deprecated: r.Deprecated}); err != nil {
			return err
		}
		for _, ta := range ids {
			if err := a.recordReleaseTactic(ctx, d, r.ReleaseVersion, ta); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordReleaseTactic records a tactic of a release once per run, as the run's tactic
// record has it, or as the catalog does when the record was unchanged (the catalog is
// then the release's).
func (a *applyCtx) recordReleaseTactic(ctx context.Context, domain, release, id string) error {
	key := domain + "/" + release + "/" + id
	if a.releaseTactics[key] {
		return nil
	}
	ta := a.tacticRows[id]
	if ta == nil {
		list, err := a.tx.ListTactics(ctx, "")
		if err != nil {
			return err
		}
		if a.tacticRows == nil {
			a.tacticRows = map[string]*core.Tactic{}
		}
		for _, t := range list {
			if a.tacticRows[t.ID] == nil {
				a.tacticRows[t.ID] = t
			}
		}
		if ta = a.tacticRows[id]; ta == nil {
			return fmt.Errorf("tactic %s of ATT&CK %s %s is not stored", id, domain, release)
		}
	}
	if err := a.tx.PutReleaseTactic(ctx, &core.ReleaseTactic{Domain: domain, Release: release, TacticID: id,
		ExternalID: ta.ExternalID, Name: ta.Name, Shortname: ta.Shortname, MatrixOrder: ta.MatrixOrder}); err != nil {
		return err
	}
	if a.releaseTactics == nil {
		a.releaseTactics = map[string]bool{}
	}
	a.releaseTactics[key] = true
	return nil
}

func applyTestTemplate(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.TestTemplate)
	t := &core.TestTemplate{Source: a.source, ExternalID: r.ExternalID, TemplateType: r.TemplateType, Name: r.Name,
		Description: r.Description, Tactic: r.Tactic, Platforms: strs(r.Platforms), ExecutorName: r.Executor.Name,
		Command: r.Executor.Command, CleanupCommand: r.Executor.Cleanup, ElevationRequired: r.Executor.ElevationRequired,
		Executors: mustJSON(r.Executors, "[]"), InputArguments: mustJSON(r.InputArguments, "[]"),
		Dependencies: mustJSON(r.Dependencies, "[]"), ManualSteps: r.ManualSteps, Payloads: strs(r.Payloads),
		References: mustJSON(r.References, "[]"), Metadata: mustJSON(r.Metadata, "{}"), Active: true,
		Deprecated: r.Deprecated, SourceRef: a.sourceRef, ContentHash: a.hash, TechniqueIDs: r.TechniqueIDs,
		Author: r.Author, DependencyExecutor: r.DependencyExecutor}
	if len(r.Executors) == 0 {
		t.Executors = core.JSON("[]")
	}
	if !r.Modified.IsZero() {
		t.TemplateModified = r.Modified.Format("2006-01-02")
	}
	if err := a.tx.UpsertTestTemplate(ctx, t); err != nil {
		return "", err
	}
	return t.ID, nil
}

func applyDetectionRule(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.DetectionRule)
	// Severity is the source's word; the level is the scale Aegis filters on. A record
	// with a severity but no level gets the level the word names, when it names one.
	level := r.Level
	if level == "" {
		level, _ = sdk.NormalizeLevel(r.Severity)
	}
	t := &core.DetectionRule{Source: a.source, ExternalID: r.ExternalID, Format: r.Format, RuleType: r.RuleType,
		Kind: r.RuleKind, Title: r.Title, Description: r.Description, Status: r.Status, Level: level, Severity: r.Severity, RiskScore: r.RiskScore,
		Author: r.Author, Language: r.Language, Query: r.Query, Raw: r.Raw, Detection: mustJSON(r.Detection, "{}"),
		LogSource: mustJSON(r.LogSource, "{}"), IndexPatterns: strs(r.IndexPatterns), Tags: strs(r.Tags),
		Tactics: strs(r.Tactics), References: mustJSON(r.References, "[]"), FalsePositives: strs(r.FalsePositives),
		Related: mustJSON(r.Related, "[]"), Metadata: mustJSON(r.Metadata, "{}"), Active: true, Deprecated: r.Deprecated,
		SourceRef: a.sourceRef, ContentHash: a.hash, TechniqueIDs: r.TechniqueIDs}
	if !r.Date.IsZero() {
		t.RuleDate = r.Date.Format("2006-01-02")
	}
	if !r.Modified.IsZero() {
		t.RuleModified = r.Modified.Format("2006-01-02")
	}
	if err := a.tx.UpsertDetectionRule(ctx, t); err != nil {
		return "", err
	}
	return t.ID, nil
}
