// Command aegis-plugin-cti imports threat actors from MITRE ATT&CK's STIX
// data: intrusion sets (G0016) with the techniques they use, directly and
// through their software and campaigns, and ATT&CK campaigns (C0024) with
// their actors and techniques. It reads the same sources as the attack
// plugin: STIX bundles, mitre/cti folders, a collection index or TAXII 2.1.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "cti",
		Version:   version,
		Importers: map[string]sdk.Importer{"cti": &importer{}},
	})
}
