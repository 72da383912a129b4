// Package reference reads the data the importers bring for the app: threat actors,
// imported campaigns and adversary profiles, mitigations, compliance frameworks and
// controls, intel items and D3FEND defences. It is read-only: imports write this data.
package reference

import (
	"context"

	"github.com/aegis-sec/aegis/core"
)

// Service answers the reference reads.
type Service struct{ store core.Store }

// New returns the service.
func New(st core.Store) *Service { return &Service{store: st} }

// List is one page of a listing and the total that match.
type List[T any] struct {
	Items []T
	Total int
}

func view[T any](ctx context.Context, st core.Store, fn func(tx core.Tx) (T, error)) (T, error) {
	var out T
	err := st.View(ctx, func(tx core.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

func list[T any](ctx context.Context, st core.Store, fn func(tx core.Tx) ([]T, int, error)) (List[T], error) {
	return view(ctx, st, func(tx core.Tx) (List[T], error) {
		items, total, err := fn(tx)
		return List[T]{items, total}, err
	})
}

// ActorDetail is an actor with its techniques (and procedure texts) and the imported
// campaigns attributed to it.
type ActorDetail struct {
	*core.ThreatActor
	Campaigns []*core.ActorCampaign `json:"campaigns"`
}

// ThreatActors lists actors.
func (s *Service) ThreatActors(ctx context.Context, f core.ActorFilter) (List[*core.ThreatActor], error) {
	f.TechniqueID = core.TechniqueFilterID(f.TechniqueID)
	return list(ctx, s.store, func(tx core.Tx) ([]*core.ThreatActor, int, error) { return tx.ListThreatActors(ctx, f) })
}

// ActorIndex lists every actor's summary by name in one answer, deprecated and revoked
// ones included only on request: the pickers' list.
func (s *Service) ActorIndex(ctx context.Context, includeDeprecated bool) ([]core.ActorSummary, error) {
	return view(ctx, s.store, func(tx core.Tx) ([]core.ActorSummary, error) {
		out := []core.ActorSummary{}
		for off := 0; ; off += 500 {
			page, total, err := tx.ListThreatActors(ctx, core.ActorFilter{IncludeDeprecated: includeDeprecated, Page: core.Page{Limit: 500, Offset: off}})
			if err != nil {
				return nil, err
			}
			for _, a := range page {
				out = append(out, a.Summary())
			}
			if off+500 >= total || len(page) == 0 {
				return out, nil
			}
		}
	})
}

// ThreatActor finds an actor by Aegis id or group id (G0016).
func (s *Service) ThreatActor(ctx context.Context, ref string) (*ActorDetail, error) {
	return view(ctx, s.store, func(tx core.Tx) (*ActorDetail, error) {
		a, err := core.ThreatActorByRef(ctx, tx, ref)
		if err != nil {
			return nil, err
		}
		cs, err := tx.CampaignsOfActor(ctx, a.ExternalID)
		return &ActorDetail{ThreatActor: a, Campaigns: cs}, err
	})
}

// CampaignProfiles lists imported campaigns and adversary profiles.
func (s *Service) CampaignProfiles(ctx context.Context, f core.ProfileFilter) (List[*core.CampaignProfile], error) {
	f.TechniqueID, f.ActorID = core.TechniqueFilterID(f.TechniqueID), core.NormalizeActorID(f.ActorID)
	return list(ctx, s.store, func(tx core.Tx) ([]*core.CampaignProfile, int, error) { return tx.ListCampaignProfiles(ctx, f) })
}

// CampaignProfile finds one.
func (s *Service) CampaignProfile(ctx context.Context, id string) (*core.CampaignProfile, error) {
	return view(ctx, s.store, func(tx core.Tx) (*core.CampaignProfile, error) { return tx.CampaignProfileByID(ctx, id) })
}

// Mitigations lists mitigations.
func (s *Service) Mitigations(ctx context.Context, f core.MitigationFilter) (List[*core.Mitigation], error) {
	f.TechniqueID = core.TechniqueFilterID(f.TechniqueID)
	return list(ctx, s.store, func(tx core.Tx) ([]*core.Mitigation, int, error) { return tx.ListMitigations(ctx, f) })
}

// Mitigation finds one with the techniques it mitigates.
func (s *Service) Mitigation(ctx context.Context, id string) (*core.Mitigation, error) {
	return view(ctx, s.store, func(tx core.Tx) (*core.Mitigation, error) { return tx.MitigationByID(ctx, id) })
}

// Frameworks lists compliance frameworks.
func (s *Service) Frameworks(ctx context.Context) ([]*core.ComplianceFramework, error) {
	return view(ctx, s.store, func(tx core.Tx) ([]*core.ComplianceFramework, error) { return tx.ListComplianceFrameworks(ctx) })
}

// Controls lists compliance controls.
func (s *Service) Controls(ctx context.Context, f core.ControlFilter) (List[*core.ComplianceControl], error) {
	f.TechniqueID = core.TechniqueFilterID(f.TechniqueID)
	return list(ctx, s.store, func(tx core.Tx) ([]*core.ComplianceControl, int, error) { return tx.ListComplianceControls(ctx, f) })
}

// IntelItems lists intel items.
func (s *Service) IntelItems(ctx context.Context, f core.IntelFilter) (List[*core.IntelItem], error) {
	f.TechniqueID, f.ActorID = core.TechniqueFilterID(f.TechniqueID), core.NormalizeActorID(f.ActorID)
	return list(ctx, s.store, func(tx core.Tx) ([]*core.IntelItem, int, error) { return tx.ListIntelItems(ctx, f) })
}

// IntelItem finds one.
func (s *Service) IntelItem(ctx context.Context, id string) (*core.IntelItem, error) {
	return view(ctx, s.store, func(tx core.Tx) (*core.IntelItem, error) { return tx.IntelItemByID(ctx, id) })
}

// IntelSummary counts intel items.
func (s *Service) IntelSummary(ctx context.Context, f core.IntelFilter) (*core.IntelSummary, error) {
	f.TechniqueID, f.ActorID = core.TechniqueFilterID(f.TechniqueID), core.NormalizeActorID(f.ActorID)
	return view(ctx, s.store, func(tx core.Tx) (*core.IntelSummary, error) { return tx.SummarizeIntel(ctx, f) })
}

// Defenses lists D3FEND techniques.
func (s *Service) Defenses(ctx context.Context, f core.DefenseFilter) (List[*core.DefensiveTechnique], error) {
	f.TechniqueID = core.TechniqueFilterID(f.TechniqueID)
	return list(ctx, s.store, func(tx core.Tx) ([]*core.DefensiveTechnique, int, error) { return tx.ListDefensiveTechniques(ctx, f) })
}

// Defense finds one D3FEND technique with its ATT&CK mappings.
func (s *Service) Defense(ctx context.Context, id string) (*core.DefensiveTechnique, error) {
	return view(ctx, s.store, func(tx core.Tx) (*core.DefensiveTechnique, error) { return tx.DefensiveTechniqueByID(ctx, id) })
}
