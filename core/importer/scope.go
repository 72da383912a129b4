package importer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/klauspost/compress/gzip"
)

// A scope is the part of a source one run speaks for. Records that several scopes
// bring (a group that Enterprise and ICS both list, a control that two mapping files
// describe) are kept once per scope and the stored entity is their merge, so importing
// the scopes one run each, in any order, gives what one combined run gives; a run
// deprecates only what vanished from its own scope.
//
// An ATT&CK source's scope is the set of domains it holds (its tactics' domains and
// what the records say they were read from): a newer release of the same domain from
// another path replaces the older one, while another domain is merged beside it. Any
// other source's scope is its location.
func runScope(recs []*pending, sourceRef string) string {
	set := map[string]bool{}
	for _, p := range recs {
		switch r := p.rec.(type) {
		case *sdk.Tactic:
			set[r.Domain] = true
		case *sdk.ThreatActor:
			addAll(set, r.SourceDomains)
		case *sdk.Campaign:
			addAll(set, r.SourceDomains)
		case *sdk.Mitigation:
			addAll(set, r.SourceDomains)
		}
	}
	delete(set, "")
	if len(set) == 0 {
		return sourceRef
	}
	doms := make([]string, 0, len(set))
	for d := range set {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	return "attack:" + strings.Join(doms, "+")
}

func addAll(set map[string]bool, xs []string) {
	for _, x := range xs {
		set[x] = true
	}
}

// packRecord compresses a record's JSON for its bookkeeping row: gzip, base64. The
// compressor is klauspost/compress's (issue 11: the standard library's level 1 was
// 0.31 s of an Elastic import's host CPU); its output is ordinary gzip, which
// unpackRecord (or compress/gzip) reads like the rows written before it.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

func packRecord(data []byte) (string, error) {
	var b bytes.Buffer
	// A gzip writer allocates about 1 MB of state: reuse them (Reset writes the same
	// bytes a new writer would). Allocating one per record was most of an import's
	// write phase.
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&b)
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// unpackRecord decodes a bookkeeping row's record ("" for rows older than scopes).
func unpackRecord(row *core.ImportRecord) (sdk.Record, error) {
	if row.Data == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(row.Data)
	if err != nil {
		return nil, fmt.Errorf("stored %s %q of scope %s: %w", row.Kind, row.ExternalID, row.Scope, err)
	}
	r, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("stored %s %q of scope %s: %w", row.Kind, row.ExternalID, row.Scope, err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("stored %s %q of scope %s: %w", row.Kind, row.ExternalID, row.Scope, err)
	}
	return sdk.DecodeRecord(row.Kind, data)
}

// scoped is one scope's version of a record.
type scoped struct {
	scope     string
	sourceRef string
	rec       sdk.Record
}

// mergeScopes merges the versions of one record, ordered by scope so the result does
// not depend on which scope was imported last. The first scope gives the record's own
// fields; links, aliases and domains are the union of every scope's.
func mergeScopes(versions []scoped) (sdk.Record, string) {
	sort.SliceStable(versions, func(i, j int) bool { return versions[i].scope < versions[j].scope })
	if len(versions) == 1 {
		return versions[0].rec, versions[0].sourceRef
	}
	first := versions[0]
	switch r := first.rec.(type) {
	case *sdk.ThreatActor:
		m := *r
		for _, v := range versions[1:] {
			o := v.rec.(*sdk.ThreatActor)
			m.Aliases = union(m.Aliases, o.Aliases)
			m.Motivations = union(m.Motivations, o.Motivations)
			m.Targets = union(m.Targets, o.Targets)
			m.References = unionRefs(m.References, o.References)
			m.SourceDomains = sortedUnion(m.SourceDomains, o.SourceDomains)
			m.Techniques = unionBy(m.Techniques, o.Techniques, func(l sdk.ActorTechnique) string { return l.TechniqueID })
		}
		return &m, first.sourceRef
	case *sdk.Mitigation:
		m := *r
		for _, v := range versions[1:] {
			o := v.rec.(*sdk.Mitigation)
			m.Domains = sortedUnion(m.Domains, o.Domains)
			m.SourceDomains = sortedUnion(m.SourceDomains, o.SourceDomains)
			m.Techniques = unionBy(m.Techniques, o.Techniques, func(l sdk.MitigationLink) string { return l.TechniqueID })
		}
		return &m, first.sourceRef
	case *sdk.Campaign:
		m := *r
		for _, v := range versions[1:] {
			o := v.rec.(*sdk.Campaign)
			m.ActorIDs = sortedUnion(m.ActorIDs, o.ActorIDs)
			m.TechniqueIDs = sortedUnion(m.TechniqueIDs, o.TechniqueIDs)
			// Templates keep their execution order: the first scope's, then the others'.
			m.TemplateIDs = union(m.TemplateIDs, o.TemplateIDs)
			m.References = unionRefs(m.References, o.References)
			m.SourceDomains = sortedUnion(m.SourceDomains, o.SourceDomains)
		}
		return &m, first.sourceRef
	case *sdk.Technique:
		m := *r
		for _, v := range versions[1:] {
			o := v.rec.(*sdk.Technique)
			m.Domains = sortedUnion(m.Domains, o.Domains)
			m.Tactics = sortedUnion(m.Tactics, o.Tactics)
			m.Platforms = sortedUnion(m.Platforms, o.Platforms)
		}
		return &m, first.sourceRef
	case *sdk.ComplianceControl:
		m := *r
		for _, v := range versions[1:] {
			o := v.rec.(*sdk.ComplianceControl)
			m.Mappings = unionBy(m.Mappings, o.Mappings, func(l sdk.ControlMapping) string { return l.TechniqueID + "\x00" + l.MappingType })
			if m.Description == "" {
				m.Description = o.Description
			}
			if m.Family == "" {
				m.Family = o.Family
			}
		}
		return &m, first.sourceRef
	case *sdk.DefensiveTechnique:
		m := *r
		for _, v := range versions[1:] {
			o := v.rec.(*sdk.DefensiveTechnique)
			m.Mappings = unionBy(m.Mappings, o.Mappings, func(l sdk.DefensiveMapping) string {
				return l.TechniqueID + "\x00" + l.Relation + "\x00" + l.Via
			})
		}
		return &m, first.sourceRef
	case *sdk.TestTemplate:
		m := *r
		for _, v := range versions[1:] {
			m.TechniqueIDs = sortedUnion(m.TechniqueIDs, v.rec.(*sdk.TestTemplate).TechniqueIDs)
		}
		return &m, first.sourceRef
	case *sdk.DetectionRule:
		m := *r
		for _, v := range versions[1:] {
			m.TechniqueIDs = sortedUnion(m.TechniqueIDs, v.rec.(*sdk.DetectionRule).TechniqueIDs)
		}
		return &m, first.sourceRef
	}
	// Records without links (tactics, frameworks, intel items): the first scope's.
	return first.rec, first.sourceRef
}

// union appends to a what b has that a lacks, keeping a's order.
func union(a, b []string) []string {
	seen := make(map[string]bool, len(a))
	out := append([]string(nil), a...)
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func sortedUnion(a, b []string) []string {
	out := union(a, b)
	sort.Strings(out)
	return out
}

// unionBy merges two link lists by key, the first list's entry winning, in order.
func unionBy[T any](a, b []T, key func(T) string) []T {
	seen := map[string]bool{}
	var out []T
	for _, l := range append(append([]T(nil), a...), b...) {
		k := key(l)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, l)
	}
	return out
}

func unionRefs(a, b []sdk.Reference) []sdk.Reference {
	return unionBy(a, b, func(r sdk.Reference) string {
		k, _ := json.Marshal(r)
		return string(k)
	})
}
