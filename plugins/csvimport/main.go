// Command aegis-plugin-csvimport imports an organisation's own test templates
// and detection rules from CSV files. It is the reference example of an Aegis
// importer plugin: read it alongside docs/PLUGINS.md.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "csvimport",
		Version:   version,
		Importers: map[string]sdk.Importer{"csv": &importer{}},
	})
}
