package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/sdk"
)

// Resolved is a scope as the plugin receives it: the Scope JSON and the records.
type Resolved struct {
	ScopeJSON json.RawMessage
	Records   []sdk.Record
}

// Resolver turns a scope into what an exporter is sent.
type Resolver interface {
	Resolve(ctx context.Context, scope core.ExportScope) (*Resolved, error)
}

// StoreResolver resolves scopes from the store: detection rules by query, and
// coverage through the coverage service (the same numbers as the coverage API).
type StoreResolver struct {
	Store core.Store
	// Coverage computes coverage scopes; nil uses coverage.New(Store, nil).
	Coverage *coverage.Service
	// BaseURL is the web address of Aegis, for links back in artifacts.
	BaseURL string
}

// Resolve implements Resolver.
func (r StoreResolver) Resolve(ctx context.Context, scope core.ExportScope) (*Resolved, error) {
	sc := &sdk.Scope{Kind: scope.Kind, ID: scope.ID, Base: scope.Base, Domain: scope.Domain, BaseURL: r.BaseURL,
		GeneratedAt: core.Now()}
	var recs []sdk.Record
	var err error
	switch scope.Kind {
	case core.ScopeRules:
		recs, err = r.rules(ctx, scope.Rules, sc)
	default:
		recs, err = r.coverage(ctx, scope, sc)
	}
	if err != nil {
		return nil, err
	}
	sc.Records = map[string]int{}
	for _, rec := range recs {
		sc.Records[rec.Kind()]++
	}
	raw, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	return &Resolved{ScopeJSON: raw, Records: recs}, nil
}

// rules resolves a rules scope: every rule the filter selects, in title order. The
// filter defaults to active rules: inactive ones were switched off by a user.
func (r StoreResolver) rules(ctx context.Context, q *core.RuleQuery, sc *sdk.Scope) ([]sdk.Record, error) {
	if q == nil {
		q = &core.RuleQuery{}
	}
	f := core.RuleFilter{Search: q.Search, TechniqueID: q.TechniqueID, Platform: q.Platform, Source: q.Source,
		Level: q.Level, Status: q.Status, Page: core.Page{Limit: 500}}
	if f.Status == "" {
		f.Status = "active"
	}
	sc.Rules = map[string]string{}
	for k, v := range map[string]string{"search": q.Search, "technique": q.TechniqueID, "platform": q.Platform,
		"source": q.Source, "level": q.Level, "status": f.Status, "format": q.Format} {
		if v != "" {
			sc.Rules[k] = v
		}
	}
	sc.Title = "Detection rules"
	var out []sdk.Record
	err := r.Store.View(ctx, func(tx core.Tx) error {
		for {
			page, total, err := tx.ListDetectionRules(ctx, f)
			if err != nil {
				return err
			}
			for _, dr := range page {
				if q.Format != "" && dr.Format != q.Format {
					continue
				}
				rec, err := ruleRecord(dr)
				if err != nil {
					return err
				}
				out = append(out, rec)
			}
			f.Offset += len(page)
			if len(page) == 0 || f.Offset >= total {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ruleRecord turns a stored rule into the record an exporter reads. The record's
// metadata says where the rule lives in Aegis.
func ruleRecord(dr *core.DetectionRule) (*sdk.DetectionRule, error) {
	rec := &sdk.DetectionRule{ExternalID: dr.ExternalID, Title: dr.Title, Description: dr.Description, Format: dr.Format,
		RuleType: dr.RuleType, Status: dr.Status, Level: dr.Level, Severity: dr.Severity, RiskScore: dr.RiskScore, Author: dr.Author,
		Tags: dr.Tags, TechniqueIDs: dr.TechniqueIDs, Tactics: dr.Tactics, Language: dr.Language, Query: dr.Query,
		IndexPatterns: dr.IndexPatterns, Raw: dr.Raw, FalsePositives: dr.FalsePositives, Deprecated: dr.Deprecated}
	if len(dr.LogSource) > 0 {
		if err := json.Unmarshal(dr.LogSource, &rec.LogSource); err != nil {
			return nil, fmt.Errorf("rule %s: log source: %w", dr.ExternalID, err)
		}
	}
	if len(dr.Detection) > 0 && string(dr.Detection) != "null" && string(dr.Detection) != "{}" {
		if err := json.Unmarshal(dr.Detection, &rec.Detection); err != nil {
			return nil, fmt.Errorf("rule %s: detection: %w", dr.ExternalID, err)
		}
	}
	if len(dr.References) > 0 {
		_ = json.Unmarshal(dr.References, &rec.References)
	}
	rec.Metadata = map[string]any{"aegis_id": dr.ID, "source": dr.Source, "file": dr.SourceRef}
	sort.Strings(rec.TechniqueIDs)
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("rule %s (%s): %w", dr.ExternalID, dr.ID, err)
	}
	return rec, nil
}
