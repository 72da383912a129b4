// Package testfmt renders what an import sent as the one-line-per-item text the
// first-party plugin tests compare against. (It is no part of the SDK: partner
// plugins compare what they like.)
package testfmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
)

// Diagnostics renders diagnostics as "file:line id: summary" lines, the id left
// out when there is none.
func Diagnostics(ds sdk.Diagnostics) string {
	var out []string
	for _, d := range ds {
		s := d.File + ":" + strconv.Itoa(d.Line)
		if d.ExternalID != "" {
			s += " " + d.ExternalID
		}
		out = append(out, s+": "+d.Summary)
	}
	return strings.Join(out, "\n")
}

// WithSeverity renders diagnostics as "SEVERITY file:line id: summary" lines.
func WithSeverity(ds sdk.Diagnostics) string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %s:%d %s: %s", d.Severity, d.File, d.Line, d.ExternalID, d.Summary))
	}
	return strings.Join(out, "\n")
}

// DiagnosticList is one "file:line id: summary" string a diagnostic (the id's
// place kept when it is empty).
func DiagnosticList(ds sdk.Diagnostics) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d %s: %s", d.File, d.Line, d.ExternalID, d.Summary))
	}
	return out
}

// CheckJSON compares got and want after a JSON round trip, which is how the host
// sees values, and reports a difference as an error naming what.
func CheckJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("%s = %s\nwant %s", what, g, w)
	}
}
