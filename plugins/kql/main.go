// Command aegis-plugin-kql is an exporter that converts Sigma detection rules to
// Kusto (KQL) expressions for Microsoft Sentinel and Defender (plugins/internal/sigmaquery does the work).
package main

import (
	"github.com/aegis-sec/aegis/plugins/internal/sigmaquery"
	"github.com/aegis-sec/aegis/sdk"
)

// version is the plugin's own semantic version.
var version = "1.0.0"

func main() {
	sdk.Serve(sigmaquery.ServeOpts(sigmaquery.KQL, version))
}
