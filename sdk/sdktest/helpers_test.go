package sdktest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// failing fails with one ERROR diagnostic (summary, detail, attribute), after
// sending a record when the source says "send".
var failing = sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	if req.Source == "send" {
		_ = out.Record(tactic("Execution"))
	}
	if req.Source == "ok" {
		return nil
	}
	out.Diagnostic(sdk.Diagnostic{Severity: sdk.SeverityError, Summary: `config key "file": unknown key`, Detail: "did you mean files?", Attribute: "config.file"})
	return nil
})

func TestWantFailure(t *testing.T) {
	run := &sdktest.Runner{Importer: failing, Type: "x"}
	for _, want := range []string{"unknown key", "did you mean files", "config.file"} {
		if r := record(t, func(tb testing.TB) { run.WantFailure(tb, "src", "", want) }); len(r.errors) != 0 {
			t.Errorf("want %q: errors %q", want, r.errors)
		}
	}
	for src, wantErr := range map[string]string{
		"src":  `want an ERROR diagnostic containing "nowhere"`,
		"ok":   `err = <nil>, want an ERROR diagnostic`,
		"send": "records sent before failing: 1",
	} {
		want := "nowhere"
		if src == "send" {
			want = "unknown key"
		}
		r := record(t, func(tb testing.TB) { run.WantFailure(tb, src, "", want) })
		if len(r.errors) != 1 || !strings.Contains(r.errors[0], wantErr) {
			t.Errorf("source %s: errors %q, want one containing %q", src, r.errors, wantErr)
		}
	}
}

func TestDeterministicHoldsOrder(t *testing.T) {
	calls := 0
	flip := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		calls++
		a := &sdk.TestTemplate{ExternalID: "A", Name: "a", TemplateType: sdk.TemplateCustom}
		b := &sdk.TestTemplate{ExternalID: "B", Name: "b", TemplateType: sdk.TemplateCustom}
		if (calls-1)/2%2 == 1 { // Run imports twice: the second Run's pair is flipped
			a, b = b, a
		}
		_ = out.Record(a)
		return out.Record(b)
	})
	// Strict mode ignores order, so only Deterministic sees the flip.
	r := record(t, func(tb testing.TB) { (&sdktest.Runner{Importer: flip, Type: "x"}).Deterministic(tb, "src", "") })
	if len(r.errors) != 2 || !strings.Contains(r.errors[0], "record 0 (A) differs between runs") {
		t.Errorf("errors = %q", r.errors)
	}
	calls = 0
	stable := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		return out.Record(tactic("Execution"))
	})
	if r := record(t, func(tb testing.TB) { (&sdktest.Runner{Importer: stable, Type: "x"}).Deterministic(tb, "src", "") }); len(r.errors) != 0 {
		t.Errorf("a stable importer: %q", r.errors)
	}
}

func TestResultIndexes(t *testing.T) {
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		_ = out.Record(&sdk.TestTemplate{ExternalID: "B", Name: "b", TemplateType: sdk.TemplateCustom})
		_ = out.Record(tactic("Execution"))
		return out.Record(&sdk.TestTemplate{ExternalID: "A", Name: "a", TemplateType: sdk.TemplateCustom})
	})
	res := (&sdktest.Runner{Importer: imp, Type: "x"}).MustRun(t, "src", "")
	if got := res.IDs(sdk.KindTestTemplate); !slices.Equal(got, []string{"B", "A"}) {
		t.Errorf("IDs = %q", got)
	}
	m := res.ByKindID()
	if len(m) != 3 || m[sdk.KindTestTemplate+"/A"] == nil || m["tactic/TA0002"] == nil {
		t.Errorf("ByKindID keys: %v", slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		}))
	}
	r := record(t, func(tb testing.TB) { (&sdktest.Runner{Importer: failing, Type: "x"}).MustRun(tb, "src", "") })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "import src: ") {
		t.Errorf("MustRun of a failing import: %q", r.errors)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"a/1.yml": "one", "a/b/2.yml": "two", "c.json": "three"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range sdktest.Files(t, filepath.Join(dir, "a"), filepath.Join(dir, "*.json")) {
		rel, _ := filepath.Rel(dir, f.Path)
		got = append(got, filepath.ToSlash(rel)+"="+string(f.Data))
	}
	if want := []string{"a/1.yml=one", "a/b/2.yml=two", "c.json=three"}; !slices.Equal(got, want) {
		t.Errorf("Files = %q, want %q", got, want)
	}
	r := record(t, func(tb testing.TB) { sdktest.Files(tb, filepath.Join(dir, "*.toml")) })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "no file matches") {
		t.Errorf("a pattern matching nothing: %q", r.errors)
	}
}
