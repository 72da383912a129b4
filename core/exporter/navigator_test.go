package exporter_test

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/plugins/navigator/layerspec"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// pluginRunner runs the first-party plugin built from dir as NAME, resolving with svc.
func pluginRunner(t *testing.T, st core.Store, svc *coverage.Service, name, bin, cfg string) *exporter.Runner {
	c := config.Default()
	c.Plugins = []config.Plugin{{Name: name, Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(cfg), Range: "aegis.hcl:1"}}
	log := hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Info})
	return &exporter.Runner{Store: st, Host: pluginhost.New(c, log), Log: log,
		Resolver: exporter.StoreResolver{Store: st, Coverage: svc, BaseURL: "https://aegis.example.test"}}
}

type navLayer struct {
	Name       string
	Versions   map[string]string
	Metadata   []struct{ Name, Value string }
	Techniques []struct {
		TechniqueID string
		Tactic      string
		Score       *float64
		Metadata    []struct{ Name, Value string }
	}
}

func metaValue(ms []struct{ Name, Value string }, name string) string {
	for _, m := range ms {
		if m.Name == name {
			return m.Value
		}
	}
	return ""
}

func scoreWords(s *float64) string {
	if s == nil {
		return "none"
	}
	return strconv.FormatFloat(math.Round(*s*10)/10, 'f', -1, 64)
}

// The navigator plugin, as a real process behind the host, over every scope: each
// layer validates against the 4.5 rules (the release's tactic shortnames and
// platforms), and its numbers are the coverage API's for the same scope.
func TestNavigatorLayersThroughTheHost(t *testing.T) {
	bin := sdktest.BuildPlugin(t, "../../plugins/navigator")
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, scopes := coverageFixture(t, st)
		rel := layerspec.Release{Platforms: []string{"Windows", "Linux", "macOS"}}
		st.View(ctx, func(tx core.Tx) error {
			tactics, _ := tx.ListTactics(ctx, "enterprise-attack")
			for _, ta := range tactics {
				rel.Tactics = append(rel.Tactics, ta.Shortname)
			}
			return nil
		})
		r := pluginRunner(t, st, svc, "navigator", bin, `{}`)
		for name, scope := range scopes {
			t.Run(name, func(t *testing.T) {
				res, err := r.Run(ctx, exporter.Options{Plugin: "navigator", Scope: scope, TriggeredBy: "test"})
				if err != nil {
					t.Fatal(err)
				}
				data := res.Artifacts[0].Data
				if err := layerspec.Validate(data, rel); err != nil {
					t.Fatalf("%v\n%s", err, data)
				}
				var layers []navLayer
				if scope.Kind == core.ScopeDiff {
					if err := json.Unmarshal(data, &layers); err != nil || len(layers) != 3 {
						t.Fatalf("a diff is three layers: %v", err)
					}
				} else {
					var one navLayer
					if err := json.Unmarshal(data, &one); err != nil {
						t.Fatal(err)
					}
					layers = []navLayer{one}
				}
				// The layer of the scope's current state and the matrix it must equal.
				check := func(l navLayer, q coverage.MatrixQuery, tacticOnly bool) {
					mx, err := svc.Matrix(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if tacticOnly {
						mx.Tactics = mx.Tactics[:1]
					}
					want := cells(mx)
					if len(l.Techniques) != len(want) {
						t.Errorf("%s: %d techniques, the matrix has %d", l.Name, len(l.Techniques), len(want))
					}
					for _, c := range l.Techniques {
						w := want[c.TechniqueID]
						if w == nil || c.Tactic != "" || !same(c.Score, w.Score) {
							t.Errorf("%s %s: layer score %v, matrix %+v", l.Name, c.TechniqueID, ptr(c.Score), w)
							continue
						}
						if got := metaValue(c.Metadata, "status"); got != string(w.Status) {
							t.Errorf("%s %s: status %s, matrix %s", l.Name, c.TechniqueID, got, w.Status)
						}
						if got := metaValue(c.Metadata, "tests"); w.Counts.Tests > 0 && got != strconv.Itoa(w.Counts.Tests) {
							t.Errorf("%s %s: tests %s, matrix %d", l.Name, c.TechniqueID, got, w.Counts.Tests)
						}
					}
				}
				l := layers[0]
				if l.Versions["layer"] != "4.5" {
					t.Errorf("versions %v", l.Versions)
				}
				switch scope.Kind {
				case core.ScopeOrganisation:
					check(l, coverage.MatrixQuery{}, false)
					sc, _ := svc.Scores(ctx, "enterprise-attack")
					if got := metaValue(l.Metadata, "Score"); got != scoreWords(sc.Organisation.Score) {
						t.Errorf("layer score %s, API %v", got, ptr(sc.Organisation.Score))
					}
				case core.ScopeTactic:
					check(l, coverage.MatrixQuery{}, true)
				case core.ScopeActor:
					check(l, coverage.MatrixQuery{ActorID: scope.ID}, false)
					ac, _ := svc.Actor(ctx, scope.ID)
					if got := metaValue(l.Metadata, "Score"); got != scoreWords(ac.Score.Score) {
						t.Errorf("layer score %s, actor API %v", got, ptr(ac.Score.Score))
					}
				case core.ScopeCampaign:
					check(l, coverage.MatrixQuery{CampaignID: scope.ID}, false)
				case core.ScopeSnapshot:
					check(l, coverage.MatrixQuery{SnapshotID: scope.ID}, false)
				case core.ScopeDiff:
					check(layers[0], coverage.MatrixQuery{SnapshotID: scope.Base}, false)
					check(layers[1], coverage.MatrixQuery{SnapshotID: scope.ID}, false)
					before, after := cells(mustMatrix(t, svc, scope.Base)), cells(mustMatrix(t, svc, scope.ID))
					for _, c := range layers[2].Techniques {
						b, a := before[c.TechniqueID].Score, after[c.TechniqueID].Score
						if a == nil && b == nil {
							if c.Score != nil {
								t.Errorf("change of unscored %s: %v", c.TechniqueID, *c.Score)
							}
							continue
						}
						d := val(a) - val(b)
						if c.Score == nil || math.Abs(*c.Score-d) > 1e-9 {
							t.Errorf("change of %s: %v, want %v", c.TechniqueID, ptr(c.Score), d)
						}
					}
				}
			})
		}
		// The rules scope gives a layer of rule counts.
		seedRules(t, st, 2)
		res, err := r.Run(ctx, exporter.Options{Plugin: "navigator", Scope: core.ExportScope{Kind: core.ScopeRules}})
		if err != nil {
			t.Fatal(err)
		}
		if err := layerspec.Validate(res.Artifacts[0].Data, rel); err != nil {
			t.Fatal(err)
		}
	})
}

func val(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

func mustMatrix(t *testing.T, svc *coverage.Service, snapshot string) *coverage.Matrix {
	mx, err := svc.Matrix(ctx, coverage.MatrixQuery{SnapshotID: snapshot})
	if err != nil {
		t.Fatal(err)
	}
	return mx
}
