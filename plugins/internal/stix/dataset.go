package stix

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ATT&CK domains, as x_mitre_domains spells them.
const (
	DomainEnterprise = "enterprise-attack"
	DomainMobile     = "mobile-attack"
	DomainICS        = "ics-attack"
)

// Domains lists the ATT&CK domains in their usual order.
var Domains = []string{DomainEnterprise, DomainMobile, DomainICS}

// IsDomain reports whether s is one of Domains.
func IsDomain(s string) bool {
	for _, d := range Domains {
		if s == d {
			return true
		}
	}
	return false
}

// killChainDomains maps ATT&CK kill-chain names to their domain: objects
// from before x_mitre_domains existed (v6.3) say their domain only here.
var killChainDomains = map[string]string{
	"mitre-attack":        DomainEnterprise,
	"mitre-mobile-attack": DomainMobile,
	"mitre-ics-attack":    DomainICS,
}

// IsAttackKillChain reports whether a kill_chain_name is one of ATT&CK's.
func IsAttackKillChain(name string) bool {
	_, ok := killChainDomains[name]
	return ok
}

// DomainFromName finds the domain in a collection or matrix name such as
// "ICS ATT&CK" or "Enterprise ATT&CK", or in a domain id itself.
func DomainFromName(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if IsDomain(n) {
		return n
	}
	words := strings.FieldsFunc(n, func(r rune) bool { return r < 'a' || r > 'z' })
	for _, w := range words {
		switch w {
		case "enterprise":
			return DomainEnterprise
		case "mobile":
			return DomainMobile
		case "ics":
			return DomainICS
		}
	}
	return ""
}

// domainFromPath finds a domain in a slash-separated path: a folder named
// after it (mitre/cti's enterprise-attack/attack-pattern/...) or a file
// named after it (attack-stix-data's ics-attack-18.1.json).
func domainFromPath(rel string) string {
	segs := strings.Split(rel, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := strings.ToLower(segs[i])
		for _, d := range Domains {
			if s == d || strings.HasPrefix(s, d+"-") || strings.HasPrefix(s, d+".") {
				return d
			}
		}
	}
	return ""
}

// CompareVersions compares dotted release numbers numerically ("9.0" < "18.1");
// parts that are not numbers compare as text.
func CompareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(strings.TrimSpace(a), "v"), ".")
	pb := strings.Split(strings.TrimPrefix(strings.TrimSpace(b), "v"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		switch {
		case ex == nil && ey == nil:
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
		default:
			if c := strings.Compare(x, y); c != 0 {
				return c
			}
		}
	}
	return 0
}

// releaseInName matches release numbers in the names MITRE gives releases:
// mitre/cti tags (ATT&CK-v17.1, which GitHub archives as cti-ATT-CK-v17.1),
// mirrors named after them (mitre-cti-v17.1) and attack-stix-data bundles
// (enterprise-attack-17.1.json).
var releaseInName = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(?:att(?:&|%26|-)?ck|cti)[-_ ]?v(\d+(?:\.\d+)?)`),
	regexp.MustCompile(`(?i)(?:enterprise|mobile|ics)-attack-(\d+(?:\.\d+)?)\.json`),
}

// ReleaseFromName returns the ATT&CK release a source's name carries, or "".
// It is the last resort: mitre/cti's one-object-per-file layout holds no
// x-mitre-collection, so nothing in the data says which release it is.
func ReleaseFromName(src string) string {
	for _, re := range releaseInName {
		if m := re.FindStringSubmatch(src); m != nil {
			return m[1]
		}
	}
	return ""
}

// Dataset is every object Load read, merged by STIX id.
type Dataset struct {
	objects map[string]*Object
	byType  map[string][]*Object
	out     map[string][]*Object // source id + "\x00" + relationship type
	in      map[string][]*Object // target id + "\x00" + relationship type
	matrix  map[string]string    // tactic id -> domain of the matrix listing it
	// sourceDomains caches SourceDomains.
	sourceDomains []string
	// DefaultRelease is the release taken from the source's name, for
	// objects that no collection or index placed in a release.
	DefaultRelease string
	// Files is the number of files (or TAXII pages) read.
	Files int
}

func newDataset() *Dataset {
	return &Dataset{objects: map[string]*Object{}}
}

// add merges o into the dataset. Of two copies of one object the later
// modified wins, as STIX versioning says; on a tie the first read stays, so
// the outcome does not depend on anything but file order.
func (d *Dataset) add(o *Object, c container) {
	old, ok := d.objects[o.ID]
	if !ok {
		o.containers = appendContainer(o.containers, c)
		d.objects[o.ID] = o
		return
	}
	if o.Modified.After(old.Modified) {
		o.containers = old.containers
		d.objects[o.ID] = o
		old = o
	}
	old.containers = appendContainer(old.containers, c)
}

func appendContainer(cs []container, c container) []container {
	for _, x := range cs {
		if x == c {
			return cs
		}
	}
	return append(cs, c)
}

// finish builds the lookups once everything is read.
func (d *Dataset) finish() {
	d.byType = map[string][]*Object{}
	d.out = map[string][]*Object{}
	d.in = map[string][]*Object{}
	d.matrix = map[string]string{}
	ids := make([]string, 0, len(d.objects))
	for id := range d.objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := d.objects[id]
		d.byType[o.Type] = append(d.byType[o.Type], o)
		if o.Type == "relationship" && !o.Dead() && o.RelationshipType != "" {
			d.out[o.SourceRef+"\x00"+o.RelationshipType] = append(d.out[o.SourceRef+"\x00"+o.RelationshipType], o)
			d.in[o.TargetRef+"\x00"+o.RelationshipType] = append(d.in[o.TargetRef+"\x00"+o.RelationshipType], o)
		}
	}
	for _, m := range d.byType["x-mitre-matrix"] {
		dom := DomainFromName(m.ExternalID())
		if dom == "" {
			dom = DomainFromName(m.Name)
		}
		if dom == "" {
			continue
		}
		for _, t := range m.TacticRefs {
			if _, ok := d.matrix[t]; !ok {
				d.matrix[t] = dom
			}
		}
	}
}

// SourceDomains returns the ATT&CK domains the source itself holds: those of
// its matrices and of the collections read, never an object's
// x_mitre_domains (a group shared by Enterprise and ICS lists both in each
// domain's bundle). The core keeps what each domain brings apart by it.
func (d *Dataset) SourceDomains() []string {
	if d.sourceDomains != nil {
		return append([]string(nil), d.sourceDomains...)
	}
	set := map[string]bool{}
	for _, dom := range d.matrix {
		set[dom] = true
	}
	for _, o := range d.objects {
		for _, c := range o.containers {
			if c.Domain != "" {
				set[c.Domain] = true
			}
		}
	}
	out := []string{}
	for _, dom := range Domains {
		if set[dom] {
			out = append(out, dom)
		}
	}
	d.sourceDomains = out
	return append([]string(nil), out...)
}

// Len is the number of distinct objects.
func (d *Dataset) Len() int { return len(d.objects) }

// Get returns the object with the given STIX id, or nil.
func (d *Dataset) Get(id string) *Object { return d.objects[id] }

// OfType returns the objects of one STIX type, sorted by id.
func (d *Dataset) OfType(typ string) []*Object { return d.byType[typ] }

// Out returns the live (neither revoked nor deprecated) relationships of the
// given type whose source is id, sorted by relationship id.
func (d *Dataset) Out(id, relType string) []*Object { return d.out[id+"\x00"+relType] }

// In returns the live relationships of the given type whose target is id.
func (d *Dataset) In(id, relType string) []*Object { return d.in[id+"\x00"+relType] }

// Domains returns the object's ATT&CK domains, sorted: x_mitre_domains when
// it names known domains, else the domains of the collections, folders and
// matrices it was found in and of its kill-chain phases.
func (d *Dataset) Domains(o *Object) []string {
	set := map[string]bool{}
	for _, x := range o.Domains {
		if x = strings.ToLower(strings.TrimSpace(x)); IsDomain(x) {
			set[x] = true
		}
	}
	if len(set) == 0 {
		for _, c := range o.containers {
			if c.Domain != "" {
				set[c.Domain] = true
			}
		}
		for _, k := range o.KillChainPhases {
			if dom := killChainDomains[k.KillChainName]; dom != "" {
				set[dom] = true
			}
		}
		if dom := d.matrix[o.ID]; dom != "" {
			set[dom] = true
		}
	}
	out := make([]string, 0, len(set))
	for _, dom := range Domains {
		if set[dom] {
			out = append(out, dom)
		}
	}
	return out
}

// MatrixOrder returns a tactic's 1-based column in the matrix of its domain,
// or 0 when no matrix lists it.
func (d *Dataset) MatrixOrder(tactic *Object) int {
	best := 0
	for _, m := range d.byType["x-mitre-matrix"] {
		for i, ref := range m.TacticRefs {
			if ref == tactic.ID && (best == 0 || i+1 < best) {
				best = i + 1
			}
		}
	}
	return best
}

// Release returns the ATT&CK release the object was read from: the newest
// release of the collections it was found in, else DefaultRelease.
func (d *Dataset) Release(o *Object) string {
	best := ""
	for _, c := range o.containers {
		if c.Release != "" && (best == "" || CompareVersions(c.Release, best) > 0) {
			best = c.Release
		}
	}
	if best == "" {
		return d.DefaultRelease
	}
	return best
}

// Replacement follows revoked-by relationships from a revoked object to the
// object that replaces it today: chains (A revoked by B, B revoked by C) end
// at C. It returns nil without error when the object names no replacement,
// and an error when the chain is ambiguous, broken or circular, so that the
// caller leaves the replacement open rather than guess.
func (d *Dataset) Replacement(o *Object) (*Object, error) {
	seen := map[string]bool{o.ID: true}
	cur := o
	for {
		rels := d.Out(cur.ID, "revoked-by")
		if len(rels) == 0 {
			if cur == o {
				return nil, nil
			}
			return cur, nil
		}
		targets := map[string]bool{}
		for _, r := range rels {
			targets[r.TargetRef] = true
		}
		if len(targets) > 1 {
			names := make([]string, 0, len(targets))
			for t := range targets {
				if x := d.Get(t); x != nil {
					t = x.Label()
				}
				names = append(names, t)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("%s is revoked by several objects (%s)", cur.Label(), strings.Join(names, ", "))
		}
		next := d.Get(rels[0].TargetRef)
		if next == nil {
			return nil, fmt.Errorf("%s is revoked by %s, which is not in the source", cur.Label(), rels[0].TargetRef)
		}
		if seen[next.ID] {
			return nil, fmt.Errorf("revoked-by relationships from %s go round in a circle", o.Label())
		}
		seen[next.ID] = true
		cur = next
		if !cur.Revoked {
			return cur, nil
		}
	}
}
