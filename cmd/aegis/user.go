package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/password"
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

// choose returns the password to set and whether it was generated (and must be shown).
func (a *app) choosePassword(p passwordFlags) (string, bool, error) {
	if !p.stdin {
		return core.RandomToken(20), true, nil
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", false, fmt.Errorf("no password on standard input: %v", err)
	}
	if min := a.cfg.Auth.PasswordMinLength; len(line) < min {
		return "", false, fmt.Errorf("password: must be at least %d characters (auth.password_min_length)", min)
	}
	return line, false, nil
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
				if pw, _, err = a.choosePassword(pf); err != nil {
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
			err = st.View(ctx, func(tx core.Tx) error {
				for off := 0; ; off += 500 {
					page, total, err := tx.ListUsers(ctx, core.UserFilter{Page: core.Page{Limit: 500, Offset: off}})
					if err != nil {
						return err
					}
					users = append(users, page...)
					if len(users) >= total || len(page) == 0 {
						return nil
					}
				}
			})
			if err != nil {
				return err
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

// changeUser loads a user by name, lets fn change it, saves it and audits the action
// (the command line acts as "system").
func (a *app) changeUser(ctx context.Context, username, action string, fn func(context.Context, core.Tx, *core.User) error) error {
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	return userError(st.Update(ctx, func(tx core.Tx) error {
		u, err := tx.UserByUsername(ctx, username)
		if err != nil {
			return err
		}
		if err := fn(ctx, tx, u); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.NewAudit(nil, action, "user", u.ID, map[string]any{"username": u.Username, "via": "cli"}))
	}))
}

func (a *app) userSetPasswordCmd() *cobra.Command {
	var pf passwordFlags
	cmd := &cobra.Command{
		Use:   "set-password USERNAME",
		Short: "Set a user's password (random and printed, or read with --password-stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.load(); err != nil {
				return err
			}
			pw, generated, err := a.choosePassword(pf)
			if err != nil {
				return err
			}
			hash, err := password.Hash(pw)
			if err != nil {
				return err
			}
			err = a.changeUser(cmd.Context(), args[0], "user.password_set", func(ctx context.Context, tx core.Tx, u *core.User) error {
				u.PasswordHash, u.MustChangePassword = hash, generated
				// A password set from the command line ends the user's sessions, as a
				// reset through the API does.
				_, err := tx.DeleteUserSessions(ctx, u.ID, "")
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "password of %s changed\n", args[0])
			if generated {
				fmt.Fprintf(a.stdout, "password: %s\n", pw)
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
			var id string
			err = st.View(ctx, func(tx core.Tx) error {
				u, err := tx.UserByUsername(ctx, args[0])
				if err == nil {
					id = u.ID
				}
				return err
			})
			if err == nil {
				// The service refuses to disable the last enabled administrator.
				_, err = a.auth(st).SetDisabled(ctx, nil, id, !enable)
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
