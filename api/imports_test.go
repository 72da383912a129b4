package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

type importRun struct {
	core.ImportRun
	Progress *core.ImportProgress `json:"progress"`
}

func TestImportsThroughTheAPI(t *testing.T) {
	dir := t.TempDir()
	bin := sdktest.BuildPluginTo(t, "../plugins/csvimport", dir)
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "templates.csv"), []byte("id,name,description,technique_ids,platforms,executor,command,cleanup\n"+
		"A-1,Whoami,,T1033,Windows,cmd,whoami,\n"), 0o644)

	st := storetest.Open(t, store.SQLite)
	cfg := config.Default()
	cfg.Plugins = []config.Plugin{{Name: "csvimport", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{}`), Source: src, Range: "t"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc := importer.NewService(ctx, &importer.Runner{Store: st, Host: pluginhost.New(cfg, nil)})
	h := api.New(api.ServicesFor(st, api.Deps{Imports: svc})).Handler()
	apitest.CreateUser(t, st, "root", core.RoleAdmin, "a long admin password")
	apitest.CreateUser(t, st, "rl", core.RoleRedLead, "a long lead password!")
	admin := apitest.Login(t, h, "root", "a long admin password")
	lead := apitest.Login(t, h, "rl", "a long lead password!")

	var plugins []core.PluginStatus
	admin.Want(http.StatusOK, http.MethodGet, "/api/v1/plugins?refresh=true", nil, &plugins)
	if len(plugins) != 1 || plugins[0].Status != "ok" || plugins[0].Version != "1.0.0" || plugins[0].ProtocolVersion != 1 {
		t.Fatalf("plugins: %+v", plugins)
	}

	var run importRun
	rec := admin.Want(http.StatusAccepted, http.MethodPost, "/api/v1/imports", map[string]any{"plugin": "csvimport"}, &run)
	if run.ID == "" || rec.Header().Get("Location") != "/api/v1/imports/"+run.ID || run.Outcome != core.RunRunning {
		t.Fatalf("start: %+v %v", run, rec.Header())
	}
	svc.Wait()
	id := run.ID
	run = importRun{}
	lead.Want(http.StatusOK, http.MethodGet, "/api/v1/imports/"+id, nil, &run)
	if run.Outcome != core.RunSucceeded || run.Added != 1 || run.Progress != nil {
		t.Fatalf("finished run: %+v", run)
	}
	var page struct {
		Items []core.ImportRun `json:"items"`
		Total int              `json:"total"`
	}
	lead.Want(http.StatusOK, http.MethodGet, "/api/v1/imports?plugin=csvimport", nil, &page)
	if page.Total != 1 || page.Items[0].ID != run.ID {
		t.Fatalf("list: %+v", page)
	}

	// Bad requests say what is wrong.
	p := apitest.ProblemOf(t, admin.Do(http.MethodPost, "/api/v1/imports", map[string]any{"plugin": "nope"}))
	if p.Status != 400 || !strings.Contains(p.Detail, "not configured") {
		t.Fatalf("unknown plugin: %+v", p)
	}
	p = apitest.ProblemOf(t, admin.Do(http.MethodPost, "/api/v1/imports", map[string]any{}))
	if p.Status != 400 || p.Field != "plugin" {
		t.Fatalf("missing plugin: %+v", p)
	}
	lead.Want(http.StatusForbidden, http.MethodPost, "/api/v1/imports", map[string]any{"plugin": "csvimport"}, nil)
	p = apitest.ProblemOf(t, lead.Do(http.MethodGet, "/api/v1/attack/reviews?status=weird", nil))
	if p.Status != 400 || p.Field != "status" {
		t.Fatalf("bad status filter: %+v", p)
	}
}

func TestReviewQueueThroughTheAPI(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	var test *core.Test
	err := st.Update(ctx, func(tx core.Tx) error {
		for _, te := range []*core.Technique{{ExternalID: "T1562", Name: "Impair Defenses", Known: true},
			{ExternalID: "T1099", Name: "Timestomp", Known: true, Revoked: true}} {
			if err := tx.UpsertTechnique(ctx, te); err != nil {
				return err
			}
		}
		old, _ := tx.TechniqueByExternalID(ctx, "T1099")
		test = &core.Test{Title: "timestomp", TechniqueID: old.ID}
		if err := tx.CreateTest(ctx, test); err != nil {
			return err
		}
		_, err := core.ApplyRemap(ctx, tx, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.ServicesFor(st, api.Deps{})).Handler()
	apitest.CreateUser(t, st, "bl", core.RoleBlueLead, "a long lead password!")
	lead := apitest.Login(t, h, "bl", "a long lead password!")
	var page struct {
		Items []core.TechniqueReview `json:"items"`
		Total int                    `json:"total"`
	}
	lead.Want(http.StatusOK, http.MethodGet, "/api/v1/attack/reviews?status=open", nil, &page)
	if page.Total != 1 || page.Items[0].ExternalID != "T1099" {
		t.Fatalf("queue: %+v", page)
	}
	id := page.Items[0].ID
	p := apitest.ProblemOf(t, lead.Do(http.MethodPost, "/api/v1/attack/reviews/"+id+"/resolve", map[string]any{"target": "T9999"}))
	if p.Status != 400 || p.Field != "target" {
		t.Fatalf("bad target: %+v", p)
	}
	var out struct {
		Review core.TechniqueReview `json:"review"`
		Remap  core.RemapReport     `json:"remap"`
	}
	lead.Want(http.StatusOK, http.MethodPost, "/api/v1/attack/reviews/"+id+"/resolve", map[string]any{"target": "T1562", "note": "ok"}, &out)
	if out.Review.Status != core.ReviewResolved || len(out.Remap.Moves) != 1 || out.Remap.Moves[0].Tests[0] != test.ID {
		t.Fatalf("resolve: %+v", out)
	}
	lead.Want(http.StatusConflict, http.MethodPost, "/api/v1/attack/reviews/"+id+"/resolve", map[string]any{"dismiss": true}, nil)
}
