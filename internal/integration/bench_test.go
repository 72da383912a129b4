package integration

import (
	"path/filepath"
	"testing"
)

// BenchmarkUpstreamImport measures first imports of the real upstream data sets through
// the plugin processes on SQLite (building the plugin and opening the store are not
// timed). It reports records per second of the whole run: reading, parsing, streaming,
// validation and one transaction.
func BenchmarkUpstreamImport(b *testing.B) {
	cases := []struct{ plugin, folder, sub, config string }{
		{"atomic", "atomic-red-team", "", ""},
		{"sigma", "sigma", "", ""},
		{"elastic", "detection-rules", "", ""},
		{"attack", "mitre-cti", "enterprise-attack", `{"release_version":"18.1"}`},
	}
	for _, c := range cases {
		b.Run(c.plugin, func(b *testing.B) {
			src := filepath.Join(upstream(b, c.folder), c.sub)
			pluginBinary(b, c.plugin)
			var records int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newEnv(b, map[string]string{c.plugin: c.config})
				b.StartTimer()
				run := e.Import(b, c.plugin, src)
				records += run.Added
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
