package sigma

import (
	"fmt"
	"strings"
)

// Error is a problem with a rule, placed at a file, line and column and naming the field
// (a dotted path such as "detection.selection.Image|endswith" or "logsource.product").
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
	// Unsupported marks constructs this package recognises but a consumer may not
	// implement; parse errors are never Unsupported.
	Unsupported bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem of a file with several documents, one per failed document.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}
