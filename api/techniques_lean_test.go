package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// The technique list leaves the description and detection text out (most of a page's
// bytes); the technique's own page has them.
func TestTechniqueListIsLean(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		long := strings.Repeat("Adversaries may abuse command interpreters. ", 100)
		if err := st.Update(ctx, func(tx core.Tx) error {
			return tx.UpsertTechnique(ctx, &core.Technique{ExternalID: "T1059", Name: "Command and Scripting Interpreter",
				Description: long, Detection: "Monitor process creation.", Platforms: []string{"Windows"},
				Domains: []string{"enterprise-attack"}, Known: true})
		}); err != nil {
			t.Fatal(err)
		}
		h := api.New(api.ServicesAt(st, time.Now, api.Deps{})).Handler()
		apitest.CreateUser(t, st, "viewer", core.RoleViewer, "")
		c := apitest.Login(t, h, "viewer", "")
		var page struct {
			Items []core.Technique `json:"items"`
			Total int              `json:"total"`
		}
		rec := c.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques?limit=50", nil, &page)
		if page.Total != 1 || len(page.Items) != 1 || page.Items[0].Name != "Command and Scripting Interpreter" ||
			len(page.Items[0].Platforms) != 1 {
			t.Fatalf("list: %+v", page)
		}
		if it := page.Items[0]; it.Description != "" || it.Detection != "" || rec.Body.Len() > 2000 {
			t.Errorf("list item carries %d bytes of description, %d of detection (%d bytes in all)", len(it.Description), len(it.Detection), rec.Body.Len())
		}
		var detail core.Technique
		c.Want(http.StatusOK, http.MethodGet, "/api/v1/techniques/T1059", nil, &detail)
		if detail.Description != long || detail.Detection != "Monitor process creation." {
			t.Errorf("detail: description %d bytes, detection %q", len(detail.Description), detail.Detection)
		}
	})
}
