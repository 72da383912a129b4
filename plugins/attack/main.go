// Command aegis-plugin-attack imports MITRE ATT&CK (Enterprise, Mobile, ICS):
// tactics with their matrix order, techniques and sub-techniques with their
// revocations and replacements, and mitigations with the techniques they
// mitigate. It reads a STIX 2.1 bundle, mitre/cti's STIX 2.0 folders, a
// collection index (index.json), any of these by URL, or a TAXII 2.1 server.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "attack",
		Version:   version,
		Importers: map[string]sdk.Importer{"attack": &importer{}},
	})
}
