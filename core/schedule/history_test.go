package schedule_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/schedule"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
)

// TestTwoInstancesRunEachTickOnce runs two schedulers on one PostgreSQL database (two
// store handles, as two servers would have) and fires every job's tick on both at
// once: each tick runs exactly once, and every run is recorded with its outcome.
func TestTwoInstancesRunEachTickOnce(t *testing.T) {
	dsn := storetest.DSN(t, store.Postgres)
	var a [2]*schedule.Scheduler
	var stores [2]*store.Store
	for i := range stores {
		s, err := store.Open(context.Background(), store.Options{Driver: store.Postgres, DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	if err := stores[0].Migrate(); err != nil {
		t.Fatal(err)
	}
	st, other := stores[0], stores[1]
	a[0], a[1] = schedule.New(st, nil), schedule.New(other, nil)
	a[0].Recorder, a[1].Recorder = &schedule.History{Store: st, Instance: "one"}, &schedule.History{Store: other, Instance: "two"}
	var snapshots, recurring atomic.Int32
	jobs := []schedule.Job{
		{Name: "coverage_snapshot", Spec: "0 0 * * 0", Run: func(context.Context) error { snapshots.Add(1); time.Sleep(20 * time.Millisecond); return nil }},
		{Name: "recurring_campaigns", Spec: "@daily", Run: func(context.Context) error { recurring.Add(1); return nil }},
	}
	sched, _ := cron.ParseStandard("0 0 * * 0")
	tick := schedule.Tick(sched, time.Date(2026, 7, 5, 0, 0, 0, 3_000_000, time.UTC)) // Sunday, 3 ms late
	if !tick.Equal(time.Date(2026, 7, 5, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("tick = %v", tick)
	}
	const ticks = 5
	for i := 0; i < ticks; i++ {
		at := tick.AddDate(0, 0, 7*i)
		var wg sync.WaitGroup
		for _, s := range a {
			for _, j := range jobs {
				wg.Add(1)
				go func() { defer wg.Done(); s.RunTick(j, at) }()
			}
		}
		wg.Wait()
	}
	if snapshots.Load() != ticks || recurring.Load() != ticks {
		t.Fatalf("runs: snapshot %d, recurring %d; want %d each", snapshots.Load(), recurring.Load(), ticks)
	}
	runs, total, err := (&schedule.History{Store: st}).List(context.Background(), core.JobRunFilter{Job: "coverage_snapshot"})
	if err != nil || total != ticks {
		t.Fatalf("recorded %d snapshot runs (%v), want %d", total, err, ticks)
	}
	for _, r := range runs {
		if r.Outcome != "succeeded" || r.FinishedAt == nil || (r.Instance != "one" && r.Instance != "two") {
			t.Errorf("run %+v", r)
		}
	}
}

// TestRecordedFailure records a failing run with its error.
func TestRecordedFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := schedule.New(st, nil)
		h := &schedule.History{Store: st, Instance: "x"}
		s.Recorder = h
		s.RunNow(schedule.Job{Name: "broken", Spec: "@daily", Run: func(context.Context) error { return errTest }})
		runs, _, err := h.List(context.Background(), core.JobRunFilter{})
		if err != nil || len(runs) != 1 || runs[0].Outcome != "failed" || runs[0].Error != "boom" {
			t.Fatalf("runs: %+v %v", runs, err)
		}
	})
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("boom")
