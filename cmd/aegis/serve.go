package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/aegis-sec/aegis/api"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/password"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/web"
)

func (a *app) serveCmd() *cobra.Command {
	var listen string
	var noMigrate bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API and the web app",
		Long: `Serve the REST API under /api/v1 and the web app, migrating the database first
(unless --no-migrate). On the first start, with no user in the database, an "admin"
user is created and its password printed once (or taken from AEGIS_ADMIN_PASSWORD).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.serving = true
			return a.serve(cmd.Context(), listen, noMigrate)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, overriding server.listen (e.g. 127.0.0.1:8080)")
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not apply pending database migrations on start")
	return cmd
}

func (a *app) serve(ctx context.Context, listen string, noMigrate bool) error {
	st, err := a.openStore(ctx, !noMigrate)
	if err != nil {
		return err
	}
	defer st.Close()
	if listen == "" {
		listen = a.cfg.Server.Listen
	}
	if err := a.bootstrapAdmin(ctx, st); err != nil {
		return err
	}
	blobs, err := evidence.Open(a.cfg.Evidence)
	if err != nil {
		return err
	}
	if err := evidence.Check(ctx, blobs); err != nil {
		// Evidence routes fail until the store answers; everything else works meanwhile.
		a.log.Warn("evidence store unavailable", "backend", a.cfg.Evidence.Backend, "error", err)
	}

	// Background work (imports started from the API) ends with the server; no plugin
	// process outlives it.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer pluginhost.Shutdown()
	defer stopBG()
	imports := importer.NewService(bg, &importer.Runner{Store: st, Host: a.host(), Log: a.log.Named("import")})
	exports := exporter.NewService(bg, a.exportRunner(st))
	go func() {
		// Check every configured plugin once at start, so the plugin list shows what each
		// one is (or why it does not start) without waiting for its first import.
		list, err := imports.Plugins(bg, true)
		if err != nil {
			a.log.Warn("plugin discovery failed", "error", err)
			return
		}
		for _, p := range list {
			if p.Status == "error" {
				a.log.Warn("plugin does not start", "plugin", p.Name, "error", p.LastError)
			} else {
				a.log.Debug("plugin", "plugin", p.Name, "status", p.Status, "version", p.Version)
			}
		}
	}()

	if a.cfg.Scheduler.Enabled {
		sched, err := a.startScheduler(st, imports, blobs)
		if err != nil {
			return err
		}
		defer sched.Stop()
	}

	srv := api.New(api.Deps{
		Imports:  imports,
		Exports:  exports,
		Store:    st,
		Log:      a.log.Named("http"),
		Version:  version,
		Web:      web.Dist(),
		WebBuilt: web.Built(),
		Registry: prometheus.NewRegistry(),
		Auth:     a.cfg.Auth,
		TLS:      a.cfg.Server.TLS(),

		TrustedProxies: a.cfg.Server.TrustedProxies,
		Blobs:          blobs,
		Evidence:       a.cfg.Evidence,
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if a.cfg.Server.TLS() {
		scheme = "https"
	}
	a.log.Info("serving", "url", fmt.Sprintf("%s://%s", scheme, ln.Addr()), "database", a.cfg.Database.Driver, "version", version)

	errc := make(chan error, 1)
	go func() {
		if a.cfg.Server.TLS() {
			errc <- hs.ServeTLS(ln, a.cfg.Server.TLSCert, a.cfg.Server.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "grace", a.cfg.Server.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	stopBG()
	imports.Wait()
	exports.Wait()
	a.log.Info("stopped")
	return nil
}

// bootstrapAdmin creates the first administrator when the database has no user, so a
// fresh installation can be signed in to. The password is printed once, to stdout.
func (a *app) bootstrapAdmin(ctx context.Context, st core.Store) error {
	return st.Update(ctx, func(tx core.Tx) error {
		n, err := tx.CountUsers(ctx)
		if err != nil || n > 0 {
			return err
		}
		pw, given := os.LookupEnv("AEGIS_ADMIN_PASSWORD")
		if !given || pw == "" {
			pw = core.RandomToken(20)
			given = false
		}
		hash, err := password.Hash(pw)
		if err != nil {
			return err
		}
		u := &core.User{Username: "admin", DisplayName: "Administrator", Role: core.RoleAdmin,
			PasswordHash: hash, MustChangePassword: !given}
		if err := tx.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("create first admin: %w", err)
		}
		if given {
			fmt.Fprintln(a.stdout, "Created the first administrator \"admin\" with the password from AEGIS_ADMIN_PASSWORD.")
		} else {
			fmt.Fprintf(a.stdout, "\nCreated the first administrator (shown once, change it after signing in):\n  username: admin\n  password: %s\n\n", pw)
			fmt.Fprintf(a.stdout, "The database is empty. Import the reference data with the plugins of %s, for example:\n"+
				"  aegis import attack          # ATT&CK techniques (add --source PATH to import offline)\n"+
				"  aegis import atomic          # Atomic Red Team test templates\n"+
				"  aegis import sigma           # Sigma detection rules\n"+
				"  aegis plugins list           # every configured plugin\n\n", a.configPath)
		}
		return nil
	})
}
