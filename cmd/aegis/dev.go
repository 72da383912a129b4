package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/core/synthetic"
)

func (a *app) devCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Tools for development and benchmarks",
	}
	cmd.AddCommand(a.devSeedCmd())
	return cmd
}

func (a *app) devSeedCmd() *cobra.Command {
	var scale float64
	var seed uint64
	var end string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill an empty database with a large synthetic organisation",
		Long: `Generate a synthetic organisation on top of the imported ATT&CK catalog: at --scale 1,
100,000 tests in every state with outcomes, review votes, remediation and retests, 2,000
campaigns, 50 users and a weekly coverage snapshot for each of 26 weeks (fractions scale
the tests and campaigns; the users never drop below 12, the weeks stay 26). The same
--seed, --scale and --end write the same rows. The database must hold the ATT&CK catalog
(aegis import attack) and no tests. Generated users cannot sign in (no password matches).`,
		Example: `  aegis import attack --source ../shared/upstream/attack-stix-data
  aegis dev seed --scale 0.1 --seed 1 --end 2026-11-29`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			o := synthetic.Options{Scale: scale, Seed: seed}
			if end == "" {
				// The last Sunday, 00:00 UTC: the weekly snapshot's schedule.
				now := time.Now().UTC().Truncate(24 * time.Hour)
				o.End = now.AddDate(0, 0, -int(now.Weekday()))
			} else {
				t, err := time.Parse("2006-01-02", end)
				if err != nil {
					return fmt.Errorf("--end %q: want a date like 2026-11-29", end)
				}
				o.End = t
			}
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if !asJSON {
				o.Progress = func(s string) { fmt.Fprintln(a.stderr, s) }
			}
			began := time.Now()
			res, err := synthetic.Generate(ctx, st, o)
			if err != nil {
				return fmt.Errorf("dev seed: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(a.stdout, "seeded scale %g (seed %d, history to %s) in %s: %d tests (%d retests), %d votes, %d users, %d campaigns with %d tests, %d snapshots\n",
				scale, seed, o.End.Format("2006-01-02"), time.Since(began).Round(time.Millisecond), res.Tests, res.Retests, res.Votes,
				res.Users, res.Campaigns, res.CampaignTests, res.Snapshots)
			return nil
		},
	}
	cmd.Flags().Float64Var(&scale, "scale", 0.1, "size: 1 is 100,000 tests and 2,000 campaigns")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&end, "end", "", "date of the last weekly snapshot, YYYY-MM-DD (default: the last Sunday)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON, no progress")
	return cmd
}
