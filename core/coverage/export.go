package coverage

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// ExportQuery selects the coverage an export carries: the matrix's filters, one tactic,
// or the difference between two snapshots.
type ExportQuery struct {
	Domain string
	// TacticID narrows the matrix to one tactic (TA0002 or its shortname).
	TacticID   string
	ActorID    string
	CampaignID string
	SnapshotID string
	// BaseSnapshotID, with SnapshotID, makes a diff: SnapshotID's coverage compared
	// with this earlier snapshot's.
	BaseSnapshotID string
}

// ExportTechnique is one technique of an export: its matrix cell and what the cell
// leaves out.
type ExportTechnique struct {
	MatrixTechnique
	Parent string
	// Tactics are shortnames in matrix order; Platforms as the ATT&CK release spells them.
	Tactics   []string
	Platforms []string
	// LastValidated is the newest validation in scope (nil for a snapshot, which does
	// not keep it).
	LastValidated *time.Time
	// Weight is the technique's weight for the actor of an actor export.
	Weight float64
}

// ExportCoverage is everything a coverage export carries, computed in one read by the
// same code as the matrix, actor and snapshot answers, so an artifact's numbers are the
// API's numbers.
type ExportCoverage struct {
	// Matrix is the matrix for the same query; for a tactic, only its column.
	Matrix *Matrix
	// Score is the scope's score: the matrix's, the tactic's, or the actor's (weighted
	// as the actor coverage weighs it).
	Score        scoring.Aggregate
	StatusCounts StatusCounts
	// Techniques are the techniques in scope and their sub-techniques, by ATT&CK id.
	Techniques []ExportTechnique
	Tactic     *MatrixTactic
	Actor      *ActorCoverage
	// Actors are every actor's score over the same coverage, most techniques first.
	Actors []ActorLine
	// Snapshots are the stored snapshots, oldest first (the trend).
	Snapshots []*core.Snapshot
	// Comparison is set for a diff, and Before holds the earlier snapshot's cells by
	// ATT&CK id (its test counts, which the comparison does not carry).
	Comparison *SnapshotComparison
	Before     map[string]*MatrixTechnique
}

// Export computes the coverage of an export scope.
func (s *Service) Export(ctx context.Context, q ExportQuery) (*ExportCoverage, error) {
	if q.BaseSnapshotID != "" && q.SnapshotID == "" {
		return nil, core.FieldError("scope", "a diff needs the later snapshot too")
	}
	out := &ExportCoverage{}
	err := s.store.View(ctx, func(tx core.Tx) error {
		mx, m, err := s.matrix(ctx, tx, MatrixQuery{Domain: q.Domain, ActorID: q.ActorID, CampaignID: q.CampaignID, SnapshotID: q.SnapshotID})
		if err != nil {
			return err
		}
		out.Matrix, out.Score, out.StatusCounts = mx, mx.Score, mx.StatusCounts
		tactics, err := tx.ListTactics(ctx, mx.Domain)
		if err != nil {
			return err
		}
		if q.TacticID != "" {
			for _, col := range mx.Tactics {
				if strings.EqualFold(col.ExternalID, q.TacticID) || strings.EqualFold(col.Shortname, q.TacticID) {
					out.Tactic = col
				}
			}
			if out.Tactic == nil {
				return core.Errorf(core.ENOTFOUND, "tactic %q is not a tactic of %s", q.TacticID, mx.Domain)
			}
			mx.Tactics = []*MatrixTactic{out.Tactic}
			out.Score = out.Tactic.Score
			var ns []*node
			for _, c := range out.Tactic.Techniques {
				ns = append(ns, m.cellNode(c.ExternalID))
			}
			out.StatusCounts = countStatuses(ns)
		}
		var weights map[string]float64
		if q.ActorID != "" {
			a, err := actorByRef(ctx, tx, q.ActorID)
			if err != nil {
				return err
			}
			if weights, err = actorWeights(ctx, tx, a); err != nil {
				return err
			}
			out.Actor = m.actor(a, weights)
			out.Score = out.Actor.Score
		}
		out.Techniques = exportTechniques(mx, m, tactics, weights)
		uses, err := tx.ActorUses(ctx)
		if err != nil {
			return err
		}
		out.Actors = actorLines(m, uses)
		if out.Snapshots, _, err = tx.ListSnapshots(ctx, core.Page{Limit: 500}); err != nil {
			return err
		}
		slices.Reverse(out.Snapshots)
		if q.BaseSnapshotID == "" {
			return nil
		}
		if out.Comparison, err = compareIn(ctx, tx, q.BaseSnapshotID, q.SnapshotID); err != nil {
			return err
		}
		base, _, err := s.matrix(ctx, tx, MatrixQuery{Domain: q.Domain, SnapshotID: q.BaseSnapshotID})
		if err != nil {
			return err
		}
		out.Before = map[string]*MatrixTechnique{}
		for _, col := range base.Tactics {
			for _, c := range col.Techniques {
				out.Before[c.ExternalID] = c
				for _, sub := range c.Subtechniques {
					out.Before[sub.ExternalID] = sub
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// exportTechniques lists every cell of the matrix and its sub-cells once, by ATT&CK id.
func exportTechniques(mx *Matrix, m *model, tactics []*core.Tactic, weights map[string]float64) []ExportTechnique {
	shortname := map[string]string{}
	order := map[string]int{}
	for _, ta := range tactics {
		shortname[ta.ID], order[ta.ID] = ta.Shortname, ta.MatrixOrder
	}
	seen := map[string]bool{}
	var out []ExportTechnique
	add := func(c *MatrixTechnique, parent string) {
		if seen[c.ExternalID] {
			return
		}
		seen[c.ExternalID] = true
		et := ExportTechnique{MatrixTechnique: *c, Parent: parent}
		et.Subtechniques = nil
		if n := m.cellNode(c.ExternalID); n != nil {
			ids := append([]string(nil), n.te.TacticIDs...)
			sort.SliceStable(ids, func(i, j int) bool { return order[ids[i]] < order[ids[j]] })
			for _, id := range ids {
				if sn := shortname[id]; sn != "" {
					et.Tactics = append(et.Tactics, sn)
				}
			}
			et.Platforms = n.te.Platforms
			et.LastValidated = n.last
		}
		if weights != nil {
			et.Weight = weights[c.ExternalID]
		}
		out = append(out, et)
	}
	for _, col := range mx.Tactics {
		for _, c := range col.Techniques {
			add(c, "")
			for _, sub := range c.Subtechniques {
				add(sub, c.ExternalID)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExternalID < out[j].ExternalID })
	return out
}
