// Command aegis-plugin-navigator exports coverage as MITRE ATT&CK Navigator layers
// (layer format 4.5): one layer per view of a scope, several views as a JSON array.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version.
var version = "1.0.0"

func main() {
	sdk.Serve(serveOpts())
}

func serveOpts() sdk.ServeOpts {
	return sdk.ServeOpts{Name: "navigator", Version: version, Exporters: map[string]sdk.Exporter{"layer": Exporter{}}}
}
