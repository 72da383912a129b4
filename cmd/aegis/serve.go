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
	"github.com/aegis-sec/aegis/core/auditlog"
	"github.com/aegis-sec/aegis/core/auth"
	"github.com/aegis-sec/aegis/core/blobstore"
	"github.com/aegis-sec/aegis/core/campaign"
	"github.com/aegis-sec/aegis/core/catalog"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/curation"
	"github.com/aegis-sec/aegis/core/detection"
	"github.com/aegis-sec/aegis/core/evidence"
	"github.com/aegis-sec/aegis/core/exporter"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/inbox"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/reference"
	"github.com/aegis-sec/aegis/core/schedule"
	"github.com/aegis-sec/aegis/core/testflow"
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
	accounts := a.auth(st)
	if err := a.bootstrapAdmin(ctx, accounts); err != nil {
		return err
	}
	blobs, err := blobstore.Open(a.cfg.Evidence)
	if err != nil {
		return err
	}
	if err := blobstore.Check(ctx, blobs); err != nil {
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
	// An import or export whose process was killed stays "running" in its row: it is
	// marked interrupted now, and every importer.SweepEvery (exporter.SweepEvery), once
	// its lock shows that no process runs it.
	a.nowAndEvery(ctx, bg, importer.SweepEvery, "looking for interrupted imports", func(ctx context.Context) error {
		_, err := imports.Runner.SweepInterrupted(ctx)
		return err
	})
	a.nowAndEvery(ctx, bg, exporter.SweepEvery, "looking for interrupted exports", func(ctx context.Context) error {
		_, err := exports.Runner.SweepInterrupted(ctx)
		return err
	})
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

	// With an audit key the chain's head is checkpointed to the evidence store (and the
	// log) at start and every auditlog.CheckpointEvery.
	audit := auditlog.New(st)
	if key, _ := auditKey(); key != nil {
		audit = auditlog.NewAnchored(st, auditlog.Anchor{Key: key, Blobs: blobs, Log: a.log.Named("audit")})
		a.nowAndEvery(ctx, bg, auditlog.CheckpointEvery, "audit checkpoint", func(ctx context.Context) error {
			_, err := audit.Checkpoint(ctx)
			return err
		})
	} else {
		a.log.Info("the audit chain is not anchored: set " + EnvAuditKey + " to sign it and checkpoint it outside the database")
	}

	// The services are the API's only door into the core: it gets no store and no
	// configuration block.
	srv := api.New(api.Deps{
		Log:            a.log.Named("http"),
		Version:        version,
		Web:            web.Dist(),
		WebBuilt:       web.Built(),
		Registry:       prometheus.NewRegistry(),
		Ready:          st.Ping,
		CookieSecure:   a.cfg.Auth.CookieSecure,
		TLS:            a.cfg.Server.TLS(),
		TrustedProxies: a.cfg.Server.TrustedProxies,
		RequestTimeout: a.cfg.Server.RequestTimeout,
		// Searches may hold half the connections at most, so health checks, sign-in
		// and every other request keep the other half.
		SearchConcurrency: max(1, a.cfg.Database.MaxOpenConns/2),
		Auth:              accounts,
		Tests:             testflow.New(st),
		Catalog:           catalog.New(st),
		Curation:          curation.New(st),
		Audit:             audit,
		Inbox:             inbox.New(st, nil),
		Imports:           imports,
		Exports:           exports,
		Evidence: evidence.NewService(st, blobs, evidence.Limits{MaxBytes: a.cfg.Evidence.MaxUploadBytes,
			AllowedTypes: a.cfg.Evidence.AllowedTypes}, a.log.Named("evidence")),
		Reference:  reference.New(st),
		Coverage:   coverage.New(st, nil),
		Campaigns:  campaign.New(st, nil),
		Jobs:       schedule.NewHistory(st),
		Detections: detection.NewService(st, blobs, a.log.Named("detection"), detection.ServiceOptions{}),
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

// nowAndEvery runs fn on ctx at once, then on bg every interval until bg ends, in the
// background; a failure is logged as "<what> failed" and the next tick tries again.
func (a *app) nowAndEvery(ctx, bg context.Context, every time.Duration, what string, fn func(context.Context) error) {
	if err := fn(ctx); err != nil {
		a.log.Warn(what+" failed", "error", err)
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if err := fn(bg); err != nil && bg.Err() == nil {
					a.log.Warn(what+" failed", "error", err)
				}
			}
		}
	}()
}

// bootstrapAdmin creates the first administrator when the database has no user, so a
// fresh installation can be signed in to: with the password AEGIS_ADMIN_PASSWORD gives
// (held to the same minimum length as every password), or a random one printed once.
func (a *app) bootstrapAdmin(ctx context.Context, accounts *auth.Service) error {
	b, err := accounts.BootstrapAdmin(ctx, os.Getenv("AEGIS_ADMIN_PASSWORD"))
	if err != nil || b == nil {
		return err
	}
	if b.Password == "" {
		fmt.Fprintln(a.stdout, "Created the first administrator \"admin\" with the password from AEGIS_ADMIN_PASSWORD.")
		return nil
	}
	fmt.Fprintf(a.stdout, "\nCreated the first administrator (shown once, change it after signing in):\n  username: admin\n  password: %s\n\n", b.Password)
	fmt.Fprintf(a.stdout, "The database is empty. Import the reference data with the plugins of %s, for example:\n"+
		"  aegis import attack          # ATT&CK techniques (add --source PATH to import offline)\n"+
		"  aegis import atomic          # Atomic Red Team test templates\n"+
		"  aegis import sigma           # Sigma detection rules\n"+
		"  aegis plugins list           # every configured plugin\n\n", a.configPath)
	return nil
}
