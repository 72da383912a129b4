package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

const tacticColumns = `id, external_id, stix_id, name, shortname, domain, matrix_order, description,
	url, deprecated, source, source_ref, content_hash, created_at, updated_at`

// UpsertTactic inserts or updates a tactic keyed by (domain, external id); t.ID is set to
// the stored row's id.
func (t *Tx) UpsertTactic(ctx context.Context, ta *core.Tactic) error {
	if ta.ExternalID == "" || ta.Name == "" || ta.Shortname == "" {
		return core.FieldError("tactic", "external_id, name and shortname are required (got %q, %q, %q)", ta.ExternalID, ta.Name, ta.Shortname)
	}
	if ta.Domain == "" {
		ta.Domain = "enterprise-attack"
	}
	now := core.Now()
	if ta.ID == "" {
		ta.ID = core.NewID()
	}
	ta.CreatedAt, ta.UpdatedAt = now, now
	err := t.get(ctx, &ta.ID, `INSERT INTO tactics (`+tacticColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (domain, external_id) DO UPDATE SET stix_id=excluded.stix_id, name=excluded.name,
		shortname=excluded.shortname, matrix_order=excluded.matrix_order, description=excluded.description,
		url=excluded.url, deprecated=excluded.deprecated, source=excluded.source, source_ref=excluded.source_ref,
		content_hash=excluded.content_hash, updated_at=excluded.updated_at
		RETURNING id`,
		ta.ID, ta.ExternalID, ta.STIXID, ta.Name, ta.Shortname, ta.Domain, ta.MatrixOrder, ta.Description,
		ta.URL, ta.Deprecated, ta.Source, ta.SourceRef, ta.ContentHash, ta.CreatedAt, ta.UpdatedAt)
	if err != nil {
		return fmt.Errorf("store: upsert tactic %s: %w", ta.ExternalID, err)
	}
	return nil
}

// TacticByExternalID finds a tactic of a domain by its TA id.
func (t *Tx) TacticByExternalID(ctx context.Context, domain, externalID string) (*core.Tactic, error) {
	var ta core.Tactic
	err := t.get(ctx, &ta, `SELECT `+tacticColumns+` FROM tactics WHERE domain=? AND external_id=?`, domain, externalID)
	if err != nil {
		return nil, notFound(err, "tactic", externalID)
	}
	return &ta, nil
}

// ListTactics returns the tactics of a domain (every domain when empty) in matrix order.
func (t *Tx) ListTactics(ctx context.Context, domain string) ([]*core.Tactic, error) {
	w := where{}
	if domain != "" {
		w.add("domain = ?", domain)
	}
	out := []*core.Tactic{}
	if err := t.sel(ctx, &out, `SELECT `+tacticColumns+` FROM tactics`+w.sql()+` ORDER BY domain, matrix_order, external_id`, w.args...); err != nil {
		return nil, fmt.Errorf("store: list tactics: %w", err)
	}
	return out, nil
}

const techniqueColumns = `id, external_id, stix_id, name, description, parent_id, is_subtechnique,
	platforms, domains, data_sources, detection, url, object_version, modified_at, revoked, revoked_by,
	deprecated, known, last_seen_release, coverage_status, source, source_ref, content_hash,
	created_at, updated_at`

// techniqueColumnList is techniqueColumns as a list.
var techniqueColumnList = strings.Split(strings.Join(strings.Fields(techniqueColumns), ""), ",")

// techniqueUpsertSuffix follows the VALUES of a technique's upsert: the coverage
// status is the core's and is never overwritten, and a release that is not known ("")
// keeps the one stored.
const techniqueUpsertSuffix = `ON CONFLICT (external_id) DO UPDATE SET stix_id=excluded.stix_id, name=excluded.name,
		description=excluded.description, parent_id=excluded.parent_id, is_subtechnique=excluded.is_subtechnique,
		platforms=excluded.platforms, domains=excluded.domains, data_sources=excluded.data_sources,
		detection=excluded.detection, url=excluded.url, object_version=excluded.object_version,
		modified_at=excluded.modified_at, revoked=excluded.revoked, revoked_by=excluded.revoked_by,
		deprecated=excluded.deprecated, known=excluded.known,
		last_seen_release=CASE WHEN excluded.last_seen_release = '' THEN techniques.last_seen_release ELSE excluded.last_seen_release END,
		source=excluded.source, source_ref=excluded.source_ref, content_hash=excluded.content_hash,
		updated_at=excluded.updated_at
		RETURNING id`

// UpsertTechnique inserts or updates a technique keyed by its ATT&CK id; te.ID is set to
// the stored row's id. The coverage status is the core's and is never overwritten here,
// and a release that is not known ("") keeps the one stored.
func (t *Tx) UpsertTechnique(ctx context.Context, te *core.Technique) error {
	if err := te.Validate(); err != nil {
		return err
	}
	te.IsSubtechnique = core.ParentTechniqueID(te.ExternalID) != ""
	if te.CoverageStatus == "" {
		te.CoverageStatus = core.StatusNotTested
	}
	now := core.Now()
	if te.ID == "" {
		te.ID = core.NewID()
	}
	te.CreatedAt, te.UpdatedAt = now, now
	args := []any{te.ID, te.ExternalID, te.STIXID, te.Name, te.Description, te.ParentID, te.IsSubtechnique,
		te.Platforms, te.Domains, te.DataSources, te.Detection, te.URL, te.ObjectVersion, te.ModifiedAt,
		te.Revoked, te.RevokedBy, te.Deprecated, te.Known, te.LastSeenRelease, te.CoverageStatus,
		te.Source, te.SourceRef, te.ContentHash, te.CreatedAt, te.UpdatedAt}
	if t.holding {
		// Held (held.go): the id comes from every technique id of the database, read
		// once; the flush checks that the upsert kept it.
		if err := t.allTechniqueIDs(ctx); err != nil {
			return err
		}
		name := "upsert techniques"
		if op, ok := t.held[name]; ok && op.keys[te.ExternalID] {
			if err := t.flushHeld(ctx); err != nil {
				return err
			}
		}
		id, exists := t.techIDs[te.ExternalID]
		if exists {
			te.ID = id
			args[0] = id
		}
		if op := t.holdRow(name, phaseUpsert, "techniques", techniqueColumnList, techniqueUpsertSuffix, te.ExternalID, args); exists {
			op.updates++
		}
		t.rememberTechnique(te.ExternalID, te.ID)
		return nil
	}
	err := t.get(ctx, &te.ID, `INSERT INTO techniques (`+techniqueColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) `+techniqueUpsertSuffix, args...)
	if err != nil {
		return fmt.Errorf("store: upsert technique %s: %w", te.ExternalID, err)
	}
	t.rememberTechnique(te.ExternalID, te.ID)
	return nil
}

// insertTechniqueIfAbsent stores te unless a technique with its ATT&CK id exists (or
// is being inserted by a transaction that then commits): the new row's id, or "" when
// there was one already.
func (t *Tx) insertTechniqueIfAbsent(ctx context.Context, te *core.Technique) (string, error) {
	if err := te.Validate(); err != nil {
		return "", err
	}
	te.IsSubtechnique = core.ParentTechniqueID(te.ExternalID) != ""
	if te.CoverageStatus == "" {
		te.CoverageStatus = core.StatusNotTested
	}
	if te.ID == "" {
		te.ID = core.NewID()
	}
	now := core.Now()
	te.CreatedAt, te.UpdatedAt = now, now
	args := []any{te.ID, te.ExternalID, te.STIXID, te.Name, te.Description, te.ParentID, te.IsSubtechnique,
		te.Platforms, te.Domains, te.DataSources, te.Detection, te.URL, te.ObjectVersion, te.ModifiedAt,
		te.Revoked, te.RevokedBy, te.Deprecated, te.Known, te.LastSeenRelease, te.CoverageStatus,
		te.Source, te.SourceRef, te.ContentHash, te.CreatedAt, te.UpdatedAt}
	if t.holding {
		// Held (held.go): every technique id of the database is in t.techIDs, so the
		// technique is absent; a concurrent insert shows as a row the flush did not get.
		op := t.heldOpFor("insert techniques", phaseTechnique, "techniques", techniqueColumnList)
		op.suffix = `ON CONFLICT (external_id) DO NOTHING RETURNING id`
		op.rows = append(op.rows, args)
		return te.ID, nil
	}
	var id string
	err := t.get(ctx, &id, `INSERT INTO techniques (`+techniqueColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (external_id) DO NOTHING
		RETURNING id`, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: insert technique %s: %w", te.ExternalID, err)
	}
	return id, nil
}

// SetTechniqueTactics replaces the tactics of a technique.
func (t *Tx) SetTechniqueTactics(ctx context.Context, techniqueID string, tacticIDs []string) error {
	if t.holding {
		rows := make([][]any, len(tacticIDs))
		for i, id := range tacticIDs {
			rows[i] = []any{techniqueID, id}
		}
		t.holdLinks("technique_tactics", "technique_id", techniqueID, false, []string{"technique_id", "tactic_id"}, rows)
		return nil
	}
	if _, err := t.exec(ctx, `DELETE FROM technique_tactics WHERE technique_id=?`, techniqueID); err != nil {
		return fmt.Errorf("store: clear tactics of %s: %w", techniqueID, err)
	}
	for _, id := range tacticIDs {
		if _, err := t.exec(ctx, `INSERT INTO technique_tactics (technique_id, tactic_id) VALUES (?,?)`, techniqueID, id); err != nil {
			return fmt.Errorf("store: link technique %s to tactic %s: %w", techniqueID, id, err)
		}
	}
	return nil
}

// TechniqueByID finds a technique by its Aegis id.
func (t *Tx) TechniqueByID(ctx context.Context, id string) (*core.Technique, error) {
	return t.oneTechnique(ctx, "id", id)
}

// TechniqueByExternalID finds a technique by its ATT&CK id.
func (t *Tx) TechniqueByExternalID(ctx context.Context, externalID string) (*core.Technique, error) {
	return t.oneTechnique(ctx, "external_id", externalID)
}

func (t *Tx) oneTechnique(ctx context.Context, col, key string) (*core.Technique, error) {
	var te core.Technique
	if err := t.get(ctx, &te, `SELECT `+techniqueColumns+` FROM techniques WHERE `+col+`=?`, key); err != nil {
		return nil, notFound(err, "technique", key)
	}
	if err := t.fillTactics(ctx, []*core.Technique{&te}); err != nil {
		return nil, err
	}
	return &te, nil
}

// ListTechniques returns one page of techniques ordered by ATT&CK id, and the total.
func (t *Tx) ListTechniques(ctx context.Context, f core.TechniqueFilter) ([]*core.Technique, int, error) {
	w := where{}
	if !f.IncludeRevoked {
		w.add("revoked = ?", false)
	}
	if f.Status != "" {
		w.add("coverage_status = ?", f.Status)
	}
	if f.Tactic != "" {
		w.add(`id IN (SELECT tt.technique_id FROM technique_tactics tt JOIN tactics ta ON ta.id = tt.tactic_id
			WHERE ta.shortname = ? OR ta.external_id = ?)`, f.Tactic, f.Tactic)
	}
	if f.Platform != "" {
		// Platforms are a JSON array; matching the quoted element is exact and works on
		// both dialects without JSON functions.
		w.add("CAST(platforms AS TEXT) "+t.like()+" ? ESCAPE '\\'", `%"`+escapeLike(f.Platform)+`"%`)
	}
	if f.Search != "" {
		w.fullText(t.dialect, techniqueIndex, f.Search)
	}
	var total int
	if err := t.get(ctx, &total, `SELECT COUNT(*) FROM `+w.from("techniques")+w.sql(), w.params()...); err != nil {
		return nil, 0, fmt.Errorf("store: count techniques: %w", err)
	}
	p := f.Page.Normalize()
	out, err := t.selectTechniques(ctx, `SELECT `+t.techniqueSelect(f.Lean)+` FROM `+w.from("techniques")+w.sql()+
		` ORDER BY `+w.orderBy("external_id")+` LIMIT ? OFFSET ?`, w.listParams(p.Limit, p.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list techniques: %w", err)
	}
	if err := t.fillTactics(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (t *Tx) fillTactics(ctx context.Context, ts []*core.Technique) error {
	if len(ts) == 0 {
		return nil
	}
	byID := make(map[string]*core.Technique, len(ts))
	ids := make([]any, 0, len(ts))
	for _, te := range ts {
		te.Tactics = []string{}
		byID[te.ID] = te
		ids = append(ids, te.ID)
	}
	var rows []struct {
		TechniqueID string `db:"technique_id"`
		Shortname   string `db:"shortname"`
	}
	q := `SELECT tt.technique_id, ta.shortname FROM technique_tactics tt JOIN tactics ta ON ta.id = tt.tactic_id
		WHERE tt.technique_id IN (?` + strings.Repeat(",?", len(ids)-1) + `) ORDER BY ta.matrix_order`
	if err := t.sel(ctx, &rows, q, ids...); err != nil {
		return fmt.Errorf("store: tactics of techniques: %w", err)
	}
	for _, r := range rows {
		te := byID[r.TechniqueID]
		te.Tactics = append(te.Tactics, r.Shortname)
	}
	return nil
}

// escapeLike makes user input match literally in a LIKE pattern used with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// releaseTechniqueCols and releaseTechniqueSuffix make PutReleaseTechnique's upsert.
var releaseTechniqueCols = []string{"domain", "release_version", "technique_id", "tactic_ids", "revoked", "deprecated"}

const releaseTechniqueSuffix = `ON CONFLICT (domain, release_version, technique_id) DO UPDATE SET tactic_ids=excluded.tactic_ids,
		revoked=excluded.revoked, deprecated=excluded.deprecated`

// PutReleaseTechnique records that an ATT&CK release held a technique object; importing
// the release again rewrites the same row.
func (t *Tx) PutReleaseTechnique(ctx context.Context, r *core.ReleaseTechnique) error {
	if r.Domain == "" || r.Release == "" || r.TechniqueID == "" {
		return core.FieldError("release_technique", "domain, release and technique are required (got %q, %q, %q)", r.Domain, r.Release, r.TechniqueID)
	}
	row := []any{r.Domain, r.Release, r.TechniqueID, r.TacticIDs, r.Revoked, r.Deprecated}
	if t.holding {
		// Written after the techniques it points to (the insert phase), the later of two
		// writes of one key winning as it would one at a time.
		t.holdRow("upsert attack_release_techniques", phaseInsert, "attack_release_techniques", releaseTechniqueCols,
			releaseTechniqueSuffix, r.Domain+"\x00"+r.Release+"\x00"+r.TechniqueID, row)
		return nil
	}
	if _, err := t.exec(ctx, `INSERT INTO attack_release_techniques (`+strings.Join(releaseTechniqueCols, ", ")+`)
		VALUES (?,?,?,?,?,?) `+releaseTechniqueSuffix, row...); err != nil {
		return fmt.Errorf("store: record technique %s in ATT&CK %s %s: %w", r.TechniqueID, r.Domain, r.Release, err)
	}
	return nil
}

// PutReleaseTactic records a tactic as an ATT&CK release had it; importing the release
// again rewrites the same row.
func (t *Tx) PutReleaseTactic(ctx context.Context, r *core.ReleaseTactic) error {
	if r.Domain == "" || r.Release == "" || r.TacticID == "" || r.Name == "" || r.Shortname == "" {
		return core.FieldError("release_tactic", "domain, release, tactic, name and shortname are required (got %q, %q, %q, %q, %q)",
			r.Domain, r.Release, r.TacticID, r.Name, r.Shortname)
	}
	row := []any{r.Domain, r.Release, r.TacticID, r.ExternalID, r.Name, r.Shortname, r.MatrixOrder}
	const suffix = `ON CONFLICT (domain, release_version, tactic_id) DO UPDATE SET external_id=excluded.external_id, name=excluded.name,
		shortname=excluded.shortname, matrix_order=excluded.matrix_order`
	cols := []string{"domain", "release_version", "tactic_id", "external_id", "name", "shortname", "matrix_order"}
	if t.holding {
		// As PutReleaseTechnique: written in the insert phase, the later write winning.
		t.holdRow("upsert attack_release_tactics", phaseInsert, "attack_release_tactics", cols, suffix,
			r.Domain+"\x00"+r.Release+"\x00"+r.TacticID, row)
		return nil
	}
	if _, err := t.exec(ctx, `INSERT INTO attack_release_tactics (`+strings.Join(cols, ", ")+`)
		VALUES (?,?,?,?,?,?,?) `+suffix, row...); err != nil {
		return fmt.Errorf("store: record tactic %s in ATT&CK %s %s: %w", r.ExternalID, r.Domain, r.Release, err)
	}
	return nil
}
