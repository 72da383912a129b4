package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aegis-sec/aegis/plugins/internal/stix"
	"github.com/aegis-sec/aegis/sdk"
)

var techniqueIDRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// item is a record and where its object was read.
type item struct {
	rec sdk.Record
	pos stix.Position
}

// builder turns a Dataset into ATT&CK records.
type builder struct {
	ds      *stix.Dataset
	release string // config override
	warn    func(pos stix.Position, externalID, summary, detail string)
	// unknownRelease is set when some technique could not be given a release.
	unknownRelease bool
}

// build returns tactics, then techniques (parents before their
// sub-techniques), then mitigations, each sorted by external id.
func (b *builder) build() []item {
	var out []item
	out = append(out, b.tactics()...)
	out = append(out, b.techniques()...)
	out = append(out, b.mitigations()...)
	return out
}

func toRefs(rs []stix.ExternalReference) []sdk.Reference {
	var out []sdk.Reference
	for _, r := range rs {
		out = append(out, sdk.Reference{Source: r.SourceName, URL: r.URL, ExternalID: r.ExternalID, Description: r.Description})
	}
	return out
}

func (b *builder) tactics() []item {
	var out []item
	for _, o := range b.ds.OfType("x-mitre-tactic") {
		ref, ok := o.AttackRef()
		if !ok {
			b.warn(o.Pos, o.ID, "skipped tactic without an ATT&CK id", o.Name)
			continue
		}
		doms := b.ds.Domains(o)
		if len(doms) == 0 {
			b.warn(o.Pos, ref.ExternalID, "skipped tactic of unknown domain",
				"neither x_mitre_domains, a matrix nor the source's layout says which ATT&CK domain "+ref.ExternalID+" belongs to")
			continue
		}
		if len(doms) > 1 {
			// Tactic ids differ per domain (TA0001 vs TA0027), so one object
			// in several domains is a data error; keep the first.
			b.warn(o.Pos, ref.ExternalID, "tactic claims several domains; the first is kept", strings.Join(doms, ", "))
		}
		out = append(out, item{pos: o.Pos, rec: &sdk.Tactic{
			ExternalID: ref.ExternalID, STIXID: o.ID, Name: o.Name, Shortname: o.Shortname, Domain: doms[0],
			Order: b.ds.MatrixOrder(o), Description: o.Description, URL: ref.URL, Modified: o.Modified, Deprecated: o.Dead(),
		}})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, c := out[i].rec.(*sdk.Tactic), out[j].rec.(*sdk.Tactic)
		if a.Domain != c.Domain {
			return a.Domain < c.Domain
		}
		return a.ExternalID < c.ExternalID
	})
	return out
}

// better reports whether a should represent an external id rather than b
// when two attack-patterns share one: the live one, then the newer one.
func better(a, b *stix.Object) bool {
	if a.Dead() != b.Dead() {
		return !a.Dead()
	}
	if !a.Modified.Equal(b.Modified) {
		return a.Modified.After(b.Modified)
	}
	return a.ID < b.ID
}

// techniqueObjects returns one attack-pattern per ATT&CK id.
func (b *builder) techniqueObjects() map[string]*stix.Object {
	byExt := map[string]*stix.Object{}
	for _, o := range b.ds.OfType("attack-pattern") {
		ext := o.ExternalID()
		if ext == "" {
			b.warn(o.Pos, o.ID, "skipped attack-pattern without an ATT&CK id", o.Name)
			continue
		}
		if old, dup := byExt[ext]; dup {
			keep, drop := old, o
			if better(o, old) {
				keep, drop = o, old
			}
			b.warn(drop.Pos, ext, "two attack-patterns share "+ext+"; "+keep.ID+" is kept",
				fmt.Sprintf("%s (%s) is dropped", drop.ID, drop.Name))
			byExt[ext] = keep
			continue
		}
		byExt[ext] = o
	}
	return byExt
}

func (b *builder) techniques() []item {
	byExt := b.techniqueObjects()
	ids := make([]string, 0, len(byExt))
	for id := range byExt {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]item, 0, len(ids))
	for _, ext := range ids {
		o := byExt[ext]
		ref, _ := o.AttackRef()
		t := &sdk.Technique{
			ExternalID: ext, STIXID: o.ID, Name: o.Name, Description: o.Description,
			Tactics: b.tacticsOf(o), Domains: b.ds.Domains(o), Platforms: platforms(o.Platforms),
			Version: o.Version, Created: o.Created, Modified: o.Modified, Revoked: o.Revoked, Deprecated: o.Deprecated,
			URL: ref.URL, References: toRefs(o.Citations()),
		}
		if parent, _, sub := strings.Cut(ext, "."); sub {
			t.ParentID = parent
			b.checkParent(o, ext, parent)
		} else if o.IsSubtechnique {
			b.warn(o.Pos, ext, "x_mitre_is_subtechnique is set on "+ext+", which has no sub-technique suffix; imported as a technique", "")
		}
		t.DataSources = b.dataSources(o)
		t.DetectionText = b.detectionText(o)
		t.ReleaseVersion = b.release
		if t.ReleaseVersion == "" {
			t.ReleaseVersion = b.ds.Release(o)
		}
		if t.ReleaseVersion == "" {
			b.unknownRelease = true
		}
		if o.Revoked {
			rep, err := b.ds.Replacement(o)
			switch {
			case err != nil:
				b.warn(o.Pos, ext, "replacement of revoked technique "+ext+" left open", err.Error())
			case rep == nil:
				// Revoked without a successor: the core keeps it as revoked.
			case rep.Type != "attack-pattern" || rep.ExternalID() == "":
				b.warn(o.Pos, ext, "replacement of revoked technique "+ext+" left open",
					fmt.Sprintf("it is revoked by %s %s, which is not an ATT&CK technique", rep.Type, rep.ID))
			case rep.ExternalID() != ext:
				// The direct replacement is kept, not the end of the chain: the core
				// follows A → B → C itself and says so, so no step is lost.
				t.RevokedBy = rep.ExternalID()
				if next := b.directReplacement(o); next != "" && next != ext {
					t.RevokedBy = next
				}
			}
		}
		out = append(out, item{pos: o.Pos, rec: t})
	}
	return out
}

// directReplacement is the ATT&CK id of the technique that revoked o (the first
// step of a chain), or "" when that is not an ATT&CK technique.
func (b *builder) directReplacement(o *stix.Object) string {
	rels := b.ds.Out(o.ID, "revoked-by")
	if len(rels) == 0 {
		return ""
	}
	next := b.ds.Get(rels[0].TargetRef)
	if next == nil || next.Type != "attack-pattern" || !techniqueIDRe.MatchString(next.ExternalID()) {
		return ""
	}
	return next.ExternalID()
}

// checkParent compares the id-derived parent with subtechnique-of.
func (b *builder) checkParent(o *stix.Object, ext, parent string) {
	for _, r := range b.ds.Out(o.ID, "subtechnique-of") {
		p := b.ds.Get(r.TargetRef)
		if p == nil {
			b.warn(r.Pos, ext, "subtechnique-of names a parent that is not in the source", r.TargetRef)
			continue
		}
		if pe := p.ExternalID(); pe != parent {
			b.warn(r.Pos, ext, fmt.Sprintf("subtechnique-of says the parent of %s is %s; the id says %s, which is kept", ext, pe, parent), r.ID)
		}
	}
}

// tacticsOf returns the ATT&CK kill-chain phases of a technique, sorted.
func (b *builder) tacticsOf(o *stix.Object) []string {
	set := map[string]bool{}
	for _, k := range o.KillChainPhases {
		if stix.IsAttackKillChain(k.KillChainName) && strings.TrimSpace(k.PhaseName) != "" {
			set[strings.TrimSpace(k.PhaseName)] = true
		}
	}
	return sortedKeys(set)
}

// platforms sorts and de-duplicates, dropping ATT&CK for ICS's placeholder
// "None", which means that no platform applies rather than a platform.
func platforms(in []string) []string {
	set := map[string]bool{}
	for _, p := range in {
		if p = strings.TrimSpace(p); p != "" && p != "None" {
			set[p] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(set map[string]bool) []string {
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// componentName names a data component as ATT&CK did before v18,
// "Data Source: Component", when its data source is known.
func (b *builder) componentName(dc *stix.Object) string {
	if dc.DataSourceRef != "" {
		if src := b.ds.Get(dc.DataSourceRef); src != nil && src.Name != "" {
			return src.Name + ": " + dc.Name
		}
	}
	return dc.Name
}

// dataSources gathers what a technique is detected with: x_mitre_data_sources
// (before v18), data components that detect it (v9 to v17), and the data
// components the analytics of its detection strategies read (v18).
func (b *builder) dataSources(o *stix.Object) []string {
	set := map[string]bool{}
	for _, s := range o.DataSources {
		if s = strings.TrimSpace(s); s != "" {
			set[s] = true
		}
	}
	for _, r := range b.ds.In(o.ID, "detects") {
		src := b.ds.Get(r.SourceRef)
		if src == nil || src.Dead() {
			continue
		}
		switch src.Type {
		case "x-mitre-data-component":
			if n := b.componentName(src); n != "" {
				set[n] = true
			}
		case "x-mitre-detection-strategy":
			for _, an := range b.analytics(src) {
				for _, ls := range an.LogSources {
					if dc := b.ds.Get(ls.DataComponentRef); dc != nil && dc.Name != "" {
						set[b.componentName(dc)] = true
					}
				}
			}
		}
	}
	return sortedKeys(set)
}

// analytics returns a detection strategy's live analytics, sorted by id.
func (b *builder) analytics(ds *stix.Object) []*stix.Object {
	var out []*stix.Object
	for _, ref := range ds.AnalyticRefs {
		if an := b.ds.Get(ref); an != nil && !an.Dead() {
			out = append(out, an)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label() < out[j].Label() })
	return out
}

// detectionText is x_mitre_detection followed, from v18 on, by a summary of
// each detection strategy: its analytics with platforms, what they look for
// and the log sources they read.
func (b *builder) detectionText(o *stix.Object) string {
	var parts []string
	if d := strings.TrimSpace(o.Detection); d != "" {
		parts = append(parts, d)
	}
	var strategies []*stix.Object
	for _, r := range b.ds.In(o.ID, "detects") {
		if src := b.ds.Get(r.SourceRef); src != nil && src.Type == "x-mitre-detection-strategy" && !src.Dead() {
			strategies = append(strategies, src)
		}
	}
	sort.Slice(strategies, func(i, j int) bool { return strategies[i].Label() < strategies[j].Label() })
	for i, s := range strategies {
		if i > 0 && s.ID == strategies[i-1].ID {
			continue
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "Detection strategy %s: %s", s.Label(), s.Name)
		for _, an := range b.analytics(s) {
			sb.WriteString("\n- ")
			sb.WriteString(an.Label())
			if ps := platforms(an.Platforms); len(ps) > 0 {
				sb.WriteString(" (" + strings.Join(ps, ", ") + ")")
			}
			sb.WriteString(": ")
			sb.WriteString(strings.TrimSpace(an.Description))
			var logs []string
			for _, ls := range an.LogSources {
				l := ls.Name
				if ls.Channel != "" && ls.Channel != "None" {
					l += " (" + ls.Channel + ")"
				}
				if l != "" {
					logs = append(logs, l)
				}
			}
			if len(logs) > 0 {
				sb.WriteString(" Log sources: " + strings.Join(logs, "; ") + ".")
			}
		}
		parts = append(parts, sb.String())
	}
	return strings.Join(parts, "\n\n")
}

func (b *builder) mitigations() []item {
	byExt := map[string]*stix.Object{}
	for _, o := range b.ds.OfType("course-of-action") {
		ext := o.ExternalID()
		if ext == "" {
			b.warn(o.Pos, o.ID, "skipped course-of-action without an ATT&CK id", o.Name)
			continue
		}
		if old, dup := byExt[ext]; dup {
			keep, drop := old, o
			if better(o, old) {
				keep, drop = o, old
			}
			b.warn(drop.Pos, ext, "two courses of action share "+ext+"; "+keep.ID+" is kept", drop.ID+" is dropped")
			byExt[ext] = keep
			continue
		}
		byExt[ext] = o
	}
	ids := make([]string, 0, len(byExt))
	for id := range byExt {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]item, 0, len(ids))
	for _, ext := range ids {
		o := byExt[ext]
		ref, _ := o.AttackRef()
		m := &sdk.Mitigation{ExternalID: ext, STIXID: o.ID, Name: o.Name, Description: o.Description,
			Domains: b.ds.Domains(o), URL: ref.URL, Deprecated: o.Deprecated, Revoked: o.Revoked,
			SourceDomains: b.ds.SourceDomains()}
		seen := map[string]bool{}
		for _, r := range b.ds.Out(o.ID, "mitigates") {
			t := b.ds.Get(r.TargetRef)
			if t == nil {
				b.warn(r.Pos, ext, "mitigates names a technique that is not in the source", r.ID+" -> "+r.TargetRef)
				continue
			}
			tid := t.ExternalID()
			if t.Type != "attack-pattern" || tid == "" || seen[tid] {
				continue
			}
			if !techniqueIDRe.MatchString(tid) {
				b.warn(r.Pos, ext, "skipped mitigates link to "+tid+", which is not a technique id", r.ID)
				continue
			}
			seen[tid] = true
			m.Techniques = append(m.Techniques, sdk.MitigationLink{TechniqueID: tid, Description: r.Description})
		}
		sort.SliceStable(m.Techniques, func(i, j int) bool { return m.Techniques[i].TechniqueID < m.Techniques[j].TechniqueID })
		out = append(out, item{pos: o.Pos, rec: m})
	}
	return out
}
