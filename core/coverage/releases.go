package coverage

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// releaseCache is what the store recorded of a domain's ATT&CK releases, as of a
// coverage generation (every import that records a release raises it): the releases,
// and the technique rows of those a matrix has asked for. Never modified once shared,
// but for members, which grows under Service.mu.
type releaseCache struct {
	generation int64
	list       []string // newest last
	members    map[string]*releaseMembers
}

// releaseMembers are the techniques a release presented as current, by Aegis id, and
// the tactics they were in, by Aegis id.
type releaseMembers struct {
	techniques map[string]*core.ReleaseTechnique
	tactics    map[string]bool
	// columns are the release's tactics as it had them, by Aegis id.
	columns map[string]*core.ReleaseTactic
}

// matrixRelease is the release a matrix shows.
type matrixRelease struct {
	list    []string // every recorded release of the domain, newest last
	release string   // the one shown; "" when no import recorded one
	// members are the techniques the release presented as current, by Aegis id (nil
	// when no release is recorded: the matrix shows today's live techniques).
	members map[string]*core.ReleaseTechnique
	// tactics are the tactics those techniques were in, by Aegis id.
	tactics map[string]bool
	// columns are the release's tactics as it had them (names, shortnames and order
	// of then), by Aegis id.
	columns map[string]*core.ReleaseTactic
}

// release resolves the release a matrix of domain shows: want, or the newest recorded.
// m is the model the matrix is built from; its generation, when it read one, saves a
// query.
func (s *Service) release(ctx context.Context, tx core.Tx, m *model, domain, want string) (*matrixRelease, error) {
	gen := m.generation
	if !m.hasGeneration {
		var err error
		if gen, err = tx.CoverageGeneration(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	rc := s.releases[domain]
	s.mu.Unlock()
	if rc == nil || gen < 0 || rc.generation != gen {
		list, err := tx.AttackReleases(ctx, domain)
		if err != nil {
			return nil, err
		}
		sort.Slice(list, func(i, j int) bool { return core.ReleaseLess(list[i], list[j]) })
		rc = &releaseCache{generation: gen, list: list, members: map[string]*releaseMembers{}}
		if gen >= 0 {
			s.mu.Lock()
			if s.releases == nil {
				s.releases = map[string]*releaseCache{}
			}
			s.releases[domain] = rc
			s.mu.Unlock()
		}
	}
	out := &matrixRelease{list: rc.list}
	if len(rc.list) > 0 {
		out.release = rc.list[len(rc.list)-1]
	}
	if want != "" {
		found := false
		for _, r := range rc.list {
			found = found || r == want
		}
		if !found {
			imported := strings.Join(rc.list, ", ")
			if imported == "" {
				imported = "none recorded"
			}
			return nil, core.FieldError("release", "ATT&CK release %q is not imported for %s (imported: %s)", want, domain, imported)
		}
		out.release = want
	}
	if out.release == "" {
		return out, nil
	}
	s.mu.Lock()
	members := rc.members[out.release]
	s.mu.Unlock()
	if members == nil {
		rows, err := tx.ReleaseTechniques(ctx, domain, out.release)
		if err != nil {
			return nil, err
		}
		cols, err := tx.ReleaseTactics(ctx, domain, out.release)
		if err != nil {
			return nil, err
		}
		members = &releaseMembers{techniques: make(map[string]*core.ReleaseTechnique, len(rows)), tactics: map[string]bool{},
			columns: make(map[string]*core.ReleaseTactic, len(cols))}
		for _, c := range cols {
			members.columns[c.TacticID] = c
		}
		for _, r := range rows {
			if r.Current() {
				members.techniques[r.TechniqueID] = r
				for _, ta := range r.TacticIDs {
					members.tactics[ta] = true
				}
			}
		}
		s.mu.Lock()
		rc.members[out.release] = members
		s.mu.Unlock()
	}
	out.members, out.tactics, out.columns = members.techniques, members.tactics, members.columns
	return out, nil
}

// asReleased returns the tactics (the catalog's, of today) as the release had them, in
// the release's matrix order: its names, shortnames and positions. A tactic the
// release recorded nothing of keeps today's.
func (r *matrixRelease) asReleased(tactics []*core.Tactic) []*core.Tactic {
	if len(r.columns) == 0 {
		return tactics
	}
	out := make([]*core.Tactic, len(tactics))
	for i, ta := range tactics {
		out[i] = ta
		if c := r.columns[ta.ID]; c != nil {
			then := *ta
			then.ExternalID, then.Name, then.Shortname, then.MatrixOrder = c.ExternalID, c.Name, c.Shortname, c.MatrixOrder
			out[i] = &then
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].MatrixOrder < out[j].MatrixOrder || out[i].MatrixOrder == out[j].MatrixOrder && out[i].ExternalID < out[j].ExternalID
	})
	return out
}

// isLive says whether a release holds exactly the model's live techniques, each in its
// tactics of today: the newest release, as a rule, whose tree is then the model's own
// (copying it cost the matrix about a third of its time).
func (m *model) isLive(members map[string]*core.ReleaseTechnique) bool {
	if len(members) != len(m.nodes) {
		return false
	}
	for id, r := range members {
		n := m.nodes[id]
		if n == nil || len(n.te.TacticIDs) != len(r.TacticIDs) {
			return false
		}
		for _, ta := range n.te.TacticIDs {
			if !slices.Contains(r.TacticIDs, ta) {
				return false
			}
		}
	}
	return true
}

// releaseTree returns the matrix tree of a release: its techniques without a parent, by
// ATT&CK id, each with its sub-techniques of the release, in the release's tactics. The
// nodes are copies of the model's (live or retired since), so the model stays as every
// other answer reads it; a parent's score and status roll up over the release's
// sub-techniques, as the model's do over today's (a snapshot's are kept as it saw them).
func (m *model) releaseTree(members map[string]*core.ReleaseTechnique) []*node {
	view := make(map[string]*node, len(members))
	for id, r := range members {
		n := m.node(id)
		if n == nil {
			// Rows point at techniques by id with a foreign key; a technique other
			// sources brought (known = false) is in no release.
			continue
		}
		c := *n
		te := *n.te
		te.TacticIDs = r.TacticIDs
		c.te, c.subs, c.parent = &te, nil, nil
		view[id] = &c
	}
	var top []*node
	for _, n := range view {
		if n.te.ParentID != nil {
			if p := view[*n.te.ParentID]; p != nil {
				n.parent = p
				p.subs = append(p.subs, n)
				continue
			}
			// A sub-technique whose parent the release did not present as current: a
			// cell of its own rather than lost.
		}
		top = append(top, n)
	}
	sort.Slice(top, func(i, j int) bool { return top[i].te.ExternalID < top[j].te.ExternalID })
	for _, n := range top {
		sort.Slice(n.subs, func(i, j int) bool { return n.subs[i].te.ExternalID < n.subs[j].te.ExternalID })
		if m.snapshot {
			continue
		}
		scores := make([]*float64, len(n.subs))
		statuses := []core.CoverageStatus{n.ownStatus}
		for i, sub := range n.subs {
			scores[i] = sub.score
			statuses = append(statuses, sub.status)
		}
		n.score = scoring.RollUp(n.own.Score, scores)
		n.status = core.RollUpStatus(statuses...)
	}
	return top
}
