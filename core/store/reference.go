package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// jsonHas is the condition "the JSON array column holds the string v", in both
// dialects: PostgreSQL prints JSONB arrays with a space after each comma, SQLite keeps
// the text as written, and in both the element is quoted.
func (t *Tx) jsonHas(col, v string) (string, []any) {
	return "CAST(" + col + " AS TEXT) " + t.like() + " ? ESCAPE '\\'", []any{`%"` + escapeLike(v) + `"%`}
}

func validTechnique(field, id string) error {
	if !core.ValidTechniqueID(id) {
		return core.FieldError(field, "%q is not an ATT&CK technique id", id)
	}
	return nil
}

func (t *Tx) page(ctx context.Context, what, table, cols string, w where, order string, p core.Page, dst any) (int, error) {
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM `+w.from(table)+w.sql(), w.params()...); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", what, err)
	}
	p = p.Normalize()
	if err := t.sel(ctx, dst, `SELECT `+cols+` FROM `+w.from(table)+w.sql()+` ORDER BY `+w.orderBy(order)+` LIMIT ? OFFSET ?`,
		w.listParams(p.Limit, p.Offset)...); err != nil {
		return 0, fmt.Errorf("store: list %s: %w", what, err)
	}
	return total, nil
}

// linksOf returns the technique links (ATT&CK id and note) of one owner.
func (t *Tx) linksOf(ctx context.Context, table, ownerCol, noteCol, ownerID string) ([]core.TechniqueLink, error) {
	var rows []struct {
		ExternalID string `db:"external_id"`
		Note       string `db:"note"`
	}
	if err := t.sel(ctx, &rows, `SELECT te.external_id, l.`+noteCol+` AS note FROM `+table+` l JOIN techniques te ON te.id = l.technique_id
		WHERE l.`+ownerCol+` = ? ORDER BY te.external_id`, ownerID); err != nil {
		return nil, fmt.Errorf("store: techniques of %s %s: %w", table, ownerID, err)
	}
	out := make([]core.TechniqueLink, len(rows))
	for i, r := range rows {
		out[i] = core.TechniqueLink{TechniqueID: r.ExternalID, Note: r.Note}
	}
	return out, nil
}

func linksFromIDs(ids []string) []core.TechniqueLink {
	out := make([]core.TechniqueLink, len(ids))
	for i, id := range ids {
		out[i] = core.TechniqueLink{TechniqueID: id}
	}
	return out
}

// ListThreatActors returns one page of actors by name.
func (t *Tx) ListThreatActors(ctx context.Context, f core.ActorFilter) ([]*core.ThreatActor, int, error) {
	w := where{}
	if f.Search != "" {
		w.fullText(t.dialect, actorIndex, f.Search)
	}
	if f.TechniqueID != "" {
		if err := validTechnique("technique", f.TechniqueID); err != nil {
			return nil, 0, err
		}
		cond, args := techniqueMatch("threat_actor_techniques", "threat_actor_id", f.TechniqueID)
		w.add(cond, args...)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.Country != "" {
		w.add("country = ?", f.Country)
	}
	if !f.IncludeDeprecated {
		w.add("revoked = FALSE AND deprecated = FALSE")
	}
	out := []*core.ThreatActor{}
	total, err := t.page(ctx, "threat actors", "threat_actors", strings.Join(actorFields, ", "), w, "name, id", f.Page, &out)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(out))
	for i, a := range out {
		ids[i] = a.ID
	}
	links, err := t.techniquesOfMany(ctx, "threat_actor_techniques", "threat_actor_id", ids)
	if err != nil {
		return nil, 0, err
	}
	for _, a := range out {
		a.Techniques = linksFromIDs(links[a.ID])
	}
	return out, total, nil
}

func (t *Tx) oneActor(ctx context.Context, col, key string) (*core.ThreatActor, error) {
	var a core.ThreatActor
	if err := t.get(ctx, &a, `SELECT `+strings.Join(actorFields, ", ")+` FROM threat_actors WHERE `+col+` = ? ORDER BY revoked, deprecated, source LIMIT 1`, key); err != nil {
		return nil, notFound(err, "threat actor", key)
	}
	var err error
	a.Techniques, err = t.linksOf(ctx, "threat_actor_techniques", "threat_actor_id", "procedure", a.ID)
	return &a, err
}

// ThreatActorByID finds an actor with its techniques and procedure texts.
func (t *Tx) ThreatActorByID(ctx context.Context, id string) (*core.ThreatActor, error) {
	return t.oneActor(ctx, "id", id)
}

// ThreatActorByExternalID finds an actor by its group id (G0016).
func (t *Tx) ThreatActorByExternalID(ctx context.Context, externalID string) (*core.ThreatActor, error) {
	return t.oneActor(ctx, "external_id", externalID)
}

// CampaignsOfActor lists the imported ATT&CK campaigns attributed to an actor.
func (t *Tx) CampaignsOfActor(ctx context.Context, externalID string) ([]*core.ActorCampaign, error) {
	cond, args := t.jsonHas("actor_ids", externalID)
	out := []*core.ActorCampaign{}
	if err := t.sel(ctx, &out, `SELECT id, external_id, name, first_seen, last_seen FROM campaign_profiles
		WHERE kind = 'attack_campaign' AND deprecated = FALSE AND `+cond+` ORDER BY first_seen, external_id`, args...); err != nil {
		return nil, fmt.Errorf("store: campaigns of %s: %w", externalID, err)
	}
	return out, nil
}

// ListCampaignProfiles returns one page of imported campaigns and adversary profiles.
func (t *Tx) ListCampaignProfiles(ctx context.Context, f core.ProfileFilter) ([]*core.CampaignProfile, int, error) {
	w := where{}
	if f.Search != "" {
		w.search(t.like(), f.Search, "name", "external_id", "description")
	}
	if f.Kind != "" {
		if f.Kind != "attack_campaign" && f.Kind != "adversary_profile" {
			return nil, 0, core.FieldError("kind", "%q is not a profile kind (attack_campaign, adversary_profile)", f.Kind)
		}
		w.add("kind = ?", f.Kind)
	}
	if f.ActorID != "" {
		cond, args := t.jsonHas("actor_ids", f.ActorID)
		w.add(cond, args...)
	}
	if f.TechniqueID != "" {
		if err := validTechnique("technique", f.TechniqueID); err != nil {
			return nil, 0, err
		}
		cond, args := t.jsonHas("technique_ids", f.TechniqueID)
		w.add(cond, args...)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	out := []*core.CampaignProfile{}
	total, err := t.page(ctx, "campaign profiles", "campaign_profiles", strings.Join(profileFields, ", "), w, "name, id", f.Page, &out)
	return out, total, err
}

// CampaignProfileByID finds one imported campaign or adversary profile.
func (t *Tx) CampaignProfileByID(ctx context.Context, id string) (*core.CampaignProfile, error) {
	var c core.CampaignProfile
	if err := t.get(ctx, &c, `SELECT `+strings.Join(profileFields, ", ")+` FROM campaign_profiles WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "campaign profile", id)
	}
	return &c, nil
}

// ListMitigations returns one page of mitigations by ATT&CK id, with their techniques.
func (t *Tx) ListMitigations(ctx context.Context, f core.MitigationFilter) ([]*core.Mitigation, int, error) {
	w := where{}
	if f.Search != "" {
		w.search(t.like(), f.Search, "name", "external_id", "description")
	}
	if f.TechniqueID != "" {
		if err := validTechnique("technique", f.TechniqueID); err != nil {
			return nil, 0, err
		}
		cond, args := techniqueMatch("technique_mitigations", "mitigation_id", f.TechniqueID)
		w.add(cond, args...)
	}
	out := []*core.Mitigation{}
	total, err := t.page(ctx, "mitigations", "mitigations", strings.Join(mitigationFields, ", "), w, "external_id", f.Page, &out)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(out))
	for i, m := range out {
		ids[i] = m.ID
	}
	links, err := t.techniquesOfMany(ctx, "technique_mitigations", "mitigation_id", ids)
	if err != nil {
		return nil, 0, err
	}
	for _, m := range out {
		m.Techniques = linksFromIDs(links[m.ID])
	}
	return out, total, nil
}

// MitigationByID finds a mitigation with the techniques it mitigates and how.
func (t *Tx) MitigationByID(ctx context.Context, id string) (*core.Mitigation, error) {
	var m core.Mitigation
	if err := t.get(ctx, &m, `SELECT `+strings.Join(mitigationFields, ", ")+` FROM mitigations WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "mitigation", id)
	}
	var err error
	m.Techniques, err = t.linksOf(ctx, "technique_mitigations", "mitigation_id", "description", m.ID)
	return &m, err
}

// ListComplianceFrameworks lists every framework by name.
func (t *Tx) ListComplianceFrameworks(ctx context.Context) ([]*core.ComplianceFramework, error) {
	out := []*core.ComplianceFramework{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(frameworkFields, ", ")+` FROM compliance_frameworks ORDER BY name, id`); err != nil {
		return nil, fmt.Errorf("store: list compliance frameworks: %w", err)
	}
	return out, nil
}

// ComplianceFrameworkByID finds one framework.
func (t *Tx) ComplianceFrameworkByID(ctx context.Context, id string) (*core.ComplianceFramework, error) {
	var f core.ComplianceFramework
	if err := t.get(ctx, &f, `SELECT `+strings.Join(frameworkFields, ", ")+` FROM compliance_frameworks WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "compliance framework", id)
	}
	return &f, nil
}

func (t *Tx) controlMappings(ctx context.Context, ids []string) (map[string][]core.TechniqueLink, error) {
	out := map[string][]core.TechniqueLink{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	var rows []struct {
		Control    string `db:"control_id"`
		ExternalID string `db:"external_id"`
		Type       string `db:"mapping_type"`
		Comments   string `db:"comments"`
	}
	if err := t.sel(ctx, &rows, `SELECT m.control_id, te.external_id, m.mapping_type, m.comments
		FROM compliance_control_mappings m JOIN techniques te ON te.id = m.technique_id
		WHERE m.control_id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY te.external_id, m.mapping_type`, args...); err != nil {
		return nil, fmt.Errorf("store: control mappings: %w", err)
	}
	for _, r := range rows {
		out[r.Control] = append(out[r.Control], core.TechniqueLink{TechniqueID: r.ExternalID, Relation: r.Type, Note: r.Comments})
	}
	return out, nil
}

// ListComplianceControls returns one page of controls by id, with their mappings.
func (t *Tx) ListComplianceControls(ctx context.Context, f core.ControlFilter) ([]*core.ComplianceControl, int, error) {
	w := where{}
	if f.FrameworkID != "" {
		w.add("framework_id = ?", f.FrameworkID)
	}
	if f.Family != "" {
		w.add("family = ?", f.Family)
	}
	if f.Search != "" {
		w.search(t.like(), f.Search, "external_id", "title", "description", "family")
	}
	if f.TechniqueID != "" {
		if err := validTechnique("technique", f.TechniqueID); err != nil {
			return nil, 0, err
		}
		cond, args := techniqueMatch("compliance_control_mappings", "control_id", f.TechniqueID)
		w.add(cond, args...)
	}
	out := []*core.ComplianceControl{}
	total, err := t.page(ctx, "compliance controls", "compliance_controls", strings.Join(controlFields, ", "), w,
		"framework_id, family, external_id", f.Page, &out)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(out))
	for i, c := range out {
		ids[i] = c.ID
	}
	maps, err := t.controlMappings(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, c := range out {
		c.Mappings = maps[c.ID]
		if c.Mappings == nil {
			c.Mappings = []core.TechniqueLink{}
		}
	}
	return out, total, nil
}

// ComplianceControlByID finds one control with its mappings.
func (t *Tx) ComplianceControlByID(ctx context.Context, id string) (*core.ComplianceControl, error) {
	var c core.ComplianceControl
	if err := t.get(ctx, &c, `SELECT `+strings.Join(controlFields, ", ")+` FROM compliance_controls WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "compliance control", id)
	}
	maps, err := t.controlMappings(ctx, []string{c.ID})
	c.Mappings = maps[c.ID]
	if c.Mappings == nil {
		c.Mappings = []core.TechniqueLink{}
	}
	return &c, err
}

func (t *Tx) intelWhere(f core.IntelFilter) (where, error) {
	w := where{}
	if f.Search != "" {
		w.search(t.like(), f.Search, "title", "summary", "link")
	}
	if f.TechniqueID != "" {
		if err := validTechnique("technique", f.TechniqueID); err != nil {
			return w, err
		}
		cond, args := t.jsonHas("technique_ids", f.TechniqueID)
		w.add(cond, args...)
	}
	if f.ActorID != "" {
		cond, args := t.jsonHas("group_ids", f.ActorID)
		w.add(cond, args...)
	}
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.Since != nil {
		w.add("published_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		w.add("published_at < ?", f.Until.UTC())
	}
	return w, nil
}

// ListIntelItems returns one page of intel items, newest first.
func (t *Tx) ListIntelItems(ctx context.Context, f core.IntelFilter) ([]*core.IntelItem, int, error) {
	w, err := t.intelWhere(f)
	if err != nil {
		return nil, 0, err
	}
	out := []*core.IntelItem{}
	total, err := t.page(ctx, "intel items", "intel_items", strings.Join(intelFields, ", "), w,
		"published_at DESC, id DESC", f.Page, &out)
	return out, total, err
}

// IntelItemByID finds one intel item.
func (t *Tx) IntelItemByID(ctx context.Context, id string) (*core.IntelItem, error) {
	var i core.IntelItem
	if err := t.get(ctx, &i, `SELECT `+strings.Join(intelFields, ", ")+` FROM intel_items WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "intel item", id)
	}
	return &i, nil
}

// SummarizeIntel counts the items that match f. Feeds hold thousands of items, not
// millions, so the mentioned ids are counted here rather than unnested per dialect.
func (t *Tx) SummarizeIntel(ctx context.Context, f core.IntelFilter) (*core.IntelSummary, error) {
	w, err := t.intelWhere(f)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Source     string       `db:"source"`
		Published  *time.Time   `db:"published_at"`
		Techniques core.Strings `db:"technique_ids"`
		Groups     core.Strings `db:"group_ids"`
	}
	if err := t.sel(ctx, &rows, `SELECT source, published_at, technique_ids, group_ids FROM intel_items`+w.sql(), w.args...); err != nil {
		return nil, fmt.Errorf("store: summarize intel: %w", err)
	}
	s := &core.IntelSummary{Total: len(rows), Filter: core.IntelFilterIn{TechniqueID: f.TechniqueID, ActorID: f.ActorID,
		Source: f.Source, Since: f.Since, Until: f.Until}}
	src, tech, grp, month := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, r := range rows {
		src[r.Source]++
		for _, x := range r.Techniques {
			tech[x]++
		}
		for _, x := range r.Groups {
			grp[x]++
		}
		if r.Published != nil {
			month[r.Published.UTC().Format("2006-01")]++
			if s.Latest == nil || r.Published.After(*s.Latest) {
				p := r.Published.UTC()
				s.Latest = &p
			}
		}
	}
	s.BySource = countsByName(src, 0)
	s.Techniques = countsByCount(tech, 20)
	s.Groups = countsByCount(grp, 20)
	s.ByMonth = countsByName(month, 0)
	return s, nil
}

func countsByName(m map[string]int, limit int) []core.NamedCount {
	out := make([]core.NamedCount, 0, len(m))
	for k, v := range m {
		out = append(out, core.NamedCount{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func countsByCount(m map[string]int, limit int) []core.NamedCount {
	out := countsByName(m, 0)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (t *Tx) defenseMappings(ctx context.Context, ids []string) (map[string][]core.TechniqueLink, error) {
	out := map[string][]core.TechniqueLink{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	var rows []struct {
		Owner      string `db:"defensive_technique_id"`
		ExternalID string `db:"external_id"`
		Relation   string `db:"relation"`
		Via        string `db:"via"`
	}
	if err := t.sel(ctx, &rows, `SELECT m.defensive_technique_id, te.external_id, m.relation, m.via
		FROM defensive_technique_mappings m JOIN techniques te ON te.id = m.technique_id
		WHERE m.defensive_technique_id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY te.external_id, m.relation, m.via`, args...); err != nil {
		return nil, fmt.Errorf("store: defence mappings: %w", err)
	}
	for _, r := range rows {
		out[r.Owner] = append(out[r.Owner], core.TechniqueLink{TechniqueID: r.ExternalID, Relation: r.Relation, Via: r.Via})
	}
	return out, nil
}

// ListDefensiveTechniques returns one page of D3FEND techniques by id, with mappings.
func (t *Tx) ListDefensiveTechniques(ctx context.Context, f core.DefenseFilter) ([]*core.DefensiveTechnique, int, error) {
	w := where{}
	if f.Search != "" {
		w.search(t.like(), f.Search, "external_id", "name", "definition")
	}
	if f.Tactic != "" {
		w.add("tactic = ?", f.Tactic)
	}
	if f.TechniqueID != "" {
		if err := validTechnique("technique", f.TechniqueID); err != nil {
			return nil, 0, err
		}
		cond, args := techniqueMatch("defensive_technique_mappings", "defensive_technique_id", f.TechniqueID)
		w.add(cond, args...)
	}
	out := []*core.DefensiveTechnique{}
	total, err := t.page(ctx, "defensive techniques", "defensive_techniques", strings.Join(defensiveFields, ", "), w, "external_id", f.Page, &out)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(out))
	for i, d := range out {
		ids[i] = d.ID
	}
	maps, err := t.defenseMappings(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	for _, d := range out {
		d.Mappings = maps[d.ID]
		if d.Mappings == nil {
			d.Mappings = []core.TechniqueLink{}
		}
	}
	return out, total, nil
}

// DefensiveTechniqueByID finds one D3FEND technique with its ATT&CK mappings.
func (t *Tx) DefensiveTechniqueByID(ctx context.Context, id string) (*core.DefensiveTechnique, error) {
	var d core.DefensiveTechnique
	if err := t.get(ctx, &d, `SELECT `+strings.Join(defensiveFields, ", ")+` FROM defensive_techniques WHERE id = ?`, id); err != nil {
		return nil, notFound(err, "defensive technique", id)
	}
	maps, err := t.defenseMappings(ctx, []string{d.ID})
	d.Mappings = maps[d.ID]
	if d.Mappings == nil {
		d.Mappings = []core.TechniqueLink{}
	}
	return &d, err
}
