// Command aegis-plugin-report exports coverage as a CSV table (a row per technique)
// and as a self-contained HTML executive report that prints cleanly to PDF.
package main

import "github.com/aegis-sec/aegis/sdk"

// version is the plugin's own semantic version.
var version = "1.0.0"

func main() {
	sdk.Serve(serveOpts())
}

func serveOpts() sdk.ServeOpts {
	return sdk.ServeOpts{Name: "report", Version: version,
		Exporters: map[string]sdk.Exporter{"csv": CSV{}, "html": HTML{}}}
}
