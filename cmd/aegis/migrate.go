package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert or show database migrations",
	}
	var applySkipped bool
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Long: "Apply every pending migration. A database that a build without some migration migrated past its\n" +
			"number is refused, naming the migrations it never had; --apply-skipped applies them first (back it up before).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			if applySkipped {
				applied, err := st.ApplySkipped()
				for _, name := range applied {
					fmt.Fprintf(a.stdout, "applied skipped migration %s\n", name)
				}
				if err != nil {
					return err
				}
			} else if err := st.Migrate(); err != nil {
				return err
			}
			v, err := st.MigrationVersion()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "database at version %d\n", v.Version)
			return nil
		},
	}
	up.Flags().BoolVar(&applySkipped, "apply-skipped", false, "apply the migrations a database at a later version never had, then migrate up")
	cmd.AddCommand(up, &cobra.Command{
		Use:   "down [STEPS]",
		Short: "Revert STEPS migrations (default 1; \"all\" reverts every migration)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			steps := 1
			if len(args) == 1 {
				if args[0] == "all" {
					steps = 0
				} else if n, err := strconv.Atoi(args[0]); err == nil && n > 0 {
					steps = n
				} else {
					return fmt.Errorf("migrate down: STEPS must be a positive number or \"all\", not %q", args[0])
				}
			}
			st, err := a.openStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.MigrateDown(steps); err != nil {
				return err
			}
			v, err := st.MigrationVersion()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "database at version %d\n", v.Version)
			return nil
		},
	}, &cobra.Command{
		Use:   "version",
		Short: "Show the applied migration version and the newest this binary carries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			v, err := st.MigrationVersion()
			if err != nil {
				return err
			}
			dirty := ""
			if v.Dirty {
				dirty = " (dirty: a migration failed half-way; fix it and force the version)"
			}
			fmt.Fprintf(a.stdout, "version %d of %d%s\n", v.Version, v.Latest, dirty)
			return nil
		},
	})
	return cmd
}
