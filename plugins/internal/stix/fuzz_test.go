package stix

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles adds the plugins' fixture files (bundles, per-object files, an
// index) to a fuzzer's corpus.
func seedFiles(f *testing.F) {
	for _, pattern := range []string{"../../attack/testdata/*/*.json", "../../attack/testdata/*/*/*.json",
		"../../attack/testdata/cti/*/*/*.json", "../../cti/testdata/*/*.json", "../../cti/testdata/cti/*/*/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		`{"type":"bundle","objects":[42,{"type":"x"},{"type":"attack-pattern","id":"attack-pattern--1","x_mitre_platforms":7}]}`,
		`[{"type":"relationship","id":"relationship--1","relationship_type":"revoked-by","source_ref":"a--1","target_ref":"a--1"}]`,
		`{"type":"bundle","objects":[{"type":"x","id":"x--1"}`,
		`{"collections":[{"id":"c","name":"Enterprise ATT&CK","versions":[{"version":"1","url":"enterprise-attack/enterprise-attack-1.json"}]}]}`,
	} {
		f.Add([]byte(s))
	}
}

func FuzzParseFile(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := ParseFile(data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		last := 0
		for _, o := range pf.Objects {
			if o.Line < 1 || o.Line > lines || o.Line < last {
				t.Fatalf("object at line %d of %d (previous %d)", o.Line, lines, last)
			}
			last = o.Line
			_, _, _ = DecodeObject(o.Data)
		}
		if pf.Err != nil && (pf.ErrLine < 1 || pf.ErrLine > lines) {
			t.Fatalf("break at line %d of %d", pf.ErrLine, lines)
		}
	})
}

func FuzzDecodeObject(f *testing.F) {
	f.Add([]byte(`{"type":"attack-pattern","id":"attack-pattern--1","external_references":[{"source_name":"mitre-attack","external_id":"T1059"}],"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}],"x_mitre_log_source_references":[{"name":"x"}]}`))
	f.Add([]byte(`{"type":"x","id":"x--1","x_mitre_version":1.0,"revoked":"true","aliases":"A","modified":"2025-01-01"}`))
	f.Add([]byte(`{"type":"x","id":"x--1","external_references":[null,1,{"external_id":2}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, problems, err := DecodeObject(data)
		if err != nil {
			if o != nil || problems != nil {
				t.Fatal("an error comes alone")
			}
			return
		}
		if o.Type == "" || o.ID == "" {
			t.Fatalf("decoded an object without type or id: %+v", o)
		}
		_ = o.ExternalID()
		_ = o.Citations()
	})
}

// FuzzReadBundle runs the whole reading path on one file and asks every
// question the plugins ask of the dataset.
func FuzzReadBundle(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ReadBundle("enterprise-attack-18.1.json", data, &recorder{})
		if err != nil {
			return
		}
		for _, typ := range []string{"attack-pattern", "x-mitre-tactic", "intrusion-set", "relationship", "x-mitre-matrix"} {
			for _, o := range ds.OfType(typ) {
				_ = ds.Domains(o)
				_ = ds.Release(o)
				_ = ds.MatrixOrder(o)
				if r, err := ds.Replacement(o); err == nil && r == o {
					t.Fatalf("%s replaces itself", o.ID)
				}
				for _, rt := range []string{"uses", "revoked-by", "mitigates"} {
					_ = ds.Out(o.ID, rt)
					_ = ds.In(o.ID, rt)
				}
			}
		}
	})
}

// FuzzIndex reads an index.json from a temporary folder with the network
// cut off: bundles beside it are read, others fail without a download.
func FuzzIndex(f *testing.F) {
	seedFiles(f)
	bundle := []byte(`{"type":"bundle","objects":[{"type":"attack-pattern","id":"attack-pattern--1"}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "index.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "enterprise-attack"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "enterprise-attack", "enterprise-attack-1.json"), bundle, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = Load(context.Background(), dir, Options{Source: sourceOpts()}, &recorder{})
	})
}

// pageTransport answers a fixed TAXII dialogue in memory, with the fuzzed
// bytes as the one page of objects.
type pageTransport struct{ page []byte }

func (p pageTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := `{"title":"t","versions":["application/taxii+json;version=2.1"]}`
	switch {
	case strings.HasSuffix(r.URL.Path, "/collections/"):
		body = `{"collections":[{"id":"x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019","title":"Enterprise ATT&CK"}]}`
	case strings.HasSuffix(r.URL.Path, "/objects/"):
		body = string(p.page)
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Request: r,
		Header: http.Header{"Content-Type": {taxiiMediaType}}, Body: io.NopCloser(strings.NewReader(body))}, nil
}

func FuzzTAXIIPage(f *testing.F) {
	f.Add([]byte(`{"more":false,"objects":[{"type":"attack-pattern","id":"attack-pattern--1"},7]}`))
	f.Add([]byte(`{"more":true,"objects":[]}`))
	f.Add([]byte(`{"more":true,"next":"a","objects":null}`))
	f.Fuzz(func(t *testing.T, page []byte) {
		opts := Options{TAXII: &TAXIIOptions{URL: "https://taxii.example.test/api/v21/"},
			HTTPClient: &http.Client{Transport: pageTransport{page: page}}}
		_, _ = Load(context.Background(), "", opts, &recorder{})
	})
}
