package coverage

import (
	"context"
	"sort"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/scoring"
)

// Control statuses, derived from the coverage of the techniques a control maps to.
const (
	ControlNotMapped = "not_mapped" // the control maps to no technique
	ControlUntested  = "untested"   // none of its techniques has a test
	ControlPartial   = "partial"    // some of its techniques are not covered
	ControlCovered   = "covered"    // every technique it maps to is covered
)

// ControlTechnique is a technique a control maps to, with its coverage.
type ControlTechnique struct {
	TechniqueID string              `json:"technique_id"`
	Name        string              `json:"name"`
	MappingType string              `json:"mapping_type"`
	Status      core.CoverageStatus `json:"status"`
	Score       *float64            `json:"score"`
	// Retired is true for a technique the current ATT&CK release no longer has.
	Retired bool `json:"retired,omitempty"`
}

// ControlCoverage is one control's coverage and the techniques that make its gaps.
type ControlCoverage struct {
	ID          string             `json:"id"`
	FrameworkID string             `json:"framework_id"`
	ExternalID  string             `json:"external_id"`
	Family      string             `json:"family"`
	Title       string             `json:"title"`
	Status      string             `json:"status"`
	Score       scoring.Aggregate  `json:"score"`
	Techniques  []ControlTechnique `json:"techniques"`
	Gaps        []ControlTechnique `json:"gaps"`
}

// FrameworkCoverage rolls a framework's controls up.
type FrameworkCoverage struct {
	*core.ComplianceFramework
	Controls int `json:"controls"`
	Mapped   int `json:"mapped_controls"`
	// Score combines the mapped controls' scores (each the aggregate of its techniques).
	Score    scoring.Aggregate `json:"score"`
	Statuses map[string]int    `json:"control_statuses"`
	Families []FamilyCoverage  `json:"families,omitempty"`
}

// FamilyCoverage is a control family's roll-up.
type FamilyCoverage struct {
	Family   string            `json:"family"`
	Controls int               `json:"controls"`
	Score    scoring.Aggregate `json:"score"`
	Statuses map[string]int    `json:"control_statuses"`
}

func (m *model) control(c *core.ComplianceControl) *ControlCoverage {
	out := &ControlCoverage{ID: c.ID, FrameworkID: c.FrameworkID, ExternalID: c.ExternalID, Family: c.Family, Title: c.Title,
		Techniques: []ControlTechnique{}, Gaps: []ControlTechnique{}}
	var members []scoring.Member
	covered, tested := 0, 0
	seen := map[string]bool{}
	for _, l := range c.Mappings {
		ct := ControlTechnique{TechniqueID: l.TechniqueID, MappingType: l.Relation, Status: core.StatusNotTested}
		n := m.byExt[l.TechniqueID]
		if n == nil {
			ct.Retired = true
		} else {
			ct.Name, ct.Status, ct.Score = n.te.Name, n.status, n.score
		}
		out.Techniques = append(out.Techniques, ct)
		if seen[l.TechniqueID] {
			continue // mapped twice (mitigates and another type): counted once
		}
		seen[l.TechniqueID] = true
		members = append(members, scoring.Member{Score: ct.Score})
		if ct.Status == core.StatusCovered {
			covered++
		} else {
			out.Gaps = append(out.Gaps, ct)
		}
		if ct.Status != core.StatusNotTested {
			tested++
		}
	}
	out.Score = scoring.Combine(members)
	switch {
	case len(seen) == 0:
		out.Status = ControlNotMapped
	case covered == len(seen):
		out.Status = ControlCovered
	case tested == 0:
		out.Status = ControlUntested
	default:
		out.Status = ControlPartial
	}
	return out
}

func statusMap() map[string]int {
	return map[string]int{ControlNotMapped: 0, ControlUntested: 0, ControlPartial: 0, ControlCovered: 0}
}

// allControls reads every control of a framework (frameworks hold about a thousand).
func allControls(ctx context.Context, tx core.Tx, f core.ControlFilter) ([]*core.ComplianceControl, error) {
	var out []*core.ComplianceControl
	for off := 0; ; off += 500 {
		f.Page = core.Page{Limit: 500, Offset: off}
		page, total, err := tx.ListComplianceControls(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if off+500 >= total || len(page) == 0 {
			return out, nil
		}
	}
}

func (m *model) framework(fw *core.ComplianceFramework, controls []*core.ComplianceControl, families bool) FrameworkCoverage {
	out := FrameworkCoverage{ComplianceFramework: fw, Controls: len(controls), Statuses: statusMap()}
	var members []scoring.Member
	fam := map[string]*FamilyCoverage{}
	famMembers := map[string][]scoring.Member{}
	for _, c := range controls {
		cc := m.control(c)
		out.Statuses[cc.Status]++
		f := fam[c.Family]
		if f == nil {
			f = &FamilyCoverage{Family: c.Family, Statuses: statusMap()}
			fam[c.Family] = f
		}
		f.Controls++
		f.Statuses[cc.Status]++
		if cc.Status == ControlNotMapped {
			continue
		}
		out.Mapped++
		members = append(members, scoring.Member{Score: cc.Score.Score})
		famMembers[c.Family] = append(famMembers[c.Family], scoring.Member{Score: cc.Score.Score})
	}
	out.Score = scoring.Combine(members)
	if families {
		out.Families = []FamilyCoverage{}
		for name, f := range fam {
			f.Score = scoring.Combine(famMembers[name])
			out.Families = append(out.Families, *f)
		}
		sort.Slice(out.Families, func(i, j int) bool { return out.Families[i].Family < out.Families[j].Family })
	}
	return out
}

// Frameworks rolls up every imported framework.
func (s *Service) Frameworks(ctx context.Context) ([]FrameworkCoverage, error) {
	out := []FrameworkCoverage{}
	err := s.store.View(ctx, func(tx core.Tx) error {
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		fws, err := tx.ListComplianceFrameworks(ctx)
		if err != nil {
			return err
		}
		for _, fw := range fws {
			cs, err := allControls(ctx, tx, core.ControlFilter{FrameworkID: fw.ID})
			if err != nil {
				return err
			}
			out = append(out, m.framework(fw, cs, false))
		}
		return nil
	})
	return out, err
}

// Framework rolls up one framework, per family too.
func (s *Service) Framework(ctx context.Context, id string) (*FrameworkCoverage, error) {
	var out FrameworkCoverage
	err := s.store.View(ctx, func(tx core.Tx) error {
		fw, err := tx.ComplianceFrameworkByID(ctx, id)
		if err != nil {
			return err
		}
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		cs, err := allControls(ctx, tx, core.ControlFilter{FrameworkID: fw.ID})
		if err != nil {
			return err
		}
		out = m.framework(fw, cs, true)
		return nil
	})
	return &out, err
}

// Controls returns one page of a framework's controls with their coverage.
func (s *Service) Controls(ctx context.Context, f core.ControlFilter) ([]*ControlCoverage, int, error) {
	return s.ControlsWithStatus(ctx, f, "")
}

// ControlsWithStatus is Controls narrowed to one control status (covered, partial,
// untested, not_mapped; empty for any). A status is computed, not stored, so with one
// every matching control is read and rated before the page is cut.
func (s *Service) ControlsWithStatus(ctx context.Context, f core.ControlFilter, status string) ([]*ControlCoverage, int, error) {
	switch status {
	case "", ControlCovered, ControlPartial, ControlUntested, ControlNotMapped:
	default:
		return nil, 0, core.FieldError("status", "must be covered, partial, untested or not_mapped, not %q", status)
	}
	f.TechniqueID = core.TechniqueFilterID(f.TechniqueID)
	out := []*ControlCoverage{}
	var total int
	err := s.store.View(ctx, func(tx core.Tx) error {
		if f.FrameworkID != "" {
			if _, err := tx.ComplianceFrameworkByID(ctx, f.FrameworkID); err != nil {
				return err
			}
		}
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		if status == "" {
			cs, n, err := tx.ListComplianceControls(ctx, f)
			if err != nil {
				return err
			}
			total = n
			for _, c := range cs {
				out = append(out, m.control(c))
			}
			return nil
		}
		cs, err := allControls(ctx, tx, f)
		if err != nil {
			return err
		}
		var rated []*ControlCoverage
		for _, c := range cs {
			if cc := m.control(c); cc.Status == status {
				rated = append(rated, cc)
			}
		}
		total = len(rated)
		p := f.Page.Normalize()
		if p.Offset < len(rated) {
			out = append(out, rated[p.Offset:min(p.Offset+p.Limit, len(rated))]...)
		}
		return nil
	})
	return out, total, err
}

// Control returns one control's coverage and gaps.
func (s *Service) Control(ctx context.Context, id string) (*ControlCoverage, error) {
	var out *ControlCoverage
	err := s.store.View(ctx, func(tx core.Tx) error {
		c, err := tx.ComplianceControlByID(ctx, id)
		if err != nil {
			return err
		}
		m, err := s.build(ctx, tx, "", core.TestScope{})
		if err != nil {
			return err
		}
		out = m.control(c)
		return nil
	})
	return out, err
}
