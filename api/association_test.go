package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// A technician opening a template sees the rules expected to fire on it, and a rule
// author sees the templates that exercise a rule.
func TestTemplateRuleLinks(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	tpl := &core.TestTemplate{Source: "atomic", ExternalID: "a1", Name: "Encoded PowerShell", Active: true,
		Platforms: core.Strings{"windows"}, TechniqueIDs: []string{"T1059.001"}}
	high := &core.DetectionRule{Source: "sigma", ExternalID: "s1", Title: "Encoded command", Level: "high", Active: true,
		LogSource: core.JSON(`{"product":"windows"}`), TechniqueIDs: []string{"T1059.001"}}
	low := &core.DetectionRule{Source: "sigma", ExternalID: "s2", Title: "Any interpreter", Level: "low", Active: true,
		TechniqueIDs: []string{"T1059"}}
	linux := &core.DetectionRule{Source: "sigma", ExternalID: "s3", Title: "Linux pwsh", Level: "critical", Active: true,
		LogSource: core.JSON(`{"product":"linux"}`), TechniqueIDs: []string{"T1059.001"}}
	err := st.Update(ctx, func(tx core.Tx) error {
		if err := tx.UpsertTestTemplate(ctx, tpl); err != nil {
			return err
		}
		for _, r := range []*core.DetectionRule{high, low, linux} {
			if err := tx.UpsertDetectionRule(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.ServicesFor(st, api.Deps{})).Handler()
	apitest.CreateUser(t, st, "tech", core.RoleBlueTech, "a long technician password")
	c := apitest.Login(t, h, "tech", "a long technician password")

	var rules struct {
		Items []core.LinkedRule `json:"items"`
		Total int               `json:"total"`
	}
	c.Want(http.StatusOK, http.MethodGet, "/api/v1/templates/"+tpl.ID+"/detection-rules", nil, &rules)
	if rules.Total != 2 || rules.Items[0].ID != high.ID || rules.Items[1].ID != low.ID ||
		rules.Items[0].Reason != "shares T1059.001; both on windows" {
		t.Fatalf("rules of the template: %+v", rules)
	}
	var tpls struct {
		Items []core.LinkedTemplate `json:"items"`
		Total int                   `json:"total"`
	}
	c.Want(http.StatusOK, http.MethodGet, "/api/v1/detection-rules/"+low.ID+"/templates", nil, &tpls)
	if tpls.Total != 1 || tpls.Items[0].ID != tpl.ID {
		t.Fatalf("templates of the rule: %+v", tpls)
	}
	c.Want(http.StatusOK, http.MethodGet, "/api/v1/detection-rules/"+linux.ID+"/templates", nil, &tpls)
	if tpls.Total != 0 {
		t.Fatalf("a Linux rule is linked to a Windows template: %+v", tpls)
	}
	c.Want(http.StatusNotFound, http.MethodGet, "/api/v1/templates/"+core.NewID()+"/detection-rules", nil, nil)
}
