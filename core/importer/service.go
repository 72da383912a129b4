package importer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/pluginhost"
)

// Service runs imports in the background for the API and the scheduler, one at a time
// per plugin, and keeps their live progress in memory.
type Service struct {
	Runner *Runner
	// Ctx bounds background runs (the server's lifetime).
	Ctx context.Context

	mu       sync.Mutex
	running  map[string]string // plugin → run id
	progress map[string]*core.ImportProgress
	wg       sync.WaitGroup
}

var _ core.ImportService = (*Service)(nil)

// NewService returns a service whose runs end when ctx does.
func NewService(ctx context.Context, r *Runner) *Service {
	return &Service{Runner: r, Ctx: ctx, running: map[string]string{}, progress: map[string]*core.ImportProgress{}}
}

// StartImport begins a run and returns its row as soon as it exists.
func (s *Service) StartImport(ctx context.Context, req core.ImportRequest, actor *core.User) (*core.ImportRun, error) {
	if _, err := s.Runner.Host.Plugin(req.Plugin); err != nil {
		return nil, core.FieldError("plugin", "%v", err)
	}
	// A source given with the request must pass aegis.hcl's import block; the
	// plugin's configured source is the operator's own.
	if req.Source != "" {
		if err := s.Runner.Host.CheckSource(ctx, req.Source); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if id, busy := s.running[req.Plugin]; busy {
		s.mu.Unlock()
		return nil, &core.Error{Code: core.ECONFLICT, Message: fmt.Sprintf("an import of %s is already running (run %s)", req.Plugin, id),
			Detail: map[string]any{"run_id": id}}
	}
	s.running[req.Plugin] = ""
	s.mu.Unlock()

	created := make(chan *core.ImportRun, 1)
	failed := make(chan error, 1)
	triggered := "api"
	if actor != nil {
		triggered = "api:" + actor.Username
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var runID string
		defer func() {
			s.mu.Lock()
			delete(s.running, req.Plugin)
			delete(s.progress, runID)
			s.mu.Unlock()
		}()
		run, err := s.Runner.Run(s.Ctx, Options{Plugin: req.Plugin, Type: req.Type, Source: req.Source, DryRun: req.DryRun,
			TriggeredBy: triggered, Actor: actor,
			OnCreated: func(r *core.ImportRun) {
				runID = r.ID
				s.mu.Lock()
				s.running[req.Plugin] = r.ID
				s.progress[r.ID] = &core.ImportProgress{Phase: "starting"}
				s.mu.Unlock()
				cp := *r
				created <- &cp
			},
			Progress: func(p Progress) {
				s.mu.Lock()
				if runID != "" {
					s.progress[runID] = &core.ImportProgress{Phase: p.Phase, Done: p.Done, Total: p.Total, Records: p.Records,
						Warnings: p.Warnings, Message: p.Message}
				}
				s.mu.Unlock()
			}})
		if run == nil && err != nil {
			failed <- err
		}
	}()
	select {
	case r := <-created:
		return r, nil
	case err := <-failed:
		var ce *core.Error
		if errors.As(err, &ce) {
			return nil, err // a conflict with a run elsewhere stays a conflict
		}
		return nil, core.FieldError("plugin", "%v", err)
	case <-time.After(30 * time.Second):
		return nil, errors.New("import: the run was not created within 30s")
	}
}

// RunImport runs an import to its end (the scheduler's way), refusing to start while
// another run of the same plugin is going on.
func (s *Service) RunImport(ctx context.Context, req core.ImportRequest, triggeredBy string) (*core.ImportRun, error) {
	s.mu.Lock()
	if id, busy := s.running[req.Plugin]; busy {
		s.mu.Unlock()
		return nil, fmt.Errorf("an import of %s is already running (run %s)", req.Plugin, id)
	}
	s.running[req.Plugin] = ""
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, req.Plugin)
		s.mu.Unlock()
	}()
	return s.Runner.Run(ctx, Options{Plugin: req.Plugin, Type: req.Type, Source: req.Source, DryRun: req.DryRun, TriggeredBy: triggeredBy,
		OnCreated: func(r *core.ImportRun) {
			s.mu.Lock()
			s.running[req.Plugin] = r.ID
			s.mu.Unlock()
		}})
}

// ImportProgress returns the live progress of a running import.
func (s *Service) ImportProgress(runID string) (*core.ImportProgress, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.progress[runID]
	if !ok {
		return nil, false
	}
	cp := *p
	return &cp, true
}

// Wait blocks until every background run has ended (tests, shutdown).
func (s *Service) Wait() { s.wg.Wait() }

// Plugins lists every plugin the host knows, with what the store remembers of it.
func (s *Service) Plugins(ctx context.Context, refresh bool) ([]core.PluginStatus, error) {
	return Discover(ctx, s.Runner.Store, s.Runner.Host, refresh)
}

// Discover lists the configured plugins and the unconfigured binaries of the plugin
// directory. With describe, each enabled plugin is started and asked what it offers,
// and its answer (or error) is stored; without, the last stored answer is shown.
func Discover(ctx context.Context, st core.Store, h *pluginhost.Host, describe bool) ([]core.PluginStatus, error) {
	known := map[string]*core.PluginInfo{}
	err := st.View(ctx, func(tx core.Tx) error {
		list, err := tx.ListPlugins(ctx)
		for _, p := range list {
			known[p.Name] = p
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []core.PluginStatus
	for _, e := range h.Entries() {
		row := core.PluginStatus{PluginInfo: core.PluginInfo{Name: e.Name, Path: e.Path, Enabled: e.Enabled,
			Kinds: core.Strings{}, RecordKinds: core.Strings{}}, Configured: e.Configured}
		if k := known[e.Name]; k != nil {
			row.PluginInfo = *k
			row.Path, row.Enabled = e.Path, e.Enabled
		}
		switch {
		case !e.Configured:
			row.Status, row.Enabled = "not configured", false
			if sum, err := pluginhost.FileSHA256(e.Path); err == nil {
				row.SHA256 = sum
			}
			out = append(out, row)
			continue
		case !e.Enabled:
			row.Status = "disabled"
		case describe:
			info, err := describeAndValidate(ctx, h, e.Name)
			if info != nil {
				row.PluginInfo = *info
			}
			row.Status, row.LastError = "ok", ""
			if err != nil {
				row.Status, row.LastError = "error", err.Error()
			}
		case row.LastError != "":
			row.Status = "error"
		case row.LastSeenAt == nil:
			row.Status = "not described"
		default:
			row.Status = "ok"
		}
		if describe || known[e.Name] == nil || known[e.Name].Enabled != e.Enabled {
			info := row.PluginInfo
			if err := st.Update(ctx, func(tx core.Tx) error { return tx.UpsertPlugin(ctx, &info) }); err != nil {
				return nil, err
			}
			row.PluginInfo = info
		}
		out = append(out, row)
	}
	return out, nil
}

// describeAndValidate starts a plugin once, asks what it offers and has it check its
// config block for each of its components, so a bad block shows in the plugin list
// before an import fails on it.
func describeAndValidate(ctx context.Context, h *pluginhost.Host, name string) (*core.PluginInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	inst, err := h.Start(ctx, name)
	if err != nil {
		return nil, err
	}
	defer inst.Close()
	desc, err := inst.Client.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin %q: describe: %w", name, err)
	}
	info := pluginhost.Info(inst, desc)
	for _, c := range desc.Components {
		if err := inst.ValidateConfig(ctx, c.Kind, c.Type); err != nil {
			return info, err
		}
	}
	return info, nil
}
