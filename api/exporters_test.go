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

// fakePlugins is an ImportService that knows a fixed plugin list and counts the times
// it was asked to describe the plugins again.
type fakePlugins struct {
	core.ImportService
	list      []core.PluginStatus
	described []core.PluginStatus
	refreshes int
}

func (f *fakePlugins) Plugins(_ context.Context, refresh bool) ([]core.PluginStatus, error) {
	if refresh {
		f.refreshes++
		f.list = f.described
	}
	return f.list, nil
}

func plugin(name, status string, enabled bool, components string) core.PluginStatus {
	return core.PluginStatus{PluginInfo: core.PluginInfo{Name: name, Version: "1.0.0", Enabled: enabled, Components: core.JSON(components)},
		Configured: true, Status: status}
}

// TestExportersForEveryRole: a viewer (who may not list plugins) sees the exporters of
// the enabled plugins only, importers left out, and a fresh server's undescribed
// plugins are described once, on the first call.
func TestExportersForEveryRole(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	described := []core.PluginStatus{
		plugin("report", "ok", true, `[{"kind":"exporter","type":"html","description":"Executive report","record_kinds":["technique_coverage"],"media_types":["text/html"]},
			{"kind":"exporter","type":"csv","record_kinds":["technique_coverage"],"media_types":["text/csv"]}]`),
		plugin("atomic", "ok", true, `[{"kind":"importer","type":"atomic"}]`),
		plugin("navigator", "disabled", false, `[{"kind":"exporter","type":"layer"}]`),
	}
	fake := &fakePlugins{described: described, list: []core.PluginStatus{
		plugin("report", "not described", true, ""), described[1], described[2]}}
	h := api.New(api.ServicesFor(st, api.Deps{Imports: fake})).Handler()
	apitest.CreateUser(t, st, "viewer", core.RoleViewer, "a long viewer password")
	viewer := apitest.Login(t, h, "viewer", "a long viewer password")
	viewer.Want(http.StatusForbidden, http.MethodGet, "/api/v1/plugins", nil, nil)

	for round := 1; round <= 2; round++ {
		var got []core.Exporter
		viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/exporters", nil, &got)
		if len(got) != 2 || got[0].Plugin != "report" || got[0].Type != "csv" || got[1].Type != "html" ||
			got[1].Description != "Executive report" || got[1].MediaTypes[0] != "text/html" || got[0].RecordKinds[0] != "technique_coverage" {
			t.Fatalf("round %d: exporters %+v", round, got)
		}
		if fake.refreshes != 1 {
			t.Fatalf("round %d: the plugins were described %d times, want once", round, fake.refreshes)
		}
	}
}
