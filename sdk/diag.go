package sdk

import (
	"fmt"
	"strconv"
	"strings"
)

// Severity of a Diagnostic.
type Severity int

const (
	// SeverityError means the operation failed: an ERROR diagnostic in an
	// import stream fails the import run.
	SeverityError Severity = 1
	// SeverityWarning reports a problem the operation worked around, such as
	// a skipped input row.
	SeverityWarning Severity = 2
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText lets diagnostics be stored and shown as JSON with readable severities.
func (s Severity) MarshalText() ([]byte, error) {
	if s != SeverityError && s != SeverityWarning {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText accepts "error" and "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	default:
		return fmt.Errorf("invalid severity %q (want error or warning)", b)
	}
	return nil
}

// Diagnostic is a problem a user can act on: bad configuration, a malformed
// input row, an unknown component type. Transport failures are Go errors,
// never diagnostics.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	// Attribute is the path of the config attribute or record field concerned.
	Attribute  string `json:"attribute,omitempty"`
	File       string `json:"file,omitempty"`
	Line       int    `json:"line,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

// String formats the diagnostic as "file:line: summary (id)", leaving out
// the parts that are empty.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(d.Line))
		}
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	if d.ExternalID != "" {
		b.WriteString(" (")
		b.WriteString(d.ExternalID)
		b.WriteString(")")
	}
	return b.String()
}

// Diagnostics is a list of diagnostics. It implements error so that a call
// that failed with ERROR diagnostics can return them as its error; callers
// recover the list with errors.As.
type Diagnostics []Diagnostic

// HasError reports whether any diagnostic has SeverityError.
func (ds Diagnostics) HasError() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the diagnostics with SeverityError.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == SeverityError {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns only the diagnostics with SeverityWarning.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == SeverityWarning {
			out = append(out, d)
		}
	}
	return out
}

// maxErrorDiags bounds Error() so one failed run cannot produce a
// multi-megabyte error string.
const maxErrorDiags = 10

// Error joins the diagnostics as "file:line: summary (id)" separated by "; ".
func (ds Diagnostics) Error() string {
	if len(ds) == 0 {
		return "no diagnostics"
	}
	parts := make([]string, 0, min(len(ds), maxErrorDiags)+1)
	for i, d := range ds {
		if i == maxErrorDiags {
			parts = append(parts, fmt.Sprintf("and %d more", len(ds)-maxErrorDiags))
			break
		}
		parts = append(parts, d.String())
	}
	return strings.Join(parts, "; ")
}

// AddError appends an ERROR diagnostic.
func (ds *Diagnostics) AddError(summary, detail, attribute string) {
	*ds = append(*ds, Diagnostic{Severity: SeverityError, Summary: summary, Detail: detail, Attribute: attribute})
}

// AddWarning appends a WARNING diagnostic.
func (ds *Diagnostics) AddWarning(summary, detail, attribute string) {
	*ds = append(*ds, Diagnostic{Severity: SeverityWarning, Summary: summary, Detail: detail, Attribute: attribute})
}
