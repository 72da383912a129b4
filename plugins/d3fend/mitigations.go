package main

import (
	"sort"
	"strings"
)

const (
	keyRelated            = "d3f:related"
	classATTACKMitigation = "d3f:ATTACKEnterpriseMitigation"
)

// mitigationLink is "ATT&CK mitigation M1018 is related to D3FEND technique X".
type mitigationLink struct {
	Mitigation string // M1018
	Technique  string // node id of the D3FEND technique, e.g. d3f:LocalFilePermissions
	D3FENDID   string // the d3fend-id the mappings file itself gives the node, if any
	Line       int
}

// parseMitigations reads D3FEND's attack-mitigations.json: ATT&CK mitigation
// nodes (d3f:M1018) whose d3f:related values are D3FEND techniques.
func parseMitigations(data []byte) ([]mitigationLink, []problem, error) {
	g, problems, err := parseGraph(data)
	if err != nil {
		return nil, nil, err
	}
	var links []mitigationLink
	for _, id := range g.order {
		n := g.nodes[id]
		mid := strings.ToUpper(localName(id))
		isMitigation := mitigationRe.MatchString(mid)
		for _, t := range n.literals(keyType) {
			isMitigation = isMitigation || g.c.compact(t) == classATTACKMitigation
		}
		related := n.refs(g.c, keyRelated)
		if !isMitigation || len(related) == 0 {
			continue
		}
		if !mitigationRe.MatchString(mid) {
			problems = append(problems, problem{Line: n.Line, ID: id, Summary: "skipped ATT&CK mitigation whose id is not M followed by four digits"})
			continue
		}
		sort.Strings(related)
		for _, r := range related {
			l := mitigationLink{Mitigation: mid, Technique: r, Line: n.Line}
			if tn := g.nodes[r]; tn != nil {
				l.D3FENDID = tn.literal(keyD3FENDID)
			}
			links = append(links, l)
		}
	}
	return links, problems, nil
}
