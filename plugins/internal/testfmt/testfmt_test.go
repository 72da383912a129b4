package testfmt

import (
	"slices"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
)

func TestRendering(t *testing.T) {
	ds := sdk.Diagnostics{
		{Severity: sdk.SeverityWarning, File: "a.yml", Line: 3, ExternalID: "x", Summary: "odd"},
		{Severity: sdk.SeverityError, File: "b.yml", Summary: "bad"},
	}
	if got := Diagnostics(ds); got != "a.yml:3 x: odd\nb.yml:0: bad" {
		t.Errorf("Diagnostics = %q", got)
	}
	if got := WithSeverity(ds); got != ds[0].Severity.String()+" a.yml:3 x: odd\n"+ds[1].Severity.String()+" b.yml:0 : bad" {
		t.Errorf("WithSeverity = %q", got)
	}
	if got := DiagnosticList(ds); !slices.Equal(got, []string{"a.yml:3 x: odd", "b.yml:0 : bad"}) {
		t.Errorf("DiagnosticList = %q", got)
	}
	rec := &recorder{TB: t}
	CheckJSON(rec, "v", map[string]int{"a": 1}, map[string]int{"a": 1})
	CheckJSON(rec, "v", []int{1}, []int{2})
	if len(rec.errs) != 1 {
		t.Errorf("CheckJSON reported %d differences, want 1", len(rec.errs))
	}
}

type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.errs = append(r.errs, format) }
