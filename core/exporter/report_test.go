package exporter_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// The report plugin as a real process behind the host: the CSV's figures are the
// matrix API's, and the HTML report of the same scope is stored with its run.
func TestReportThroughTheHost(t *testing.T) {
	bin := sdktest.BuildPlugin(t, "../../plugins/report")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, scopes := coverageFixture(t, st)
		r := pluginRunner(t, st, svc, "report", bin, `{}`)
		for _, name := range []string{"organisation", "campaign", "snapshot"} {
			scope := scopes[name]
			res, err := r.Run(ctx, exporter.Options{Plugin: "report", Type: "csv", Scope: scope})
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(bytes.NewReader(res.Artifacts[0].Data)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			q := coverage.MatrixQuery{}
			switch scope.Kind {
			case core.ScopeCampaign:
				q.CampaignID = scope.ID
			case core.ScopeSnapshot:
				q.SnapshotID = scope.ID
			}
			want := cells(mustMatrixQ(t, svc, q))
			if len(rows)-1 != len(want) {
				t.Fatalf("%s: %d rows, the matrix has %d cells", name, len(rows)-1, len(want))
			}
			for _, row := range rows[1:] {
				c := want[row[0]]
				score := ""
				if c != nil && c.Score != nil {
					score = strconv.FormatFloat(*c.Score, 'f', -1, 64)
				}
				if c == nil || row[5] != string(c.Status) || row[6] != score || row[7] != strconv.Itoa(c.Counts.Tests) ||
					row[9] != strconv.Itoa(c.Counts.Validated) || row[12] != strconv.Itoa(c.Counts.Alerted) {
					t.Errorf("%s: row %v, matrix %+v", name, row, c)
				}
			}
		}
		// A scope of records the exporter does not read is refused before they are sent.
		seedRules(t, st, 2)
		bad, err := r.Run(ctx, exporter.Options{Plugin: "report", Type: "csv", Scope: core.ExportScope{Kind: core.ScopeRules}})
		if err == nil || !strings.Contains(err.Error(), "exporter csv reads technique_coverage records, and this scope sends only detection_rule") ||
			bad.Run.Outcome != core.RunFailed || bad.Artifacts != nil {
			t.Errorf("rules scope through the csv report: %v", err)
		}
		res, err := r.Run(ctx, exporter.Options{Plugin: "report", Type: "html", Scope: scopes["diff"]})
		if err != nil {
			t.Fatal(err)
		}
		doc := string(res.Artifacts[0].Data)
		if res.Run.Outcome != core.RunSucceeded || !strings.Contains(doc, "Coverage change from before to after") || !strings.Contains(doc, "<h2>What changed</h2>") {
			t.Errorf("html run %+v", res.Run)
		}
	})
}

func mustMatrixQ(t *testing.T, svc *coverage.Service, q coverage.MatrixQuery) *coverage.Matrix {
	mx, err := svc.Matrix(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return mx
}
