package main

import (
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

type builder struct {
	ds   *stix.Dataset
	cfg  config
	warn func(pos stix.Position, externalID, summary, detail string)
	// skipped counts objects left out on purpose (revoked).
	skipped int
	// warned keeps one warning per broken relationship, however many actors
	// reach it through their software.
	warned map[string]bool
}

func (b *builder) warnRel(r *stix.Object, owner, summary, detail string) {
	if b.warned == nil {
		b.warned = map[string]bool{}
	}
	if b.warned[r.ID] {
		return
	}
	b.warned[r.ID] = true
	b.warn(r.Pos, owner, summary, detail)
}

func (b *builder) build() []item {
	var out []item
	out = append(out, b.actors()...)
	out = append(out, b.campaigns()...)
	return out
}

// externalID is the ATT&CK id (G0016, C0024), or the STIX id for objects of
// other producers' STIX, which have no ATT&CK id but are actors all the same.
func externalID(o *stix.Object) string {
	if id := o.ExternalID(); id != "" {
		return id
	}
	return o.ID
}

func toRefs(rs []stix.ExternalReference) []sdk.Reference {
	var out []sdk.Reference
	for _, r := range rs {
		out = append(out, sdk.Reference{Source: r.SourceName, URL: r.URL, ExternalID: r.ExternalID, Description: r.Description})
	}
	return out
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

// techniqueOf resolves a uses relationship to a technique id, or "" (with a
// warning when the target is broken rather than simply not a technique).
func (b *builder) techniqueOf(r *stix.Object, owner string) string {
	if !strings.HasPrefix(r.TargetRef, "attack-pattern--") {
		return ""
	}
	t := b.ds.Get(r.TargetRef)
	if t == nil {
		b.warnRel(r, owner, "skipped uses relationship to a technique that is not in the source", r.ID+" -> "+r.TargetRef)
		return ""
	}
	id := t.ExternalID()
	if !techniqueIDRe.MatchString(id) {
		b.warnRel(r, owner, "skipped uses relationship to an attack-pattern without a technique id", r.ID+" -> "+t.ID+" "+t.Name)
		return ""
	}
	return id
}

// actorLinks collects how an actor comes to use each technique.
type actorLinks struct {
	direct    []string        // procedure texts of direct uses, in relationship order
	software  map[string]bool // "Mimikatz (S0002)"
	campaigns map[string]bool // "Operation Wocao (C0014)"
	isDirect  bool
}

// procedure renders the rule documented on actors.
func (l *actorLinks) procedure() string {
	var parts []string
	if len(l.direct) > 0 {
		parts = append(parts, strings.Join(l.direct, "\n\n"))
	} else if l.isDirect && len(l.software)+len(l.campaigns) > 0 {
		// Keeps "starts with Via" meaning "not used directly".
		parts = append(parts, "Used directly (the source gives no procedure).")
	}
	if len(l.software) > 0 {
		parts = append(parts, "Via software: "+strings.Join(sortedKeys(l.software), ", ")+".")
	}
	if len(l.campaigns) > 0 {
		parts = append(parts, "Via campaign: "+strings.Join(sortedKeys(l.campaigns), ", ")+".")
	}
	return strings.Join(parts, "\n\n")
}

func named(o *stix.Object) string {
	name := strings.TrimSpace(o.Name)
	if name == "" {
		return externalID(o)
	}
	return name + " (" + externalID(o) + ")"
}

// actors builds one ThreatActor per intrusion set.
//
// An actor's techniques are, per technique id:
//   - direct: intrusion-set --uses--> attack-pattern; the procedure is the
//     relationship's description (several are joined by a blank line);
//   - via software (via_software, default on): intrusion-set --uses-->
//     malware|tool --uses--> attack-pattern;
//   - via campaign (via_campaigns, default on): campaign --attributed-to-->
//     intrusion-set, campaign --uses--> attack-pattern.
//
// The procedure text keeps them apart: the direct descriptions come first,
// then a paragraph "Via software: Mimikatz (S0002), ..." and one "Via
// campaign: Operation Wocao (C0014), ...". A technique the actor is not
// recorded to use directly therefore has a procedure that starts with
// "Via software:" or "Via campaign:" (a direct use without a description reads
// "Used directly (the source gives no procedure)." when via-paths follow). Revoked or deprecated software and campaigns do not count.
func (b *builder) actors() []item {
	var out []item
	for _, o := range b.ds.OfType("intrusion-set") {
		if o.Revoked && !b.cfg.IncludeRevoked {
			b.skipped++
			continue
		}
		ext := externalID(o)
		ref, _ := o.AttackRef()
		a := &sdk.ThreatActor{ExternalID: ext, STIXID: o.ID, Name: strings.TrimSpace(o.Name), Description: o.Description,
			Aliases: aliases(o), References: toRefs(o.Citations()), URL: ref.URL, Modified: o.Modified,
			Revoked: o.Revoked, Deprecated: o.Deprecated, SourceDomains: b.ds.SourceDomains()}
		a.Country = b.country(o)
		a.Motivations = motivations(o)
		a.Targets = b.targets(o)
		a.Techniques = b.actorTechniques(o, ext)
		out = append(out, item{pos: o.Pos, rec: a})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rec.ID() < out[j].rec.ID() })
	return out
}

func (b *builder) actorTechniques(o *stix.Object, ext string) []sdk.ActorTechnique {
	links := map[string]*actorLinks{}
	link := func(tid string) *actorLinks {
		l := links[tid]
		if l == nil {
			l = &actorLinks{software: map[string]bool{}, campaigns: map[string]bool{}}
			links[tid] = l
		}
		return l
	}
	for _, r := range b.ds.Out(o.ID, "uses") {
		switch {
		case strings.HasPrefix(r.TargetRef, "attack-pattern--"):
			if tid := b.techniqueOf(r, ext); tid != "" {
				l := link(tid)
				l.isDirect = true
				if d := strings.TrimSpace(r.Description); d != "" && !contains(l.direct, d) {
					l.direct = append(l.direct, d)
				}
			}
		case b.cfg.viaSoftware() && (strings.HasPrefix(r.TargetRef, "malware--") || strings.HasPrefix(r.TargetRef, "tool--")):
			sw := b.ds.Get(r.TargetRef)
			if sw == nil {
				b.warn(r.Pos, ext, "skipped uses relationship to software that is not in the source", r.ID+" -> "+r.TargetRef)
				continue
			}
			if sw.Dead() {
				continue
			}
			for _, sr := range b.ds.Out(sw.ID, "uses") {
				if tid := b.techniqueOf(sr, externalID(sw)); tid != "" {
					link(tid).software[named(sw)] = true
				}
			}
		}
	}
	if b.cfg.viaCampaigns() {
		for _, r := range b.ds.In(o.ID, "attributed-to") {
			c := b.ds.Get(r.SourceRef)
			if c == nil || c.Type != "campaign" || c.Dead() {
				continue
			}
			for _, cr := range b.ds.Out(c.ID, "uses") {
				if tid := b.techniqueOf(cr, externalID(c)); tid != "" {
					link(tid).campaigns[named(c)] = true
				}
			}
		}
	}
	ids := make([]string, 0, len(links))
	for tid := range links {
		ids = append(ids, tid)
	}
	sort.Strings(ids)
	var out []sdk.ActorTechnique
	for _, tid := range ids {
		out = append(out, sdk.ActorTechnique{TechniqueID: tid, Procedure: links[tid].procedure()})
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// aliases drops the actor's own name (ATT&CK lists it first) and repeats.
func aliases(o *stix.Object) []string {
	var out []string
	seen := map[string]bool{strings.ToLower(strings.TrimSpace(o.Name)): true}
	for _, a := range o.Aliases {
		a = strings.TrimSpace(a)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		out = append(out, a)
	}
	return out
}

// motivations are STIX's primary then secondary motivations (ATT&CK fills
// neither; other producers' intrusion sets do).
func motivations(o *stix.Object) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range append([]string{o.PrimaryMotivation}, o.SecondaryMotivations...) {
		if m = strings.TrimSpace(m); m != "" && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// country is where the actor originates: a location it originates-from
// (STIX 2.1), else a country field some producers set on the intrusion set.
func (b *builder) country(o *stix.Object) string {
	var found []string
	for _, r := range b.ds.Out(o.ID, "originates-from") {
		if l := b.ds.Get(r.TargetRef); l != nil && l.Type == "location" {
			if c := strings.TrimSpace(l.Country); c != "" {
				found = append(found, c)
			} else if n := strings.TrimSpace(l.Name); n != "" {
				found = append(found, n)
			}
		}
	}
	if len(found) > 0 {
		sort.Strings(found)
		return found[0]
	}
	return strings.TrimSpace(o.Country)
}

// targets are the names of what the actor targets: identities (sectors,
// organisations), locations and vulnerabilities.
func (b *builder) targets(o *stix.Object) []string {
	set := map[string]bool{}
	for _, r := range b.ds.Out(o.ID, "targets") {
		t := b.ds.Get(r.TargetRef)
		if t == nil {
			continue
		}
		switch t.Type {
		case "identity", "location", "vulnerability":
			name := strings.TrimSpace(t.Name)
			if name == "" {
				name = strings.TrimSpace(t.Country)
			}
			if name != "" {
				set[name] = true
			}
		}
	}
	return sortedKeys(set)
}

// campaigns builds one Campaign per ATT&CK campaign: its actors through
// attributed-to (a revoked actor is replaced by the group that absorbed it)
// and the techniques it uses directly.
func (b *builder) campaigns() []item {
	var out []item
	for _, o := range b.ds.OfType("campaign") {
		if o.Revoked && !b.cfg.IncludeRevoked {
			b.skipped++
			continue
		}
		ext := externalID(o)
		ref, _ := o.AttackRef()
		c := &sdk.Campaign{ExternalID: ext, STIXID: o.ID, Name: strings.TrimSpace(o.Name), Description: o.Description,
			CampaignKind: sdk.CampaignAttack, FirstSeen: o.FirstSeen, LastSeen: o.LastSeen,
			References: toRefs(o.Citations()), URL: ref.URL, Revoked: o.Revoked, Deprecated: o.Deprecated,
			SourceDomains: b.ds.SourceDomains()}
		actors := map[string]bool{}
		for _, r := range b.ds.Out(o.ID, "attributed-to") {
			a := b.ds.Get(r.TargetRef)
			if a == nil {
				b.warn(r.Pos, ext, "skipped attribution to an actor that is not in the source", r.ID+" -> "+r.TargetRef)
				continue
			}
			if a.Type != "intrusion-set" && a.Type != "threat-actor" {
				continue
			}
			if a.Revoked && !b.cfg.IncludeRevoked {
				rep, err := b.ds.Replacement(a)
				if err != nil || rep == nil {
					continue
				}
				a = rep
			}
			actors[externalID(a)] = true
		}
		c.ActorIDs = sortedKeys(actors)
		techs := map[string]bool{}
		for _, r := range b.ds.Out(o.ID, "uses") {
			if tid := b.techniqueOf(r, ext); tid != "" {
				techs[tid] = true
			}
		}
		c.TechniqueIDs = sortedKeys(techs)
		out = append(out, item{pos: o.Pos, rec: c})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].rec.ID() < out[j].rec.ID() })
	return out
}
