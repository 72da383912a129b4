package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) statsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count every entity by kind, state and source",
		Long: `Count every entity in the database, broken down by the dimensions that matter for
it (tests by state, rules and templates by source, techniques by standing, ...). The
text output keeps one short line an entity, with the active / deprecated / revoked split
of imported records; --json has every breakdown and is stable for scripts: {"entities": {NAME: {"total": N, "by": {DIM: {KEY: N}}}}}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			stats, err := st.Stats(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(stats)
			}
			names := make([]string, 0, len(stats.Entities))
			for n := range stats.Entities {
				names = append(names, n)
			}
			sort.Strings(names)
			// One short line an entity: its total and, for imported records, how many
			// are active, deprecated or revoked; the other breakdowns are under --json.
			for _, n := range names {
				es := stats.Entities[n]
				line := fmt.Sprintf("%-30s %8d", n, es.Total)
				if st := es.By["standing"]; len(st) > 0 {
					var parts []string
					for _, k := range []string{"active", "inactive", "deprecated", "revoked", "unknown_to_release"} {
						if st[k] > 0 {
							parts = append(parts, fmt.Sprintf("%s %d", k, st[k]))
						}
					}
					line += "  (" + strings.Join(parts, ", ") + ")"
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
