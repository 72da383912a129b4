// Command aegis-plugin-splunk is an exporter that converts Sigma detection rules to
// Splunk SPL searches (plugins/internal/sigmaquery does the work).
package main

import (
	"github.com/aegis-sec/aegis/plugins/internal/sigmaquery"
	"github.com/aegis-sec/aegis/sdk"
)

// version is the plugin's own semantic version.
var version = "1.0.0"

func main() {
	sdk.Serve(sigmaquery.ServeOpts(sigmaquery.Splunk, version))
}
