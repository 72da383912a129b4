// Package aegis holds what the whole module shares from its root: the shipped
// aegis.hcl, embedded so that the binary runs on the built-in defaults wherever it is
// started, with no configuration file beside it.
package aegis

import _ "embed"

// DefaultConfig is the text of the shipped aegis.hcl.
//
//go:embed aegis.hcl
var DefaultConfig []byte
