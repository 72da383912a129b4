// Command aegis-plugin-nist imports NIST SP 800-53 rev. 5 controls and
// enhancements and their mappings to ATT&CK techniques, from the CTID
// Mappings Explorer JSON and from the older STIX bundles of
// attack-control-framework-mappings.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "nist",
		Version:   version,
		Importers: map[string]sdk.Importer{"nist_800_53": &importer{}},
	})
}
