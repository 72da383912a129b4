// Package schedule runs Aegis's background jobs on robfig/cron: ATT&CK sync, intel scan,
// notification cleanup, scheduled plugin imports. Several instances may share one
// database; a job then runs on exactly one of them at a time, whichever takes the job's
// lock first, never on none.
package schedule

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/robfig/cron/v3"
)

// Locker hands out one named lock across every instance that shares the database.
type Locker interface {
	// TryJobLock takes the lock without waiting; ok is false when another holder has it.
	TryJobLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// Job is one scheduled task.
type Job struct {
	Name string
	Spec string // cron spec: five fields or a descriptor (@daily, @every 1h)
	Run  func(ctx context.Context) error
}

// Scheduler runs jobs on their schedules.
type Scheduler struct {
	cron   *cron.Cron
	locker Locker
	log    hclog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	runs map[string]Run

	// Recorder, when set, records every run and makes a tick run once across every
	// instance that shares it (set before Start).
	Recorder Recorder
}

// Recorder keeps the history of job runs. ClaimRun records a run of job for its
// scheduled tick and reports false when one was claimed already (by this instance or
// another): a job that finishes quickly releases its lock before a slower instance's
// cron fires for the same tick, so the lock alone would let both run it.
type Recorder interface {
	ClaimRun(ctx context.Context, job string, tick time.Time) (id string, ok bool, err error)
	FinishRun(ctx context.Context, id string, runErr error) error
}

// Run is the outcome of a job's last run on this instance.
type Run struct {
	Job      string        `json:"job"`
	Spec     string        `json:"spec"`
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration"`
	Error    string        `json:"error,omitempty"`
	Skipped  string        `json:"skipped,omitempty"`
}

// New returns a scheduler whose jobs end when Stop is called.
func New(locker Locker, log hclog.Logger) *Scheduler {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl := cronLogger{log}
	return &Scheduler{
		// A job still running when its next tick comes is not started twice; a panic
		// in a job is logged and does not stop the scheduler.
		cron:   cron.New(cron.WithLogger(cl), cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl))),
		locker: locker, log: log, ctx: ctx, cancel: cancel, runs: map[string]Run{},
	}
}

// Add registers a job. A bad spec is an error naming the job.
func (s *Scheduler) Add(j Job) error {
	sched, err := Parse(j.Spec)
	if err != nil {
		return fmt.Errorf("schedule %s: bad spec %q: %w", j.Name, j.Spec, err)
	}
	s.cron.Schedule(sched, cron.FuncJob(func() { s.RunTick(j, Tick(sched, time.Now())) }))
	s.mu.Lock()
	s.runs[j.Name] = Run{Job: j.Name, Spec: j.Spec}
	s.mu.Unlock()
	return nil
}

// Parse reads a cron spec (five fields, or a descriptor such as @daily). "@every D"
// fires on the multiples of D (every instance on the same
// instants, whenever it started), not D after each instance's start, so that
// instances sharing a database name the same tick and run it once between them.
// (The multiples are counted as time.Truncate does, from the zero time: for periods
// that divide a day, on the hour, minute or second as expected.)
func Parse(spec string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		return alignedEvery(every.Delay), nil
	}
	return sched, nil
}

// alignedEvery fires on the multiples of its duration.
type alignedEvery time.Duration

func (a alignedEvery) Next(t time.Time) time.Time {
	return t.Truncate(time.Duration(a)).Add(time.Duration(a))
}

// Tick is the scheduled time a cron firing at now stands for: the schedule's latest
// time at or before now (within a minute, or within an "@every" period), so every
// instance names the same tick even when their clocks fire a few milliseconds apart.
func Tick(sched cron.Schedule, now time.Time) time.Time {
	if a, ok := sched.(alignedEvery); ok {
		return now.Truncate(time.Duration(a)).UTC()
	}
	if t := sched.Next(now.Add(-time.Minute).Truncate(time.Second)); !t.After(now) {
		return t.UTC()
	}
	return now.UTC().Truncate(time.Second)
}

// RunNow runs a job at once, under its lock, as a tick of its own.
func (s *Scheduler) RunNow(j Job) { s.RunTick(j, time.Now().UTC().Truncate(time.Microsecond)) }

// RunTick runs a job for a scheduled tick, under its lock, unless the tick was run
// already (with a Recorder).
func (s *Scheduler) RunTick(j Job, tick time.Time) {
	s.wg.Add(1)
	defer s.wg.Done()
	start := time.Now()
	r := Run{Job: j.Name, Spec: j.Spec, At: start.UTC()}
	unlock, ok, err := s.locker.TryJobLock(s.ctx, "job:"+j.Name)
	switch {
	case err != nil:
		r.Error = fmt.Sprintf("lock: %v", err)
		s.log.Error("job lock failed", "job", j.Name, "error", err)
	case !ok:
		r.Skipped = "another instance is running it"
		s.log.Debug("job skipped: another instance holds its lock", "job", j.Name)
	default:
		func() {
			defer unlock()
			runID := ""
			if s.Recorder != nil {
				id, claimed, err := s.Recorder.ClaimRun(s.ctx, j.Name, tick)
				switch {
				case err != nil:
					r.Error = fmt.Sprintf("record run: %v", err)
					s.log.Error("job run not recorded; not running it", "job", j.Name, "error", err)
					return
				case !claimed:
					r.Skipped = "this tick ran already"
					s.log.Debug("job skipped: its tick ran already", "job", j.Name, "tick", tick)
					return
				}
				runID = id
			}
			s.log.Info("job started", "job", j.Name)
			runErr := j.Run(s.ctx)
			if s.Recorder != nil {
				// The job's context may be cancelled by Stop; the record is still written.
				if err := s.Recorder.FinishRun(context.Background(), runID, runErr); err != nil {
					s.log.Error("job run outcome not recorded", "job", j.Name, "error", err)
				}
			}
			if runErr != nil {
				r.Error = runErr.Error()
				s.log.Error("job failed", "job", j.Name, "error", runErr, "duration", time.Since(start))
				return
			}
			s.log.Info("job finished", "job", j.Name, "duration", time.Since(start).Round(time.Millisecond))
		}()
	}
	r.Duration = time.Since(start)
	s.mu.Lock()
	s.runs[j.Name] = r
	s.mu.Unlock()
}

// Start begins running jobs on their schedules.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop cancels running jobs and waits for them to return.
func (s *Scheduler) Stop() {
	<-s.cron.Stop().Done()
	s.cancel()
	s.wg.Wait()
}

// Runs reports each job's last run on this instance.
func (s *Scheduler) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Run, 0, len(s.runs))
	for _, r := range s.runs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Job < out[j].Job })
	return out
}

// cronLogger adapts hclog to cron's logger.
type cronLogger struct{ l hclog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "error", err)...)
}

// ProcessLocker is a Locker for a single instance (the embedded SQLite mode): locks are
// held in this process only.
type ProcessLocker struct {
	mu   sync.Mutex
	held map[string]bool
}

// TryJobLock takes a process-local lock.
func (p *ProcessLocker) TryJobLock(_ context.Context, name string) (func(), bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]bool{}
	}
	if p.held[name] {
		return nil, false, nil
	}
	p.held[name] = true
	return func() {
		p.mu.Lock()
		delete(p.held, name)
		p.mu.Unlock()
	}, true, nil
}
