package main

import (
	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/api"
)

// openAPIVersion is the version written into a dumped document: a fixed one, so the
// copy the web app generates its types from (web/openapi.json) changes only when the
// API does, not with every build.
const openAPIVersion = "v1"

func (a *app) openAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3 document of the API (what /api/v1/openapi.json serves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := api.OpenAPIDocument(openAPIVersion)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(append(doc, '\n'))
			return err
		},
	}
}
