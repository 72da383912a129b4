// echoplugin is a plugin for sdktest's own tests of BuildPlugin and
// StartBinary: it imports one tactic per line of its source.
package main

import (
	"context"
	"strings"

	"github.com/aegis-sec/aegis/sdk"
)

func main() {
	sdk.Serve(sdk.ServeOpts{Name: "echoplugin", Version: "0.1.0", Importers: map[string]sdk.Importer{
		"echo": sdk.ImporterFunc(func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
			for i, name := range strings.Split(req.Source, ",") {
				out.Warn("source", i+1, "", "echo "+name, "")
			}
			return out.Record(&sdk.Tactic{ExternalID: "TA0002", Name: "Execution", Shortname: "execution", Domain: sdk.DomainEnterprise})
		}),
	}})
}
