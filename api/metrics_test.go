package api_test

import (
	"encoding/csv"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestMetricsAndDatasets checks each metric against the fixture (coveragetest.Seed):
// every validated test was executed 2 h before validation, and alerted 30 min after
// execution when it alerted.
func TestMetricsAndDatasets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := coveragetest.Seed(t, st)
		f.Update(t, st, "c", func(te *core.Test) {
			done := te.ValidatedAt.Add(48 * time.Hour)
			te.RemediationStatus, te.RemediationCompletedAt = "completed", &done
		})
		h := api.New(api.ServicesAt(st, func() time.Time { return coveragetest.Now }, api.Deps{})).Handler()
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		c := apitest.Login(t, h, "viewer", "")

		var m coverage.Metrics
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/metrics/summary", nil, &m)
		is := func(name string, s coverage.Stat, want float64, n int) {
			t.Helper()
			if s.Value == nil || math.Abs(*s.Value-want) > 1e-9 || s.Samples != n {
				t.Errorf("%s = %+v, want %v over %d", name, s, want, n)
			}
		}
		is("mttd", m.MTTD, 0.5, 4)                      // a, d, e, f alerted 30 min after execution
		is("mttr", m.MTTR, 48, 1)                       // c remediated 48 h after validation
		is("avg validation", m.AvgValidationTime, 2, 6) // six validated tests, 2 h each
		is("efficacy", m.DetectionEfficacy, 400.0/6, 6) // a, d, e, f of six prevented or alerted
		is("velocity", m.CoverageVelocity, 2.0/4, 3)    // T1059.003 and T1566 first covered in the last 4 weeks
		if m.AlertFidelity.Value != nil || m.AlertFidelity.Samples != 0 {
			t.Errorf("alert fidelity without detection results: %+v", m.AlertFidelity)
		}
		if m.NeverTested != 2 || m.TestsByState[core.StateValidated] != 6 || m.TestsByState[core.StateDraft] != 1 || len(m.ByTactic) != 2 {
			t.Errorf("counts: never tested %d, by state %v, tactics %d", m.NeverTested, m.TestsByState, len(m.ByTactic))
		}
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/metrics/summary?window_days=0", nil, nil)

		var tr []coverage.TrendPoint
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/metrics/trends?weeks=2", nil, &tr)
		// 2026-06-30 is a Tuesday: this week starts Monday 29 June; a, e and f were validated on the 30th.
		if len(tr) != 2 || !tr[1].WeekStart.Equal(coveragetest.Day("2026-06-29")) || tr[1].Validated != 3 || tr[1].CoveredValidations != 3 {
			t.Errorf("trends: %+v", tr)
		}

		var d coverage.Dashboard
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/dashboard", nil, &d)
		if d.MTTD.Samples != 4 || len(d.Next) != 3 || d.Next[0].Key != "T1059.001" || len(d.Trend) != 12 {
			t.Errorf("dashboard: next %+v, trend %d", d.Next, len(d.Trend))
		}
		var ex coverage.Executive
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/dashboard/executive?domain=enterprise-attack", nil, &ex)
		// Two of the three top-level techniques are covered: T1566, and T1059 through its
		// covered sub-techniques (the status rolls up as the score does).
		if ex.Score.Score == nil || ex.Previous != nil || ex.CoveredPercent == nil || *ex.CoveredPercent != 200.0/3 ||
			len(ex.Strongest) != 1 || ex.Strongest[0].ExternalID != "TA0002" || ex.Weakest[0].ExternalID != "TA0006" || len(ex.Actors) != 2 {
			t.Errorf("executive: %+v", ex)
		}

		rec := c.Want(http.StatusOK, http.MethodGet, "/api/v1/datasets/coverage?format=csv", nil, nil)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		rows, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 6 || rows[0][0] != "technique_id" || rows[0][6] != "score" {
			t.Fatalf("coverage csv: %v", rows)
		}
		byID := map[string][]string{}
		for _, r := range rows[1:] {
			byID[r[0]] = r
		}
		if r := byID["T1059.001"]; r[6] != "31.28125" || r[2] != "T1059" || r[3] != "execution" || r[5] != "covered" || r[8] != "4" {
			t.Errorf("T1059.001 row: %v", r)
		}
		if r := byID["T1059"]; r[5] != "covered" || r[8] != "0" {
			t.Errorf("T1059 row: the status rolls up, the test count is its own: %v", r)
		}
		if r := byID["T1003"]; r[6] != "" || r[5] != "not_tested" {
			t.Errorf("an unscored technique's score must be empty, not 0: %v", r)
		}
		var ds struct {
			Columns []string         `json:"columns"`
			Rows    []map[string]any `json:"rows"`
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/datasets/tests", nil, &ds)
		if len(ds.Rows) != 7 || len(ds.Columns) != 14 {
			t.Errorf("tests dataset: %d rows", len(ds.Rows))
		}
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/datasets/operators?format=json", nil, &ds)
		if len(ds.Rows) != 2 {
			t.Errorf("operators: %+v", ds.Rows)
		}
		c.Want(http.StatusNotFound, http.MethodGet, "/api/v1/datasets/bogus", nil, nil)
		c.Want(http.StatusBadRequest, http.MethodGet, "/api/v1/datasets/tests?format=xml", nil, nil)
	})
}
