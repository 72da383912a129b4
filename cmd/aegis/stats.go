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
it (tests by state, rules and templates by source, techniques by standing, ...). With
--json the output is stable for scripts: {"entities": {NAME: {"total": N, "by": {DIM: {KEY: N}}}}}.`,
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
			for _, n := range names {
				es := stats.Entities[n]
				fmt.Fprintf(a.stdout, "%-30s %8d\n", n, es.Total)
				dims := make([]string, 0, len(es.By))
				for d := range es.By {
					dims = append(dims, d)
				}
				sort.Strings(dims)
				for _, d := range dims {
					keys := make([]string, 0, len(es.By[d]))
					for k := range es.By[d] {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					parts := make([]string, len(keys))
					for i, k := range keys {
						label := k
						if label == "" {
							label = "(none)"
						}
						parts[i] = fmt.Sprintf("%s=%d", label, es.By[d][k])
					}
					fmt.Fprintf(a.stdout, "    by %-18s %s\n", d+":", strings.Join(parts, " "))
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
