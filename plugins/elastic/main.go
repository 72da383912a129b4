// Command aegis-plugin-elastic imports Elastic detection rules (the TOML
// files of elastic/detection-rules: rules/, rules_building_block/ and
// rules/_deprecated/) as detection rules with their ATT&CK mappings.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(serveOpts())
}

func serveOpts() sdk.ServeOpts {
	return sdk.ServeOpts{
		Name:      "elastic",
		Version:   version,
		Importers: map[string]sdk.Importer{"elastic": &importer{}},
	}
}
