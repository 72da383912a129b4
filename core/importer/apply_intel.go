package importer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/sdk"
)

func init() {
	appliers[sdk.KindMitigation] = applyMitigation
	appliers[sdk.KindThreatActor] = applyThreatActor
	appliers[sdk.KindCampaign] = applyCampaign
	appliers[sdk.KindDefensiveTechnique] = applyDefensiveTechnique
	appliers[sdk.KindComplianceFramework] = applyComplianceFramework
	appliers[sdk.KindComplianceControl] = applyComplianceControl
	appliers[sdk.KindIntelItem] = applyIntelItem
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func applyMitigation(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.Mitigation)
	m := &core.Mitigation{ExternalID: r.ExternalID, STIXID: r.STIXID, Name: r.Name, Description: r.Description,
		Deprecated: r.Deprecated || r.Revoked, Source: a.source, SourceRef: a.sourceRef, ContentHash: a.hash}
	for _, l := range r.Techniques {
		m.Techniques = append(m.Techniques, core.TechniqueLink{TechniqueID: l.TechniqueID, Note: l.Description})
	}
	if err := a.tx.UpsertMitigation(ctx, m); err != nil {
		return "", err
	}
	return m.ID, nil
}

func applyThreatActor(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.ThreatActor)
	t := &core.ThreatActor{Source: a.source, ExternalID: r.ExternalID, STIXID: r.STIXID, Name: r.Name,
		Aliases: strs(r.Aliases), Description: r.Description, Country: r.Country, Motivations: strs(r.Motivations),
		Targets: strs(r.Targets), References: mustJSON(r.References, "[]"), Revoked: r.Revoked, Deprecated: r.Deprecated,
		SourceRef: a.sourceRef, ContentHash: a.hash}
	for _, l := range r.Techniques {
		t.Techniques = append(t.Techniques, core.TechniqueLink{TechniqueID: l.TechniqueID, Note: l.Procedure})
	}
	if err := a.tx.UpsertThreatActor(ctx, t); err != nil {
		return "", err
	}
	return t.ID, nil
}

func applyCampaign(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.Campaign)
	techniques := r.TechniqueIDs
	if r.CampaignKind == sdk.CampaignAdversaryProfile && len(r.TemplateIDs) > 0 {
		// A profile names abilities; their techniques come from the catalog, whichever
		// run brought them (this one applied its templates first).
		byTemplate, err := a.tx.TemplateTechniques(ctx, a.source, r.TemplateIDs)
		if err != nil {
			return "", err
		}
		var missing []string
		for _, id := range r.TemplateIDs {
			ts, ok := byTemplate[id]
			if !ok {
				if !slices.Contains(missing, id) {
					missing = append(missing, id)
				}
				continue
			}
			techniques = union(techniques, ts)
		}
		slices.Sort(techniques)
		if len(missing) > 0 {
			a.warn(rec, fmt.Sprintf("adversary profile %s names %d abilit(ies) that no import of %s has provided: %s; they stay in the profile's order and resolve once imported",
				r.ExternalID, len(missing), a.source, strings.Join(missing, ", ")))
		}
	}
	c := &core.CampaignProfile{Source: a.source, ExternalID: r.ExternalID, Kind: r.CampaignKind, Name: r.Name,
		Description: r.Description, ActorIDs: strs(r.ActorIDs), TechniqueIDs: strs(techniques),
		TemplateIDs: strs(r.TemplateIDs), FirstSeen: timePtr(r.FirstSeen), LastSeen: timePtr(r.LastSeen),
		References: mustJSON(r.References, "[]"), Deprecated: r.Deprecated || r.Revoked, SourceRef: a.sourceRef, ContentHash: a.hash}
	if err := a.tx.UpsertCampaignProfile(ctx, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

func applyDefensiveTechnique(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.DefensiveTechnique)
	d := &core.DefensiveTechnique{ExternalID: r.ExternalID, Name: r.Name, Tactic: r.Tactic, Definition: r.Definition,
		ParentExternalID: r.ParentID, URI: r.URI, Source: a.source, SourceRef: a.sourceRef, ContentHash: a.hash}
	for _, m := range r.Mappings {
		d.Mappings = append(d.Mappings, core.TechniqueLink{TechniqueID: m.TechniqueID, Relation: m.Relation, Via: m.Via})
	}
	if err := a.tx.UpsertDefensiveTechnique(ctx, d); err != nil {
		return "", err
	}
	return d.ID, nil
}

func applyComplianceFramework(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.ComplianceFramework)
	f := &core.ComplianceFramework{Source: a.source, ExternalID: r.ExternalID, Name: r.Name, Version: r.Version,
		Description: r.Description, ContentHash: a.hash}
	if err := a.tx.UpsertComplianceFramework(ctx, f); err != nil {
		return "", err
	}
	return f.ID, nil
}

func applyComplianceControl(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.ComplianceControl)
	f, err := a.tx.ComplianceFrameworkByExternalID(ctx, r.FrameworkID)
	if core.ErrorCode(err) == core.ENOTFOUND {
		return "", fmt.Errorf("control %s names framework %q, which neither this run nor an earlier one delivered", r.ExternalID, r.FrameworkID)
	}
	if err != nil {
		return "", err
	}
	c := &core.ComplianceControl{FrameworkID: f.ID, ExternalID: r.ExternalID, Family: r.Family, Title: r.Title,
		Description: r.Description, ParentExternalID: r.ParentID, Source: a.source, SourceRef: a.sourceRef, ContentHash: a.hash}
	for _, m := range r.Mappings {
		c.Mappings = append(c.Mappings, core.TechniqueLink{TechniqueID: m.TechniqueID, Relation: m.MappingType, Note: m.Comments})
	}
	if err := a.tx.UpsertComplianceControl(ctx, c); err != nil {
		return "", err
	}
	return c.ID, nil
}

func applyIntelItem(ctx context.Context, a *applyCtx, rec sdk.Record) (string, error) {
	r := rec.(*sdk.IntelItem)
	i := &core.IntelItem{Source: a.source, ExternalID: r.ExternalID, Title: r.Title, Link: r.Link, FeedURL: r.FeedURL,
		Summary: r.Summary, PublishedAt: timePtr(r.Published), TechniqueIDs: strs(r.TechniqueIDs), GroupIDs: strs(r.GroupIDs),
		ContentHash: a.hash}
	if err := a.tx.UpsertIntelItem(ctx, i); err != nil {
		return "", err
	}
	return i.ID, nil
}

// refreshProfiles gives the adversary profiles of a source the techniques of the
// abilities they name, once a run changed that source's templates: a profile imported
// before its abilities gets their techniques when they arrive.
func refreshProfiles(ctx context.Context, a *applyCtx) error {
	profiles, err := a.tx.AdversaryProfiles(ctx, a.source)
	if err != nil || len(profiles) == 0 {
		return err
	}
	for _, p := range profiles {
		byTemplate, err := a.tx.TemplateTechniques(ctx, a.source, p.TemplateIDs)
		if err != nil {
			return err
		}
		techniques := []string(p.TechniqueIDs)
		for _, id := range p.TemplateIDs {
			techniques = union(techniques, byTemplate[id])
		}
		slices.Sort(techniques)
		if !slices.Equal(techniques, []string(p.TechniqueIDs)) {
			if err := a.tx.SetProfileTechniques(ctx, p.ID, techniques); err != nil {
				return err
			}
		}
	}
	return nil
}
