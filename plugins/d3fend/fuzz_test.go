package main

import (
	"bytes"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/jsonpos"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// FuzzOntology runs the whole ontology path: whatever the graph, no panic and
// every technique that comes out is a valid record.
func FuzzOntology(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/mini/ontologies/d3fend.json", "testdata/mini/api/mappings/attack-mitigations.json")
	f.Add([]byte(`[{"@id":"d3f:A","d3f:d3fend-id":"D3-A","rdfs:label":"A","rdfs:subClassOf":[{"@id":"d3f:B"}]},{"@id":"d3f:B","rdfs:subClassOf":{"@id":"d3f:A"}}]`))
	f.Add([]byte(`{"@context":[1],"@graph":[{"@id":"d3f:DefensiveTechnique","rdfs:subClassOf":{"@id":"d3f:DefensiveTechnique"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, problems, err := parseGraph(data)
		if err != nil {
			return
		}
		for _, p := range problems {
			if p.Line < 1 || p.Line > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("problem line %d out of range", p.Line)
			}
		}
		o := newOntology(g)
		defs, _ := o.techniques()
		attacks, _ := o.attackTechniques()
		o.deriveMappings(defs, attacks)
		for _, d := range defs {
			sortMappings(d.rec.Mappings)
			if err := d.rec.Validate(); err != nil && d.rec.Name != "" {
				// Names are checked before a record is built; a record that
				// still fails validation is a plugin bug.
				t.Fatalf("invalid record: %v", err)
			}
		}
	})
}

func FuzzMitigations(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/mini/api/mappings/attack-mitigations.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		links, _, err := parseMitigations(data)
		if err != nil {
			return
		}
		for _, l := range links {
			if !mitigationRe.MatchString(l.Mitigation) || l.Technique == "" {
				t.Fatalf("bad link %+v", l)
			}
		}
	})
}

func FuzzScanDocument(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/mini/ontologies/d3fend.json", "testdata/attack/enterprise-attack.json")
	f.Add([]byte("[1,\n2 , \n{}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := jsonpos.Scan(data, "@graph", "objects")
		lines := bytes.Count(data, []byte{'\n'}) + 1
		if err != nil {
			var se *jsonpos.SyntaxError
			if e, ok := err.(*jsonpos.SyntaxError); ok {
				se = e
			}
			if se == nil || se.Line < 1 || se.Line > lines {
				t.Fatalf("error %v has no line in range", err)
			}
			return
		}
		prev := 0
		for _, els := range [][]jsonpos.Element{doc.TopArray, doc.Arrays["@graph"], doc.Arrays["objects"]} {
			prev = 0
			for _, el := range els {
				if el.Line < prev || el.Line < 1 || el.Line > lines {
					t.Fatalf("element line %d (previous %d, %d lines)", el.Line, prev, lines)
				}
				prev = el.Line
			}
		}
	})
}

func FuzzSTIX(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/attack/enterprise-attack.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := parseSTIX(data)
		if err == nil {
			for _, o := range objs {
				_ = o.attackID()
			}
		}
	})
}
