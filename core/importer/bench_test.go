package importer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// BenchmarkImport measures a whole import through a real plugin process on SQLite:
// start, handshake, streaming N records, validation and one transaction. "first" writes
// every record; "unchanged" is the re-import that must write nothing.
func BenchmarkImport(b *testing.B) {
	const n = 5000
	bin := binary(b, "misbehave")
	for _, mode := range []string{"first", "unchanged"} {
		b.Run(fmt.Sprintf("%s/%d", mode, n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := storetest.Open(b, store.SQLite)
				cfg := config.Default()
				cfg.Plugins = []config.Plugin{plugin("mis", bin, time.Minute, fmt.Sprintf(`{"mode":"ok","n":%d}`, n))}
				r := &importer.Runner{Store: s, Host: pluginhost.New(cfg, nil)}
				if mode == "unchanged" {
					if _, err := r.Run(ctx, importer.Options{Plugin: "mis"}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				run, err := r.Run(ctx, importer.Options{Plugin: "mis"})
				if err != nil {
					b.Fatal(err)
				}
				if run.Added+run.Unchanged != n {
					b.Fatalf("run: %+v", run)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
