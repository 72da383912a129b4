// Command aegis-plugin-intel imports threat-intelligence articles from RSS,
// Atom and JSON feeds, with the ATT&CK technique and group ids each mentions.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "intel",
		Version:   version,
		Importers: map[string]sdk.Importer{"feeds": &importer{}},
	})
}
