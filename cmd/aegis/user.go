package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create, list and manage users",
	}
	cmd.AddCommand(a.userCreateCmd(), a.userListCmd(), a.userSetPasswordCmd(), a.userDisableCmd())
	return cmd
}

// passwordFlags are shared by the commands that set a password.
type passwordFlags struct {
	stdin bool
}

func (p *passwordFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.stdin, "password-stdin", false, "read the password from the first line of standard input (otherwise a random one is generated and printed)")
}

// readPassword reads the password from the first line of standard input. Its rules
// (length) are the auth service's, checked where it is set.
func (a *app) readPassword() (string, error) {
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("no password on standard input: %v", err)
	}
	return line, nil
}

func (a *app) userCreateCmd() *cobra.Command {
	var role, display, email string
	var pf passwordFlags
	cmd := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create a user",
		Example: `  aegis user create alice --role red_lead
  echo 'a long passphrase' | aegis user create bob --role viewer --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			pw := ""
			if pf.stdin {
				if pw, err = a.readPassword(); err != nil {
					return err
				}
			}
			// Through the same service as the API: validated alike, and audited.
			u, generated, err := a.auth(st).CreateUser(ctx, nil, auth.NewUser{Username: args[0], DisplayName: display,
				Email: email, Role: core.Role(role), Password: pw})
			if err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "created user %s (%s)\n", u.Username, u.Role)
			if generated != "" {
				fmt.Fprintf(a.stdout, "password: %s\n", generated)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", string(core.RoleViewer), "role: admin, red_lead, red_tech, blue_lead, blue_tech or viewer")
	cmd.Flags().StringVar(&display, "name", "", "display name")
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	pf.register(cmd)
	return cmd
}

func (a *app) userListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			var users []*core.User
			for off := 0; ; off += 500 {
				page, total, err := a.auth(st).Users(ctx, core.UserFilter{Page: core.Page{Limit: 500, Offset: off}})
				if err != nil {
					return err
				}
				users = append(users, page...)
				if len(users) >= total || len(page) == 0 {
					break
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(users)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "USERNAME\tROLE\tSTATUS\tNAME\tLAST LOGIN")
			for _, u := range users {
				status, last := "active", "never"
				if u.Disabled {
					status = "disabled"
				}
				if u.LastLoginAt != nil {
					last = u.LastLoginAt.Format("2006-01-02 15:04")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, status, u.DisplayName, last)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) userSetPasswordCmd() *cobra.Command {
	var pf passwordFlags
	cmd := &cobra.Command{
		Use:   "set-password USERNAME",
		Short: "Set a user's password (random and printed, or read with --password-stdin); the user must change it at the next sign-in",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			pw := ""
			if pf.stdin {
				if pw, err = a.readPassword(); err != nil {
					return err
				}
			}
			accounts := a.auth(st)
			u, err := accounts.UserByName(ctx, args[0])
			if err != nil {
				return userError(err)
			}
			// Through the same service as the API's reset: the length rule, the
			// must-change rule, the sessions ended and the audit entry are the same.
			_, generated, err := accounts.SetPassword(ctx, nil, u.ID, pw)
			if err != nil {
				return userError(err)
			}
			fmt.Fprintf(a.stdout, "password of %s changed; it must be changed at the next sign-in\n", args[0])
			if generated != "" {
				fmt.Fprintf(a.stdout, "password: %s\n", generated)
			}
			return nil
		},
	}
	pf.register(cmd)
	return cmd
}

func (a *app) userDisableCmd() *cobra.Command {
	var enable bool
	cmd := &cobra.Command{
		Use:   "disable USERNAME",
		Short: "Disable a user (it can no longer sign in); --enable reverses it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, true)
			if err != nil {
				return err
			}
			defer st.Close()
			accounts := a.auth(st)
			u, err := accounts.UserByName(ctx, args[0])
			if err == nil {
				// The service refuses to disable the last enabled administrator.
				_, err = accounts.SetDisabled(ctx, nil, u.ID, !enable)
			}
			if err != nil {
				return userError(err)
			}
			state := "disabled"
			if enable {
				state = "enabled"
			}
			fmt.Fprintf(a.stdout, "user %s %s\n", args[0], state)
			return nil
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "enable the user again")
	return cmd
}

// auth returns the account service over st, with the auth block of the configuration.
func (a *app) auth(st core.Store) *auth.Service {
	c := a.cfg.Auth
	return auth.New(st, auth.Policy{SessionTTL: c.SessionTTL, TokenMaxTTL: c.TokenMaxTTL, LoginMaxAttempts: c.LoginMaxAttempts,
		LoginWindow: c.LoginWindow, PasswordMinLength: c.PasswordMinLength}, nil)
}
