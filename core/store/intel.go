package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

var (
	mitigationFields = []string{"id", "external_id", "stix_id", "name", "description", "deprecated", "source", "source_ref",
		"content_hash", "created_at", "updated_at"}
	actorFields = []string{"id", "source", "external_id", "stix_id", "name", "aliases", "description", "country",
		"motivations", "targets", "refs", "revoked", "deprecated", "source_ref", "content_hash", "created_at", "updated_at"}
	profileFields = []string{"id", "source", "external_id", "kind", "name", "description", "actor_ids", "technique_ids",
		"template_ids", "first_seen", "last_seen", "refs", "deprecated", "source_ref", "content_hash", "created_at", "updated_at"}
	defensiveFields = []string{"id", "external_id", "name", "tactic", "definition", "parent_external_id", "uri", "deprecated",
		"source", "source_ref", "content_hash", "created_at", "updated_at"}
	frameworkFields = []string{"id", "source", "external_id", "name", "version", "description", "content_hash", "created_at", "updated_at"}
	controlFields   = []string{"id", "framework_id", "external_id", "family", "title", "description", "parent_external_id",
		"deprecated", "source", "source_ref", "content_hash", "created_at", "updated_at"}
	intelFields = []string{"id", "source", "external_id", "title", "link", "feed_url", "summary", "published_at",
		"technique_ids", "group_ids", "content_hash", "created_at", "updated_at"}

	mitigationUpsert = upsertOn("mitigations", []string{"external_id"}, mitigationFields)
	actorUpsert      = upsertSQL("threat_actors", actorFields)
	profileUpsert    = upsertSQL("campaign_profiles", profileFields)
	defensiveUpsert  = upsertOn("defensive_techniques", []string{"external_id"}, defensiveFields)
	frameworkUpsert  = upsertOn("compliance_frameworks", []string{"external_id"}, frameworkFields)
	controlUpsert    = upsertOn("compliance_controls", []string{"framework_id", "external_id"}, controlFields)
	intelUpsert      = upsertSQL("intel_items", intelFields)
)

// stamp sets an entity's id (when new) and times before an upsert; on an update the
// stored creation time is kept by the upsert itself.
func stamp(id *string, created, updated *time.Time) {
	if *id == "" {
		*id = core.NewID()
	}
	now := core.Now()
	*created, *updated = now, now
}

func (t *Tx) upsert(ctx context.Context, what, key, q string, arg any, id *string) error {
	if err := t.namedGet(ctx, id, q, arg); err != nil {
		return fmt.Errorf("store: upsert %s %s: %w", what, key, err)
	}
	return nil
}

// upsertOwner is upsert for a row with links (replaceLinks): in a held transaction the
// upsert is held (held.go), its id taken from the rows it may conflict with, which
// knownQ selects (k, id; k the natural key, knownArgs its parameters, cached per
// transaction under table and knownArgs). created says the row is new (never when the
// upsert ran at once: its links are then cleared anyway).
func (t *Tx) upsertOwner(ctx context.Context, what, table, key, q string, arg any, id *string, knownQ string, knownArgs ...any) (bool, error) {
	if !t.holding {
		return false, t.upsert(ctx, what, key, q, arg, id)
	}
	cache := table
	for _, a := range knownArgs {
		cache += "\x00" + fmt.Sprint(a)
	}
	known, err := t.knownBy(ctx, cache, knownQ, knownArgs...)
	if err != nil {
		return false, err
	}
	created, err := t.holdNamedUpsert(ctx, table, q, arg, id, known, key)
	if err != nil {
		return false, fmt.Errorf("store: upsert %s %s: %w", what, key, err)
	}
	return created, nil
}

// replaceLinks deletes an owner's rows in a link table and inserts one per link,
// resolving ATT&CK ids (and creating "unknown to this release" placeholders). A link
// that repeats an earlier one of the owner in the table's unique key (the technique and
// the values at the positions uniq) is left out, as ON CONFLICT DO NOTHING leaves it.
// In a held transaction the delete (unless created) and the inserts are held.
func (t *Tx) replaceLinks(ctx context.Context, table, ownerCol, ownerID string, created bool, links []core.TechniqueLink,
	cols []string, uniq []int, values func(techniqueID string, l core.TechniqueLink) []any) error {
	if t.holding {
		rows := make([][]any, 0, len(links))
		seen := map[string]bool{}
		for _, l := range links {
			tid, err := t.EnsureTechnique(ctx, l.TechniqueID)
			if err != nil {
				return err
			}
			vals := values(tid, l)
			k := tid
			for _, i := range uniq {
				k += "\x00" + fmt.Sprint(vals[i])
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			rows = append(rows, append([]any{ownerID, tid}, vals...))
		}
		t.holdLinks(table, ownerCol, ownerID, created, append([]string{ownerCol, "technique_id"}, cols...), rows)
		return nil
	}
	if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE `+ownerCol+` = ?`, ownerID); err != nil {
		return fmt.Errorf("store: clear %s of %s: %w", table, ownerID, err)
	}
	q := `INSERT INTO ` + table + ` (` + ownerCol + `, technique_id, ` + strings.Join(cols, ", ") + `) VALUES (?, ?` +
		strings.Repeat(", ?", len(cols)) + `) ON CONFLICT DO NOTHING`
	for _, l := range links {
		tid, err := t.EnsureTechnique(ctx, l.TechniqueID)
		if err != nil {
			return err
		}
		args := append([]any{ownerID, tid}, values(tid, l)...)
		if _, err := t.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("store: link %s %s to %s: %w", table, ownerID, l.TechniqueID, err)
		}
	}
	return nil
}

// UpsertMitigation stores a mitigation and the techniques it mitigates.
func (t *Tx) UpsertMitigation(ctx context.Context, m *core.Mitigation) error {
	if m.ExternalID == "" || m.Name == "" {
		return core.FieldError("mitigation", "external_id and name are required")
	}
	stamp(&m.ID, &m.CreatedAt, &m.UpdatedAt)
	created, err := t.upsertOwner(ctx, "mitigation", "mitigations", m.ExternalID, mitigationUpsert, m, &m.ID,
		`SELECT external_id AS k, id FROM mitigations`)
	if err != nil {
		return err
	}
	return t.replaceLinks(ctx, "technique_mitigations", "mitigation_id", m.ID, created, m.Techniques, []string{"description"}, nil,
		func(_ string, l core.TechniqueLink) []any { return []any{l.Note} })
}

// UpsertThreatActor stores an actor and the techniques it uses.
func (t *Tx) UpsertThreatActor(ctx context.Context, a *core.ThreatActor) error {
	if a.Source == "" || a.ExternalID == "" || a.Name == "" {
		return core.FieldError("threat_actor", "source, external_id and name are required")
	}
	emptyJSON(&a.References, "[]")
	stamp(&a.ID, &a.CreatedAt, &a.UpdatedAt)
	created, err := t.upsertOwner(ctx, "threat actor", "threat_actors", a.ExternalID, actorUpsert, a, &a.ID,
		`SELECT external_id AS k, id FROM threat_actors WHERE source = ?`, a.Source)
	if err != nil {
		return err
	}
	return t.replaceLinks(ctx, "threat_actor_techniques", "threat_actor_id", a.ID, created, a.Techniques, []string{"procedure"}, nil,
		func(_ string, l core.TechniqueLink) []any { return []any{l.Note} })
}

// UpsertCampaignProfile stores an imported campaign or adversary profile.
func (t *Tx) UpsertCampaignProfile(ctx context.Context, c *core.CampaignProfile) error {
	if c.Source == "" || c.ExternalID == "" || c.Name == "" {
		return core.FieldError("campaign", "source, external_id and name are required")
	}
	emptyJSON(&c.References, "[]")
	stamp(&c.ID, &c.CreatedAt, &c.UpdatedAt)
	return t.upsert(ctx, "campaign profile", c.ExternalID, profileUpsert, c, &c.ID)
}

// UpsertDefensiveTechnique stores a D3FEND technique and its ATT&CK mappings.
func (t *Tx) UpsertDefensiveTechnique(ctx context.Context, d *core.DefensiveTechnique) error {
	if d.ExternalID == "" || d.Name == "" {
		return core.FieldError("defensive_technique", "external_id and name are required")
	}
	stamp(&d.ID, &d.CreatedAt, &d.UpdatedAt)
	created, err := t.upsertOwner(ctx, "defensive technique", "defensive_techniques", d.ExternalID, defensiveUpsert, d, &d.ID,
		`SELECT external_id AS k, id FROM defensive_techniques`)
	if err != nil {
		return err
	}
	now := core.Now()
	return t.replaceLinks(ctx, "defensive_technique_mappings", "defensive_technique_id", d.ID, created, d.Mappings,
		[]string{"id", "relation", "via", "source", "created_at"}, []int{1, 2},
		func(_ string, l core.TechniqueLink) []any {
			return []any{core.NewID(), l.Relation, l.Via, d.Source, now}
		})
}

// UpsertComplianceFramework stores a framework.
func (t *Tx) UpsertComplianceFramework(ctx context.Context, f *core.ComplianceFramework) error {
	if f.ExternalID == "" || f.Name == "" {
		return core.FieldError("compliance_framework", "external_id and name are required")
	}
	stamp(&f.ID, &f.CreatedAt, &f.UpdatedAt)
	if err := t.upsert(ctx, "compliance framework", f.ExternalID, frameworkUpsert, f, &f.ID); err != nil {
		return err
	}
	delete(t.frameworks, f.ExternalID) // read again: the upsert kept the stored creation time
	return nil
}

// ComplianceFrameworkByExternalID finds a framework by its id ("nist-800-53-rev5").
// A held transaction (an import, which asks for its framework once per control)
// keeps what it read: any other read would write the held rows first (held.go).
func (t *Tx) ComplianceFrameworkByExternalID(ctx context.Context, externalID string) (*core.ComplianceFramework, error) {
	if f, ok := t.frameworks[externalID]; ok {
		cp := *f
		return &cp, nil
	}
	var f core.ComplianceFramework
	if err := t.get(ctx, &f, `SELECT `+strings.Join(frameworkFields, ", ")+` FROM compliance_frameworks WHERE external_id = ?`, externalID); err != nil {
		return nil, notFound(err, "compliance framework", externalID)
	}
	if t.holding {
		if t.frameworks == nil {
			t.frameworks = map[string]*core.ComplianceFramework{}
		}
		cp := f
		t.frameworks[externalID] = &cp
	}
	return &f, nil
}

// UpsertComplianceControl stores a control and its technique mappings.
func (t *Tx) UpsertComplianceControl(ctx context.Context, c *core.ComplianceControl) error {
	if c.FrameworkID == "" || c.ExternalID == "" {
		return core.FieldError("compliance_control", "framework_id and external_id are required")
	}
	stamp(&c.ID, &c.CreatedAt, &c.UpdatedAt)
	created, err := t.upsertOwner(ctx, "compliance control", "compliance_controls", c.ExternalID, controlUpsert, c, &c.ID,
		`SELECT external_id AS k, id FROM compliance_controls WHERE framework_id = ?`, c.FrameworkID)
	if err != nil {
		return err
	}
	now := core.Now()
	return t.replaceLinks(ctx, "compliance_control_mappings", "control_id", c.ID, created, c.Mappings,
		[]string{"id", "mapping_type", "comments", "source", "created_at"}, []int{1},
		func(_ string, l core.TechniqueLink) []any {
			mt := l.Relation
			if mt == "" {
				mt = "mitigates"
			}
			return []any{core.NewID(), mt, l.Note, c.Source, now}
		})
}

// UpsertIntelItem stores an intel item.
func (t *Tx) UpsertIntelItem(ctx context.Context, i *core.IntelItem) error {
	if i.Source == "" || i.ExternalID == "" || i.Title == "" {
		return core.FieldError("intel_item", "source, external_id and title are required")
	}
	stamp(&i.ID, &i.CreatedAt, &i.UpdatedAt)
	return t.upsert(ctx, "intel item", i.ExternalID, intelUpsert, i, &i.ID)
}

// TemplateTechniques returns, for the templates of a source with the given external
// ids, the ATT&CK ids each exercises; ids that name no stored template are absent.
func (t *Tx) TemplateTechniques(ctx context.Context, source string, externalIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for start := 0; start < len(externalIDs); start += 500 {
		end := min(start+500, len(externalIDs))
		args := []any{source}
		for _, id := range externalIDs[start:end] {
			args = append(args, id)
		}
		var rows []struct {
			Template  string  `db:"template"`
			Technique *string `db:"technique"`
		}
		q := `SELECT t.external_id AS template, te.external_id AS technique FROM test_templates t
			LEFT JOIN test_template_techniques l ON l.test_template_id = t.id LEFT JOIN techniques te ON te.id = l.technique_id
			WHERE t.source = ? AND t.external_id IN (?` + strings.Repeat(",?", end-start-1) + `) ORDER BY t.external_id, te.external_id`
		if err := t.sel(ctx, &rows, q, args...); err != nil {
			return nil, fmt.Errorf("store: techniques of %s templates: %w", source, err)
		}
		for _, r := range rows {
			if _, ok := out[r.Template]; !ok {
				out[r.Template] = []string{}
			}
			if r.Technique != nil {
				out[r.Template] = append(out[r.Template], *r.Technique)
			}
		}
	}
	return out, nil
}

// AdversaryProfiles returns the adversary profiles of a source.
func (t *Tx) AdversaryProfiles(ctx context.Context, source string) ([]*core.CampaignProfile, error) {
	out := []*core.CampaignProfile{}
	if err := t.sel(ctx, &out, `SELECT `+strings.Join(profileFields, ", ")+` FROM campaign_profiles WHERE source = ? AND kind = 'adversary_profile'
		ORDER BY external_id`, source); err != nil {
		return nil, fmt.Errorf("store: adversary profiles of %s: %w", source, err)
	}
	return out, nil
}

// SetProfileTechniques replaces the technique ids of a campaign profile.
func (t *Tx) SetProfileTechniques(ctx context.Context, id string, techniqueIDs []string) error {
	if techniqueIDs == nil {
		techniqueIDs = []string{}
	}
	if _, err := t.exec(ctx, `UPDATE campaign_profiles SET technique_ids = ?, updated_at = ? WHERE id = ?`,
		core.Strings(techniqueIDs), core.Now(), id); err != nil {
		return fmt.Errorf("store: techniques of profile %s: %w", id, err)
	}
	return nil
}
