package sdktest_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// recorder is a testing.TB that keeps failures instead of failing, so the
// tests can check that sdktest reports what it must.
type recorder struct {
	*testing.T
	mu     sync.Mutex
	errors []string
	logs   []string
}

type fatal struct{}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(fatal{})
}

func (r *recorder) Log(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprint(args...))
}

func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{T: t}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(fatal); !ok {
					panic(p)
				}
			}
		}()
		f(r)
	}()
	return r
}

func tactic(name string) *sdk.Tactic {
	return &sdk.Tactic{ExternalID: "TA0002", Name: name, Shortname: "execution", Domain: sdk.DomainEnterprise}
}

func TestStrictCatchesNondeterminism(t *testing.T) {
	var calls atomic.Int32
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		n := calls.Add(1)
		return out.Record(tactic(fmt.Sprintf("Execution %d", n)))
	})
	r := record(t, func(tb testing.TB) { sdktest.RunImportStrict(tb, imp, sdk.ImportRequest{}) })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "not deterministic") || !strings.Contains(r.errors[0], `tactic "TA0002" differs`) {
		t.Errorf("errors = %q", r.errors)
	}

	stable := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		return out.Record(tactic("Execution"))
	})
	r = record(t, func(tb testing.TB) { sdktest.RunImportStrict(tb, stable, sdk.ImportRequest{}) })
	if len(r.errors) != 0 {
		t.Errorf("a deterministic importer failed strict mode: %q", r.errors)
	}
}

func TestStrictCatchesDuplicatesAndInvalid(t *testing.T) {
	dup := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		_ = out.RecordAt(tactic("Execution"), "a.json", 3)
		return out.RecordAt(tactic("Execution again"), "a.json", 9)
	})
	r := record(t, func(tb testing.TB) { (&sdktest.Runner{Importer: dup, Type: "x"}).Run(tb, "src", "") })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `tactic "TA0002" sent twice (records 1 and 2, the second at a.json:9)`) {
		t.Errorf("errors = %q", r.errors)
	}
}

func TestReimportShowsDeprecations(t *testing.T) {
	imp := sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		for _, part := range strings.Split(req.Source, ",") {
			id, name, _ := strings.Cut(part, "=")
			if err := out.Record(&sdk.TestTemplate{ExternalID: id, Name: name, TemplateType: sdk.TemplateCustom}); err != nil {
				return err
			}
		}
		return nil
	})
	v1 := sdktest.RunImportStrict(t, imp, sdk.ImportRequest{Source: "A=one,B=two,C=three"})
	v2 := sdktest.RunImportStrict(t, imp, sdk.ImportRequest{Source: "A=one,B=TWO,D=four"})
	ch := sdktest.Reimport(v1, v2)
	key := func(id string) sdktest.RecordKey { return sdktest.RecordKey{Kind: sdk.KindTestTemplate, ID: id} }
	if !slices.Equal(ch.Added, []sdktest.RecordKey{key("D")}) || !slices.Equal(ch.Updated, []sdktest.RecordKey{key("B")}) ||
		!slices.Equal(ch.Unchanged, []sdktest.RecordKey{key("A")}) || !slices.Equal(ch.Deprecated, []sdktest.RecordKey{key("C")}) {
		t.Errorf("changes = %+v", ch)
	}
	if ch.String() != "1 added, 1 updated, 1 unchanged, 1 deprecated" {
		t.Errorf("summary %q", ch)
	}
	failed := &sdktest.ImportResult{Err: fmt.Errorf("boom")}
	if ch := sdktest.Reimport(v1, failed); len(ch.Deprecated) != 0 || len(ch.Unchanged) != 3 {
		t.Errorf("a failed re-import deprecated records: %+v", ch)
	}
}

func TestTeardownLogsNoFalseError(t *testing.T) {
	var r *recorder
	t.Run("inner", func(t *testing.T) {
		r = record(t, func(tb testing.TB) {
			sdktest.RunImport(tb, sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
				return out.Record(tactic("Execution"))
			}), sdk.ImportRequest{})
		})
	})
	// The cleanups ran when the subtest ended, after which the server's
	// "use of closed network connection" line would have been logged.
	time.Sleep(100 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.logs) == 0 {
		t.Fatal("no plugin log lines reached the test log")
	}
	for _, l := range r.logs {
		if strings.Contains(l, "[ERROR]") {
			t.Errorf("teardown logged an error: %s", l)
		}
	}
}

func TestBuildAndStartBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary; skipped with -short")
	}
	bin := sdktest.BuildPlugin(t, "testdata/echoplugin")
	if !strings.HasSuffix(bin, "aegis-plugin-echoplugin") {
		t.Errorf("binary %s", bin)
	}
	if out := string(sdktest.Describe(t, bin)); !strings.Contains(out, `"name": "echoplugin"`) {
		t.Errorf("describe = %s", out)
	}
	c := sdktest.StartBinary(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := sdktest.Import(ctx, c, sdk.ImportRequest{Type: "echo", Source: "x,y"})
	if res.Err != nil || len(res.Records) != 1 || len(res.Warnings()) != 2 || res.Warnings()[1].Summary != "echo y" {
		t.Errorf("import through the real process = %+v", res)
	}
}
