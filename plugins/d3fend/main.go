// Command aegis-plugin-d3fend imports MITRE D3FEND defensive techniques from
// the D3FEND JSON-LD ontology, with the ATT&CK techniques each relates to
// through shared digital artifacts and the ATT&CK mitigations D3FEND maps to
// it. README.md states the derivation rule.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "d3fend",
		Version:   version,
		Importers: map[string]sdk.Importer{"d3fend": &importer{}},
	})
}
