package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/coverage/coveragetest"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// A campaign's dates can be cleared once set: PATCH with the date null removes it, a
// PATCH that leaves the date out keeps it (the web app's edit form relies on both).
func TestCampaignDatesClearWithNull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		h := api.New(api.ServicesAt(st, func() time.Time { return coveragetest.Now }, api.Deps{})).Handler()
		apitest.CreateUser(t, st, "lead", core.RoleRedLead, "")
		c := apitest.Login(t, h, "lead", "")
		start, end := "2026-07-01T00:00:00Z", "2026-07-31T00:00:00Z"
		var d campaign.Detail
		c.Want(http.StatusCreated, http.MethodPost, "/api/v1/campaigns", map[string]any{"name": "Purple week", "start_date": start, "end_date": end}, &d)
		if d.StartDate == nil || d.StartDate.Format(time.RFC3339) != start || d.EndDate == nil || d.EndDate.Format(time.RFC3339) != end {
			t.Fatalf("created with dates %v – %v", d.StartDate, d.EndDate)
		}
		path := "/api/v1/campaigns/" + d.ID

		var got campaign.Detail
		c.Want(http.StatusOK, http.MethodPatch, path, map[string]any{"end_date": nil}, &got)
		if got.EndDate != nil || got.StartDate == nil || got.StartDate.Format(time.RFC3339) != start {
			t.Fatalf("after clearing the end: %v – %v", got.StartDate, got.EndDate)
		}
		got = campaign.Detail{}
		c.Want(http.StatusOK, http.MethodPatch, path, map[string]any{"name": "Purple week (renamed)"}, &got)
		if got.StartDate == nil || got.EndDate != nil || got.Name != "Purple week (renamed)" {
			t.Fatalf("a patch without dates changed them: %v – %v", got.StartDate, got.EndDate)
		}
		got = campaign.Detail{}
		c.Want(http.StatusOK, http.MethodPatch, path, map[string]any{"start_date": nil}, &got)
		if got.StartDate != nil || got.EndDate != nil {
			t.Fatalf("after clearing the start: %v – %v", got.StartDate, got.EndDate)
		}
		got = campaign.Detail{}
		c.Want(http.StatusOK, http.MethodGet, path, nil, &got)
		if got.StartDate != nil || got.EndDate != nil {
			t.Fatalf("the cleared dates came back from the store: %v – %v", got.StartDate, got.EndDate)
		}
		// A clear still meets the date rules: an end before the start is refused.
		c.Want(http.StatusOK, http.MethodPatch, path, map[string]any{"start_date": end}, nil)
		c.Want(http.StatusBadRequest, http.MethodPatch, path, map[string]any{"end_date": start}, nil)
	})
}
