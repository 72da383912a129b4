// Command aegis-plugin-caldera imports MITRE CALDERA's stockpile: every
// ability (data/abilities/<tactic>/<id>.yml, in the older platforms-map shape
// and the newer executors-list shape) becomes a test template with one
// executor per platform and interpreter, and every adversary profile
// (data/adversaries/**/*.yml) a campaign of kind adversary_profile whose
// template ids are its abilities in run order.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "caldera",
		Version:   version,
		Importers: map[string]sdk.Importer{"caldera": &importer{}},
	})
}
