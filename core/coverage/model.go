// Package coverage turns tests into coverage: the ATT&CK matrix, scores per technique,
// tactic, threat actor and organisation (core/scoring holds the formula), threat-actor
// gaps, compliance coverage, metrics, datasets and snapshots. Everything is computed
// on request from indexed data. The one thing kept between requests is what the
// unfiltered model reads from the store (the techniques with their tactics and template
// counts, the kept test counts and validation cells), keyed by the store's coverage
// generation, which every write to them raises in its own transaction: a request whose
// generation differs reads them again, so no answer is ever stale, and the scores are
// computed at each request's time (recency decays).
package coverage

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// Service computes coverage.
type Service struct {
	store core.Store
	now   func() time.Time

	mu       sync.Mutex
	inputs   map[string]*inputs       // by domain, for the unfiltered model
	releases map[string]*releaseCache // by domain
}

// inputs are what the unfiltered model of a domain reads from the store, as of a
// coverage generation. They are shared between requests and never modified.
type inputs struct {
	generation int64
	techs      []*core.CoverageTechnique
	vals       []core.ScoringRow
	counts     []core.TechniqueTestCounts
	// prepared and last are derived from techs and vals (derive), by technique id (live or retired):
	// the cells of its score (what does not depend on the time or the weights) and
	// when its newest validation happened. Kept with the inputs, a request of the
	// unfiltered model computes only the recency-weighted sums.
	prepared map[string]scoring.Prepared
	last     map[string]time.Time
}

// derive fills in.prepared and in.last, for live and retired techniques alike (an
// older release's matrix shows the retired ones it had, with today's coverage).
func (in *inputs) derive() {
	known := make(map[string]*core.CoverageTechnique, len(in.techs))
	for _, te := range in.techs {
		if te.Known {
			known[te.ID] = te
		}
	}
	perTech := map[string][]scoring.Validation{}
	latest := map[string]*core.ScoringRow{}
	for i := range in.vals {
		v := &in.vals[i]
		if known[v.TechniqueID] == nil {
			continue
		}
		perTech[v.TechniqueID] = append(perTech[v.TechniqueID], scoring.Validation{TestID: v.TestID, Platform: v.Platform,
			Procedure: v.Procedure, ValidatedAt: v.ValidatedAt, Prevented: v.Prevented, Alerted: v.Alerted, Logged: v.Logged})
		if cur := latest[v.TechniqueID]; cur == nil || v.ValidatedAt.After(cur.ValidatedAt) ||
			(v.ValidatedAt.Equal(cur.ValidatedAt) && v.TestID > cur.TestID) {
			latest[v.TechniqueID] = v
		}
	}
	in.prepared = make(map[string]scoring.Prepared, len(perTech))
	for id, vs := range perTech {
		te := known[id]
		in.prepared[id] = scoring.Prepare(scoring.Known{Platforms: te.Platforms, Procedures: te.Templates}, vs)
	}
	in.last = make(map[string]time.Time, len(latest))
	for id, l := range latest {
		in.last[id] = l.ValidatedAt
	}
}

// read returns the model inputs of domain over scope: for the unfiltered scope, the
// kept ones when the store's coverage generation has not moved since they were read.
func (s *Service) read(ctx context.Context, tx core.Tx, domain string, scope core.TestScope) (*inputs, error) {
	unscoped := scope == (core.TestScope{})
	var gen int64
	if unscoped {
		var err error
		if gen, err = tx.CoverageGeneration(ctx); err != nil {
			return nil, err
		}
		s.mu.Lock()
		in := s.inputs[domain]
		s.mu.Unlock()
		if in != nil && gen >= 0 && in.generation == gen {
			return in, nil
		}
	}
	techs, err := tx.CoverageTechniques(ctx, domain)
	if err != nil {
		return nil, err
	}
	vals, err := tx.Validations(ctx, scope)
	if err != nil {
		return nil, err
	}
	counts, err := tx.TestCounts(ctx, scope)
	if err != nil {
		return nil, err
	}
	in := &inputs{generation: gen, techs: techs, vals: vals, counts: counts}
	in.derive()
	if unscoped && gen >= 0 {
		s.mu.Lock()
		if s.inputs == nil {
			s.inputs = map[string]*inputs{}
		}
		s.inputs[domain] = in
		s.mu.Unlock()
	}
	return in, nil
}

// New returns the service; now is its clock (nil: the real one).
func New(st core.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now}
}

// node is one technique in a coverage model.
type node struct {
	te     *core.CoverageTechnique
	own    scoring.TechniqueScore
	score  *float64 // own score for sub-techniques, the roll-up for parents
	counts core.TechniqueTestCounts
	status core.CoverageStatus // like score: a parent's is the roll-up (core.RollUpStatus)
	// ownStatus is the status of the technique's own tests, before the roll-up.
	ownStatus core.CoverageStatus
	// last is when the newest validation in scope happened (nil: none, or a snapshot).
	last   *time.Time
	subs   []*node
	parent *node
}

// model is the coverage of every live technique of a domain at one moment.
type model struct {
	weights scoring.Weights
	version int
	now     time.Time
	domain  string
	nodes   map[string]*node // by Aegis id
	byExt   map[string]*node // by ATT&CK id
	top     []*node          // techniques without a parent, by ATT&CK id
	// retired are the revoked and deprecated techniques ATT&CK brought, by Aegis id,
	// scored like the live ones but in no tree: the matrix of an older release shows
	// the ones it had.
	retired map[string]*node
	// generation is the coverage generation the inputs were read at, when
	// hasGeneration (the unfiltered model reads it; a scoped one does not).
	generation    int64
	hasGeneration bool
	// snapshot says the statuses and scores are a snapshot's (applySnapshot).
	snapshot bool
	// shown are the cells the matrix built from the model shows, by ATT&CK id, when
	// they are copies (an older release's tree); nil when they are the model's own.
	shown map[string]*node
}

// live says whether a technique belongs in coverage: imported from ATT&CK (not a
// placeholder for an id other sources use), neither revoked nor deprecated.
func isLive(te *core.CoverageTechnique) bool { return te.Known && !te.Revoked && !te.Deprecated }

// each calls fn for every live and retired node.
func (m *model) each(fn func(id string, n *node)) {
	for id, n := range m.nodes {
		fn(id, n)
	}
	for id, n := range m.retired {
		fn(id, n)
	}
}

// cellNode returns the node of a cell the matrix built from the model shows.
func (m *model) cellNode(ext string) *node {
	if n := m.shown[ext]; n != nil {
		return n
	}
	return m.byExt[ext]
}

// node returns the live or retired node of an Aegis id.
func (m *model) node(id string) *node {
	if n := m.nodes[id]; n != nil {
		return n
	}
	return m.retired[id]
}

// statusRank orders coverage statuses from worst to best.
func statusRank(s core.CoverageStatus) int {
	switch s {
	case core.StatusInProgress:
		return 1
	case core.StatusNotCovered:
		return 2
	case core.StatusPartial:
		return 3
	case core.StatusCovered:
		return 4
	}
	return 0
}

// weights returns the active weights and formula version (the defaults when none were
// saved).
func activeWeights(ctx context.Context, tx core.Tx) (scoring.Weights, *core.ScoringConfig, error) {
	cfg, err := tx.ActiveScoringConfig(ctx)
	if err != nil || cfg == nil {
		return scoring.DefaultWeights(), nil, err
	}
	w := scoring.DefaultWeights()
	if err := json.Unmarshal(cfg.Weights, &w); err != nil {
		return w, nil, core.Errorf(core.EINTERNAL, "stored scoring weights %s are unreadable: %v", cfg.ID, err)
	}
	return w, cfg, nil
}

// build computes the model of a domain ("" for every domain) over the tests in scope.
func (s *Service) build(ctx context.Context, tx core.Tx, domain string, scope core.TestScope) (*model, error) {
	w, _, err := activeWeights(ctx, tx)
	if err != nil {
		return nil, err
	}
	in, err := s.read(ctx, tx, domain, scope)
	if err != nil {
		return nil, err
	}
	techs, counts := in.techs, in.counts
	m := &model{weights: w, version: scoring.FormulaVersion, now: s.now().UTC().Truncate(time.Microsecond), domain: domain,
		nodes: make(map[string]*node, len(techs)), byExt: make(map[string]*node, len(techs)), retired: map[string]*node{},
		generation: in.generation, hasGeneration: scope == (core.TestScope{})}
	for _, te := range techs {
		if !te.Known {
			continue
		}
		n := &node{te: te, status: core.StatusNotTested}
		if !isLive(te) {
			m.retired[te.ID] = n
			continue
		}
		m.nodes[te.ID], m.byExt[te.ExternalID] = n, n
	}
	for _, c := range counts {
		if n := m.node(c.TechniqueID); n != nil {
			n.counts = c
		}
	}
	unscoped := scope == (core.TestScope{})
	var scoped map[string][]*core.Test
	if !unscoped {
		tests, err := tx.StatusTests(ctx, scope)
		if err != nil {
			return nil, err
		}
		scoped = map[string][]*core.Test{}
		for _, t := range tests {
			scoped[t.TechniqueID] = append(scoped[t.TechniqueID], t)
		}
	}
	m.each(func(id string, n *node) {
		n.own = w.Score(m.now, in.prepared[id])
		n.score = n.own.Score
		if l, ok := in.last[id]; ok {
			n.last = &l
		}
		if unscoped {
			// The stored status is the one every other page shows; keep them equal.
			n.status = n.te.Status
		} else {
			// The same rule over the tests in scope (core.CoverageStatusOf).
			n.status = core.CoverageStatusOf(scoped[id])
		}
		n.ownStatus = n.status
	})
	for _, n := range m.nodes {
		if n.te.ParentID != nil {
			if p := m.nodes[*n.te.ParentID]; p != nil {
				n.parent = p
				p.subs = append(p.subs, n)
				continue
			}
		}
		m.top = append(m.top, n)
	}
	sort.Slice(m.top, func(i, j int) bool { return m.top[i].te.ExternalID < m.top[j].te.ExternalID })
	for _, n := range m.top {
		if len(n.subs) == 0 {
			continue
		}
		sort.Slice(n.subs, func(i, j int) bool { return n.subs[i].te.ExternalID < n.subs[j].te.ExternalID })
		subScores := make([]*float64, len(n.subs))
		for i, sub := range n.subs {
			subScores[i] = sub.score
		}
		n.score = scoring.RollUp(n.own.Score, subScores)
		// The status rolls up as the score does, or a parent tested only through its
		// sub-techniques would show "not tested" beside a score.
		statuses := []core.CoverageStatus{n.status}
		for _, sub := range n.subs {
			statuses = append(statuses, sub.status)
		}
		n.status = core.RollUpStatus(statuses...)
	}
	return m, nil
}

// member is a technique as an aggregate counts it: its rolled-up score.
func (n *node) member(weight float64) scoring.Member {
	return scoring.Member{Weight: weight, Score: n.score}
}

// aggregate combines the given nodes with weight 1.
func aggregate(ns []*node) scoring.Aggregate {
	ms := make([]scoring.Member, len(ns))
	for i, n := range ns {
		ms[i] = n.member(1)
	}
	return scoring.Combine(ms)
}

// StatusCounts counts techniques by coverage status.
type StatusCounts map[core.CoverageStatus]int

func countStatuses(ns []*node) StatusCounts {
	out := StatusCounts{core.StatusNotTested: 0, core.StatusInProgress: 0, core.StatusNotCovered: 0, core.StatusPartial: 0, core.StatusCovered: 0}
	for _, n := range ns {
		out[n.status]++
	}
	return out
}

// techniqueByRef finds a live technique of the model by Aegis or ATT&CK id.
func (m *model) find(ref string) *node {
	if n := m.nodes[ref]; n != nil {
		return n
	}
	return m.byExt[strings.ToUpper(ref)]
}

// all returns every node (techniques and sub-techniques) by ATT&CK id.
func (m *model) all() []*node {
	out := make([]*node, 0, len(m.nodes))
	for _, n := range m.top {
		out = append(out, n)
		out = append(out, n.subs...)
	}
	return out
}
