package coverage

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// WeightEditors may change the scoring weights.
var WeightEditors = []core.Role{core.RoleAdmin}

// WeightsView is the weights in force and where they come from.
type WeightsView struct {
	FormulaVersion int             `json:"formula_version"`
	Weights        scoring.Weights `json:"weights"`
	// Default is true while no admin has saved weights.
	Default bool                `json:"default"`
	Config  *core.ScoringConfig `json:"config,omitempty"`
}

// Weights returns the weights in force.
func (s *Service) Weights(ctx context.Context) (*WeightsView, error) {
	var out *WeightsView
	err := s.store.View(ctx, func(tx core.Tx) error {
		w, cfg, err := activeWeights(ctx, tx)
		out = &WeightsView{FormulaVersion: scoring.FormulaVersion, Weights: w, Default: cfg == nil, Config: cfg}
		return err
	})
	return out, err
}

// WeightsHistory lists every saved set of weights, newest first.
func (s *Service) WeightsHistory(ctx context.Context, p core.Page) ([]*core.ScoringConfig, int, error) {
	var out []*core.ScoringConfig
	var total int
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		out, total, err = tx.ListScoringConfigs(ctx, p)
		return err
	})
	return out, total, err
}

// SetWeights validates and saves new weights, audited with the old and new values.
func (s *Service) SetWeights(ctx context.Context, actor *core.User, w scoring.Weights) (*WeightsView, error) {
	if actor == nil {
		return nil, core.Errorf(core.EUNAUTHORIZED, "sign in first")
	}
	if !slices.Contains(WeightEditors, actor.Role) {
		return nil, core.Errorf(core.EFORBIDDEN, "the %s role may not change the scoring weights", actor.Role)
	}
	if err := w.Validate(); err != nil {
		var ve *scoring.ValidationError
		if errors.As(err, &ve) {
			return nil, core.FieldError(ve.Field, "%s", ve.Message)
		}
		return nil, err
	}
	doc, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	cfg := &core.ScoringConfig{FormulaVersion: scoring.FormulaVersion, Weights: doc, CreatedBy: &actor.ID, CreatedAt: core.Now()}
	err = s.store.Update(ctx, func(tx core.Tx) error {
		old, _, err := activeWeights(ctx, tx)
		if err != nil {
			return err
		}
		if err := tx.SaveScoringConfig(ctx, cfg); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, "scoring.weights_changed", "scoring_config", cfg.ID,
			map[string]any{"formula_version": scoring.FormulaVersion, "from": old, "to": w}))
	})
	if err != nil {
		return nil, err
	}
	return &WeightsView{FormulaVersion: scoring.FormulaVersion, Weights: w, Config: cfg}, nil
}

// Scores is the organisation's score and each tactic's.
type Scores struct {
	Domain         string            `json:"domain"`
	FormulaVersion int               `json:"formula_version"`
	Organisation   scoring.Aggregate `json:"organisation"`
	StatusCounts   StatusCounts      `json:"status_counts"`
	Tactics        []TacticScore     `json:"tactics"`
}

// TacticScore is one tactic's aggregate.
type TacticScore struct {
	ExternalID string            `json:"external_id"`
	Name       string            `json:"name"`
	Shortname  string            `json:"shortname"`
	Domain     string            `json:"domain"`
	Score      scoring.Aggregate `json:"score"`
}

// Scores computes the organisation's score over a domain ("" for every imported
// domain) and each tactic's.
func (s *Service) Scores(ctx context.Context, domain string) (*Scores, error) {
	var out *Scores
	err := s.store.View(ctx, func(tx core.Tx) error {
		m, err := s.build(ctx, tx, domain, core.TestScope{})
		if err != nil {
			return err
		}
		tactics, err := tx.ListTactics(ctx, domain)
		if err != nil {
			return err
		}
		out = &Scores{Domain: domain, FormulaVersion: m.version, Organisation: aggregate(m.top), StatusCounts: countStatuses(m.top),
			Tactics: tacticScores(m, tactics)}
		return nil
	})
	return out, err
}

func tacticScores(m *model, tactics []*core.Tactic) []TacticScore {
	by := map[string][]*node{}
	for _, n := range m.top {
		for _, ta := range n.te.TacticIDs {
			by[ta] = append(by[ta], n)
		}
	}
	out := []TacticScore{}
	for _, ta := range tactics {
		if ta.Deprecated {
			continue
		}
		out = append(out, TacticScore{ExternalID: ta.ExternalID, Name: ta.Name, Shortname: ta.Shortname, Domain: ta.Domain, Score: aggregate(by[ta.ID])})
	}
	return out
}

// TechniqueScore explains one technique's score.
type TechniqueScore struct {
	TechniqueID    string                   `json:"technique_id"`
	Name           string                   `json:"name"`
	FormulaVersion int                      `json:"formula_version"`
	Status         core.CoverageStatus      `json:"status"`
	Score          *float64                 `json:"score"`
	Own            scoring.TechniqueScore   `json:"own"`
	Counts         core.TechniqueTestCounts `json:"counts"`
	Platforms      []string                 `json:"platforms"`
	Templates      int                      `json:"templates"`
	Subtechniques  []SubScore               `json:"subtechniques"`
}

// SubScore is a sub-technique's part in its parent's roll-up.
type SubScore struct {
	TechniqueID string              `json:"technique_id"`
	Name        string              `json:"name"`
	Status      core.CoverageStatus `json:"status"`
	Score       *float64            `json:"score"`
}

// Technique explains the score of one technique (Aegis or ATT&CK id).
func (s *Service) Technique(ctx context.Context, ref string) (*TechniqueScore, error) {
	var out *TechniqueScore
	err := s.store.View(ctx, func(tx core.Tx) error {
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		n := m.find(ref)
		if n == nil {
			return core.Errorf(core.ENOTFOUND, "technique %q not found among live ATT&CK techniques", ref)
		}
		out = &TechniqueScore{TechniqueID: n.te.ExternalID, Name: n.te.Name, FormulaVersion: m.version, Status: n.status, Score: n.score,
			Own: n.own, Counts: n.counts, Platforms: n.te.Platforms, Templates: n.te.Templates, Subtechniques: []SubScore{}}
		for _, sub := range n.subs {
			out.Subtechniques = append(out.Subtechniques, SubScore{sub.te.ExternalID, sub.te.Name, sub.status, sub.score})
		}
		return nil
	})
	return out, err
}
