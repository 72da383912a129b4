package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/internal/testplugins"
)

func TestExportsThroughTheAPI(t *testing.T) {
	bin := testplugins.Build(t, "misbehave")
	st := storetest.Open(t, store.SQLite)
	if err := st.Update(context.Background(), func(tx core.Tx) error {
		return tx.UpsertDetectionRule(context.Background(), &core.DetectionRule{Source: "sigma", ExternalID: "r-1",
			Format: "sigma", Title: "Whoami", Raw: "title: Whoami\n", Active: true})
	}); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Plugins = []config.Plugin{
		{Name: "good", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{"mode":"ok"}`), Range: "t:1"},
		{Name: "crashing", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{"mode":"export_crash"}`), Range: "t:2"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := exporter.NewService(ctx, &exporter.Runner{Store: st, Host: pluginhost.New(cfg, nil)})
	h := api.New(api.ServicesFor(st, api.Deps{Exports: svc})).Handler()
	apitest.CreateUser(t, st, "exec", core.RoleViewer, "a long viewer password")
	viewer := apitest.Login(t, h, "exec", "a long viewer password")

	var run core.ExportRunView
	rec := viewer.Want(http.StatusAccepted, http.MethodPost, "/api/v1/exports",
		map[string]any{"plugin": "good", "type": "misbehave", "scope": map[string]any{"kind": "rules"}}, &run)
	if run.ID == "" || rec.Header().Get("Location") != "/api/v1/exports/"+run.ID || run.Outcome != core.RunRunning {
		t.Fatalf("start: %+v %v", run.ExportRun, rec.Header())
	}
	svc.Wait()
	id := run.ID
	run = core.ExportRunView{}
	viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/exports/"+id, nil, &run)
	if run.Outcome != core.RunSucceeded || run.Records != 1 || len(run.ArtifactList) != 1 || run.ArtifactList[0].Name != "records.jsonl" {
		t.Fatalf("finished run: %+v", run.ExportRun)
	}
	rec = viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/exports/"+id+"/artifact", nil, nil)
	body := rec.Body.Bytes()
	sum := sha256.Sum256(body)
	if !strings.Contains(string(body), `"id":"r-1"`) || hex.EncodeToString(sum[:]) != run.SHA256 ||
		rec.Header().Get("Content-Type") != "application/x-ndjson" ||
		rec.Header().Get("Content-Disposition") != `attachment; filename=records.jsonl` {
		t.Fatalf("artifact %q %v", body, rec.Header())
	}
	viewer.Want(http.StatusNotFound, http.MethodGet, "/api/v1/exports/"+id+"/artifact?name=other.json", nil, nil)

	// A crashing exporter: a failed run, no artifact, a clear message.
	viewer.Want(http.StatusAccepted, http.MethodPost, "/api/v1/exports",
		map[string]any{"plugin": "crashing", "type": "misbehave", "scope": map[string]any{"kind": "rules"}}, &run)
	svc.Wait()
	viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/exports/"+run.ID, nil, &run)
	if run.Outcome != core.RunFailed || !strings.Contains(run.Error, "crashed") || len(run.ArtifactList) != 0 {
		t.Fatalf("crashed run: %+v", run.ExportRun)
	}
	viewer.Want(http.StatusNotFound, http.MethodGet, "/api/v1/exports/"+run.ID+"/artifact", nil, nil)

	var page struct {
		Items []core.ExportRun `json:"items"`
		Total int              `json:"total"`
	}
	viewer.Want(http.StatusOK, http.MethodGet, "/api/v1/exports?outcome=failed", nil, &page)
	if page.Total != 1 || page.Items[0].PluginName != "crashing" {
		t.Fatalf("list: %+v", page)
	}
	viewer.Want(http.StatusBadRequest, http.MethodPost, "/api/v1/exports", map[string]any{"plugin": "good", "scope": map[string]any{"kind": "galaxy"}}, nil)
	viewer.Want(http.StatusBadRequest, http.MethodPost, "/api/v1/exports", map[string]any{"scope": map[string]any{"kind": "rules"}}, nil)
}
