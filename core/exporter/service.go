package exporter

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// MaxRunning bounds the exports that run at once: each starts a plugin process.
const MaxRunning = 4

// Service runs exports in the background for the API and serves their artifacts.
type Service struct {
	Runner *Runner
	// Ctx bounds background runs (the server's lifetime).
	Ctx context.Context

	mu       sync.Mutex
	progress map[string]*core.ExportProgress
	running  int
	wg       sync.WaitGroup
}

var _ core.ExportService = (*Service)(nil)

// NewService returns a service whose runs end when ctx does.
func NewService(ctx context.Context, r *Runner) *Service {
	return &Service{Runner: r, Ctx: ctx, progress: map[string]*core.ExportProgress{}}
}

// StartExport begins a run and returns its row as soon as it exists.
func (s *Service) StartExport(_ context.Context, req core.ExportRequest, actor *core.User) (*core.ExportRun, error) {
	if req.Plugin == "" {
		return nil, core.FieldError("plugin", "is required")
	}
	if _, err := s.Runner.Host.Plugin(req.Plugin); err != nil {
		return nil, core.FieldError("plugin", "%v", err)
	}
	if err := req.Scope.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.running >= MaxRunning {
		s.mu.Unlock()
		return nil, core.Errorf(core.ETOOMANY, "%d exports are running already; try again when one has finished", MaxRunning)
	}
	s.running++
	s.mu.Unlock()

	created := make(chan *core.ExportRun, 1)
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
			s.running--
			delete(s.progress, runID)
			s.mu.Unlock()
		}()
		res, err := s.Runner.Run(s.Ctx, Options{Plugin: req.Plugin, Type: req.Type, Scope: req.Scope, TriggeredBy: triggered,
			Actor: actor,
			OnCreated: func(r *core.ExportRun) {
				runID = r.ID
				s.mu.Lock()
				s.progress[r.ID] = &core.ExportProgress{Phase: "starting"}
				s.mu.Unlock()
				created <- r
			},
			Progress: func(p core.ExportProgress) {
				s.mu.Lock()
				if runID != "" {
					s.progress[runID] = &p
				}
				s.mu.Unlock()
			}})
		if res == nil && err != nil {
			failed <- err
		}
	}()
	select {
	case r := <-created:
		return r, nil
	case err := <-failed:
		return nil, err
	case <-time.After(30 * time.Second):
		return nil, errors.New("export: the run was not created within 30s")
	}
}

// Progress returns the live progress of a running export.
func (s *Service) Progress(runID string) (*core.ExportProgress, bool) {
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

// ExportRun returns a run with its artifacts (without their bytes) and, while it
// runs, its progress.
func (s *Service) ExportRun(ctx context.Context, id string) (*core.ExportRunView, error) {
	v := &core.ExportRunView{}
	err := s.Runner.Store.View(ctx, func(tx core.Tx) error {
		run, err := tx.ExportRunByID(ctx, id)
		if err != nil {
			return err
		}
		v.ExportRun = run
		v.ArtifactList, err = tx.ExportArtifacts(ctx, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	if v.Outcome == core.RunRunning {
		v.Progress, _ = s.Progress(id)
	}
	return v, nil
}

// ListExportRuns returns one page of runs, newest first.
func (s *Service) ListExportRuns(ctx context.Context, f core.ExportRunFilter) ([]*core.ExportRun, int, error) {
	var list []*core.ExportRun
	var total int
	err := s.Runner.Store.View(ctx, func(tx core.Tx) error {
		var err error
		list, total, err = tx.ListExportRuns(ctx, f)
		return err
	})
	return list, total, err
}

// ExportArtifact returns an artifact of a succeeded run with its bytes.
func (s *Service) ExportArtifact(ctx context.Context, runID, name string) (*core.ExportArtifact, error) {
	var out *core.ExportArtifact
	err := s.Runner.Store.View(ctx, func(tx core.Tx) error {
		run, err := tx.ExportRunByID(ctx, runID)
		if err != nil {
			return err
		}
		if run.Outcome != core.RunSucceeded {
			return core.Errorf(core.ENOTFOUND, "export run %s has no artifact: it %s", runID, outcomeWords(run))
		}
		arts, err := tx.ExportArtifacts(ctx, runID, true)
		if err != nil {
			return err
		}
		out, err = pickArtifact(arts, runID, name)
		return err
	})
	return out, err
}

func outcomeWords(r *core.ExportRun) string {
	if r.Outcome == core.RunRunning {
		return "is still running"
	}
	return "failed: " + r.Error
}

// pickArtifact returns the named artifact, or the only one when name is empty.
func pickArtifact(arts []*core.ExportArtifact, runID, name string) (*core.ExportArtifact, error) {
	if name == "" {
		if len(arts) == 1 {
			return arts[0], nil
		}
		var names []string
		for _, a := range arts {
			names = append(names, a.Name)
		}
		return nil, core.FieldError("name", "export run %s produced %d artifacts (%v): name one", runID, len(arts), names)
	}
	for _, a := range arts {
		if a.Name == name {
			return a, nil
		}
	}
	return nil, core.Errorf(core.ENOTFOUND, "export run %s has no artifact named %q", runID, name)
}
