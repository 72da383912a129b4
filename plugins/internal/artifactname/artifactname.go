// Package artifactname names exporter artifacts after the scope they cover, as bare
// file names the host accepts.
package artifactname

import (
	"strings"

	"github.com/aegis-sec/aegis/sdk"
)

// ForScope returns prefix-kind[-id] (a diff: prefix-diff-base-id) with anything but
// letters, digits, '-' and '_' replaced by '-', at most 120 bytes, without extension.
func ForScope(prefix string, sc *sdk.Scope) string {
	name := prefix + "-" + sc.Kind
	id := sc.ID
	if sc.Kind == "diff" {
		id = sc.Base + "-" + sc.ID
	}
	if id != "" {
		name += "-" + id
	}
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, name)
	if len(clean) > 120 {
		clean = clean[:120]
	}
	return clean
}
