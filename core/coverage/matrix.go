package coverage

import (
	"context"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// DefaultDomain is the ATT&CK domain of the matrix when none is asked for.
const DefaultDomain = "enterprise-attack"

// MatrixQuery selects a matrix: a domain and release, and optional filters.
type MatrixQuery struct {
	Domain   string
	Release  string // ATT&CK release; default the newest imported
	Platform string // only techniques of this platform, scored from tests on it
	ActorID  string // only the techniques this actor uses (Aegis or group id)
	// CampaignID scores from this campaign's tests only, over the techniques it tests.
	CampaignID string
	// SnapshotID shows status, score and test counts as the snapshot saw them.
	SnapshotID string
}

// Matrix is the ATT&CK matrix with coverage: the SPA's main page in one answer.
type Matrix struct {
	Domain         string            `json:"domain"`
	Release        string            `json:"release"`
	Releases       []string          `json:"releases"`
	FormulaVersion int               `json:"formula_version"`
	Filter         MatrixFilter      `json:"filter"`
	Score          scoring.Aggregate `json:"score"`
	StatusCounts   StatusCounts      `json:"status_counts"`
	Tactics        []*MatrixTactic   `json:"tactics"`
}

// MatrixFilter echoes what the matrix was narrowed by.
type MatrixFilter struct {
	Platform   string `json:"platform,omitempty"`
	ActorID    string `json:"actor_id,omitempty"`
	CampaignID string `json:"campaign_id,omitempty"`
	SnapshotID string `json:"snapshot_id,omitempty"`
}

// MatrixTactic is one column.
type MatrixTactic struct {
	ID          string             `json:"id"`
	ExternalID  string             `json:"external_id"`
	Name        string             `json:"name"`
	Shortname   string             `json:"shortname"`
	MatrixOrder int                `json:"matrix_order"`
	Score       scoring.Aggregate  `json:"score"`
	Techniques  []*MatrixTechnique `json:"techniques"`
}

// MatrixTechnique is one cell, with its sub-techniques.
type MatrixTechnique struct {
	ID         string                   `json:"id"`
	ExternalID string                   `json:"external_id"`
	Name       string                   `json:"name"`
	Status     core.CoverageStatus      `json:"status"`
	Score      *float64                 `json:"score"`
	Counts     core.TechniqueTestCounts `json:"counts"`
	Templates  int                      `json:"templates"`
	// Revoked and Deprecated say ATT&CK has retired the technique since the release
	// shown (which still had it); RevokedBy is the replacement a revocation names.
	Revoked       bool               `json:"revoked,omitempty"`
	RevokedBy     string             `json:"revoked_by,omitempty"`
	Deprecated    bool               `json:"deprecated,omitempty"`
	Subtechniques []*MatrixTechnique `json:"subtechniques,omitempty"`
}

func (n *node) cell() *MatrixTechnique {
	return &MatrixTechnique{ID: n.te.ID, ExternalID: n.te.ExternalID, Name: n.te.Name, Status: n.status, Score: n.score,
		Counts: n.counts, Templates: n.te.Templates, Revoked: n.te.Revoked, RevokedBy: n.te.RevokedBy, Deprecated: n.te.Deprecated}
}

func hasPlatform(te *core.CoverageTechnique, p string) bool {
	for _, x := range te.Platforms {
		if strings.EqualFold(x, p) {
			return true
		}
	}
	return false
}

// Matrix computes the matrix for q.
func (s *Service) Matrix(ctx context.Context, q MatrixQuery) (*Matrix, error) {
	var out *Matrix
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		out, _, err = s.matrix(ctx, tx, q)
		return err
	})
	return out, err
}

// matrix computes the matrix for q in tx and returns the model it came from, whose
// nodes carry what the matrix leaves out (platforms, tactics, last validation).
func (s *Service) matrix(ctx context.Context, tx core.Tx, q MatrixQuery) (*Matrix, *model, error) {
	if q.Domain == "" {
		q.Domain = DefaultDomain
	}
	scope := core.TestScope{Platform: q.Platform, CampaignID: q.CampaignID}
	if q.CampaignID != "" {
		if _, err := tx.CampaignByID(ctx, q.CampaignID); err != nil {
			return nil, nil, err
		}
	}
	m, err := s.build(ctx, tx, q.Domain, scope)
	if err != nil {
		return nil, nil, err
	}
	if len(m.nodes) == 0 {
		return nil, nil, core.Errorf(core.ENOTFOUND, "no techniques of domain %q are imported (import ATT&CK first: aegis import attack)", q.Domain)
	}
	rel, err := s.release(ctx, tx, m, q.Domain, q.Release)
	if err != nil {
		return nil, nil, err
	}
	if q.SnapshotID != "" {
		if err := applySnapshot(ctx, tx, m, q.SnapshotID); err != nil {
			return nil, nil, err
		}
	}
	top, copied := m.top, false
	if rel.members != nil && !m.isLive(rel.members) {
		top, copied = m.releaseTree(rel.members), true
	}
	// The cells' nodes, for an export: the model's own unless the tree was copied.
	m.shown = nil
	if copied {
		m.shown = map[string]*node{}
	}
	keep := func(n *node) bool { return q.Platform == "" || hasPlatform(n.te, q.Platform) }
	if q.ActorID != "" {
		uses, err := actorTechniques(ctx, tx, q.ActorID)
		if err != nil {
			return nil, nil, err
		}
		prev := keep
		keep = func(n *node) bool { return prev(n) && uses[n.te.ExternalID] > 0 }
	}
	if q.CampaignID != "" {
		prev := keep
		keep = func(n *node) bool { return prev(n) && n.counts.Tests > 0 }
	}
	tactics, err := tx.ListTactics(ctx, q.Domain)
	if err != nil {
		return nil, nil, err
	}
	tactics = rel.asReleased(tactics)
	out := &Matrix{Domain: q.Domain, Release: rel.release, Releases: rel.list, FormulaVersion: m.version,
		Filter: MatrixFilter{Platform: q.Platform, ActorID: q.ActorID, CampaignID: q.CampaignID, SnapshotID: q.SnapshotID}}
	if out.Releases == nil {
		out.Releases = []string{}
	}
	byTactic := map[string][]*node{}
	var shown []*node
	for _, n := range top {
		subKept := false
		for _, sub := range n.subs {
			subKept = subKept || keep(sub)
		}
		if !keep(n) && !subKept {
			continue
		}
		shown = append(shown, n)
		if copied {
			m.shown[n.te.ExternalID] = n
		}
		for _, ta := range n.te.TacticIDs {
			byTactic[ta] = append(byTactic[ta], n)
		}
	}
	for _, ta := range tactics {
		// A release's columns are the tactics its techniques were in, whatever ATT&CK
		// did to them since; without a recorded release, today's tactics.
		if rel.members != nil && !rel.tactics[ta.ID] || rel.members == nil && ta.Deprecated {
			continue
		}
		ns := byTactic[ta.ID]
		sort.Slice(ns, func(i, j int) bool { return ns[i].te.Name < ns[j].te.Name })
		col := &MatrixTactic{ID: ta.ID, ExternalID: ta.ExternalID, Name: ta.Name, Shortname: ta.Shortname, MatrixOrder: ta.MatrixOrder,
			Score: aggregate(ns), Techniques: make([]*MatrixTechnique, 0, len(ns))}
		for _, n := range ns {
			c := n.cell()
			for _, sub := range n.subs {
				if keep(sub) {
					c.Subtechniques = append(c.Subtechniques, sub.cell())
					if copied {
						m.shown[sub.te.ExternalID] = sub
					}
				}
			}
			col.Techniques = append(col.Techniques, c)
		}
		out.Tactics = append(out.Tactics, col)
	}
	if out.Tactics == nil {
		out.Tactics = []*MatrixTactic{}
	}
	out.Score = aggregate(shown)
	out.StatusCounts = countStatuses(shown)
	return out, m, nil
}

// actorTechniques returns the ATT&CK ids of the techniques an actor uses, each with its
// weight (1 + the number of the actor's imported campaigns that used it).
func actorTechniques(ctx context.Context, tx core.Tx, ref string) (map[string]float64, error) {
	a, err := actorByRef(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	return actorWeights(ctx, tx, a)
}

func actorByRef(ctx context.Context, tx core.Tx, ref string) (*core.ThreatActor, error) {
	return core.ThreatActorByRef(ctx, tx, ref)
}

func actorWeights(ctx context.Context, tx core.Tx, a *core.ThreatActor) (map[string]float64, error) {
	profiles, _, err := tx.ListCampaignProfiles(ctx, core.ProfileFilter{ActorID: a.ExternalID, Kind: "attack_campaign", Page: core.Page{Limit: 500}})
	if err != nil {
		return nil, err
	}
	inCampaigns := map[string]int{}
	for _, p := range profiles {
		for _, t := range p.TechniqueIDs {
			inCampaigns[t]++
		}
	}
	out := make(map[string]float64, len(a.Techniques))
	for _, l := range a.Techniques {
		out[l.TechniqueID] = 1 + float64(inCampaigns[l.TechniqueID])
	}
	return out, nil
}

// applySnapshot replaces live status, score and counts with a snapshot's.
func applySnapshot(ctx context.Context, tx core.Tx, m *model, id string) error {
	if _, err := tx.SnapshotByID(ctx, id); err != nil {
		return err
	}
	states, err := tx.SnapshotTechniqueStates(ctx, id)
	if err != nil {
		return err
	}
	m.snapshot = true
	m.each(func(_ string, n *node) {
		n.status, n.score, n.counts, n.last = core.StatusNotTested, nil, core.TechniqueTestCounts{}, nil
	})
	for _, st := range states {
		if n := m.node(st.TechniqueID); n != nil {
			n.status, n.score = st.Status, st.Score
			n.counts = core.TechniqueTestCounts{TechniqueID: st.TechniqueID, Tests: st.TestCount, Validated: st.ValidatedCount}
		}
	}
	return nil
}
