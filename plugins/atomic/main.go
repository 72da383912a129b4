// Command aegis-plugin-atomic imports Atomic Red Team tests
// (atomics/T*/T*.yaml) as test templates: one template per atomic test, with
// its executor, input arguments, dependencies and manual steps.
//
// Every test is keyed by its auto_generated_guid. A test without one gets a
// warning and the derived id "atomic:<technique>:<n>", n being its 1-based
// position in the file (Invoke-AtomicTest's test number).
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version; release builds may set it
// with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "atomic",
		Version:   version,
		Importers: map[string]sdk.Importer{"atomic": &importer{}},
	})
}
