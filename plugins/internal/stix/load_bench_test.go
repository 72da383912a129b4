package stix

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

type nopReporter struct{}

func (nopReporter) Warn(string, int, string, string, string) {}
func (nopReporter) Progress(int64, int64, string)            {}

// BenchmarkLoadEnterprise reads ATT&CK Enterprise v18.1 in mitre/cti's layout (24,771
// one-object files) from AEGIS_UPSTREAM_DIR: "before" one file at a time and each
// object field by field, as before issue 11; "one-pass" decodes each object once;
// "one-pass+workers" also reads with the worker pool (what Load does now).
// BenchmarkDecodeObjects decodes the same objects, already split, both ways.
func BenchmarkLoadEnterprise(b *testing.B) {
	dir := upstreamEnterprise(b)
	for _, c := range []struct {
		name         string
		workers      int
		fieldByField bool
	}{{"before", 1, true}, {"one-pass", 1, false}, {"one-pass+workers", 0, false}} {
		b.Run(c.name, func(b *testing.B) {
			readWorkers, fieldByField = c.workers, c.fieldByField
			defer func() { readWorkers, fieldByField = 0, false }()
			for range b.N {
				ds, err := Load(context.Background(), dir, Options{}, nopReporter{})
				if err != nil || ds.Len() < 20000 {
					b.Fatalf("%v (%d objects)", err, ds.Len())
				}
			}
		})
	}
}

func BenchmarkDecodeObjects(b *testing.B) {
	dir := upstreamEnterprise(b)
	var raws [][]byte
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return nil
		}
		data, _ := os.ReadFile(p)
		if pf, err := ParseFile(data); err == nil {
			for _, o := range pf.Objects {
				raws = append(raws, o.Data)
			}
		}
		return nil
	})
	for _, c := range []struct {
		name   string
		decode func([]byte) (*Object, []string, error)
	}{{"field-by-field", decodeTolerant}, {"one-pass", DecodeObject}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				for _, r := range raws {
					if _, _, err := c.decode(r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(raws)), "objects")
		})
	}
}

func upstreamEnterprise(b *testing.B) string {
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		b.Skip("AEGIS_UPSTREAM_DIR not set")
	}
	dir := filepath.Join(root, "mitre-cti", "enterprise-attack")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("%s: %v", dir, err)
	}
	return dir
}
