package main

import (
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/stix"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

type nopReporter struct{}

func (nopReporter) Warn(string, int, string, string, string) {}
func (nopReporter) Progress(int64, int64, string)            {}

// FuzzBuild turns arbitrary bundles into actors and campaigns: no panic, and the
// same bytes always give the same records.
func FuzzBuild(f *testing.F) {
	sdktest.SeedFiles(f, "testdata/*/*.json", "testdata/cti/*/*/*.json")
	f.Add([]byte(`[{"type":"attack-pattern","id":"attack-pattern--1","name":"x","revoked":true,"external_references":[{"source_name":"mitre-attack","external_id":"T1000.001"}]},
		{"type":"relationship","id":"relationship--1","relationship_type":"revoked-by","source_ref":"attack-pattern--1","target_ref":"attack-pattern--1"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		encode := func() []string {
			ds, err := stix.ReadBundle("bundle.json", data, nopReporter{})
			if err != nil {
				return nil
			}
			b := &builder{ds: ds, cfg: config{IncludeRevoked: len(data)%2 == 0}, warn: func(stix.Position, string, string, string) {}}
			var out []string
			for _, it := range b.build() {
				if it.rec.Validate() != nil {
					continue
				}
				_, _, js, err := sdk.EncodeRecord(it.rec)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(js))
			}
			return out
		}
		a, b := encode(), encode()
		if len(a) != len(b) {
			t.Fatalf("%d records, then %d", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("record %d differs:\n%s\n%s", i, a[i], b[i])
			}
		}
	})
}
