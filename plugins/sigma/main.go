// Command aegis-plugin-sigma imports Sigma detection rules (SigmaHQ's rule
// folders or any other Sigma collection): plain detection rules, Sigma 2.x
// correlation and filter rules, and the multi-document files older Sigma
// tooling merged with "action: global".
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
		Name:      "sigma",
		Version:   version,
		Importers: map[string]sdk.Importer{"sigma": &importer{}},
	}
}
