package schedule

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestJobsRunOnScheduleAndUnderTheirLock(t *testing.T) {
	locker := &ProcessLocker{}
	s := New(locker, nil)
	var runs atomic.Int32
	if err := s.Add(Job{Name: "tick", Spec: "@every 1s", Run: func(context.Context) error { runs.Add(1); return nil }}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "bad", Spec: "every now and then"}); err == nil {
		t.Fatal("a bad spec was accepted")
	}
	s.Start()
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	if runs.Load() == 0 {
		t.Fatal("the job never ran")
	}

	// With its lock held elsewhere, a job is skipped and says why.
	unlock, ok, _ := locker.TryJobLock(context.Background(), "job:held")
	if !ok {
		t.Fatal("lock not taken")
	}
	ran := false
	s.RunNow(Job{Name: "held", Spec: "@daily", Run: func(context.Context) error { ran = true; return nil }})
	if ran {
		t.Fatal("a job ran while another holder had its lock")
	}
	unlock()
	s.RunNow(Job{Name: "held", Spec: "@daily", Run: func(context.Context) error { ran = true; return errors.New("boom") }})
	var last Run
	for _, r := range s.Runs() {
		if r.Job == "held" {
			last = r
		}
	}
	if !ran || last.Error != "boom" {
		t.Fatalf("after unlock: ran=%v last=%+v", ran, last)
	}
}

func TestPanickingJobDoesNotStopTheScheduler(t *testing.T) {
	s := New(&ProcessLocker{}, nil)
	var after atomic.Int32
	s.Add(Job{Name: "panics", Spec: "@every 1s", Run: func(context.Context) error { panic("job bug") }})
	s.Add(Job{Name: "fine", Spec: "@every 1s", Run: func(context.Context) error { after.Add(1); return nil }})
	s.Start()
	deadline := time.Now().Add(5 * time.Second)
	for after.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	if after.Load() < 2 {
		t.Fatalf("the scheduler stopped after a panic (fine ran %d times)", after.Load())
	}
}

// "@every" fires on the same instants in every instance, whenever each started, and a
// firing a few milliseconds late names the instant it stands for: two instances name
// the same tick, so the job's run is claimed once between them.
func TestEveryIsAlignedAcrossInstances(t *testing.T) {
	sched, err := Parse("@every 2s")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, started := range []time.Time{base.Add(300 * time.Millisecond), base.Add(1700 * time.Millisecond)} {
		if next := sched.Next(started); !next.Equal(base.Add(2 * time.Second)) {
			t.Errorf("started at %s: next firing %s, want %s", started.Format("15:04:05.000"), next.Format("15:04:05.000"), base.Add(2*time.Second))
		}
	}
	for _, late := range []time.Duration{0, 3 * time.Millisecond, 900 * time.Millisecond} {
		if tick := Tick(sched, base.Add(2*time.Second+late)); !tick.Equal(base.Add(2 * time.Second)) {
			t.Errorf("fired %s late: tick %s", late, tick)
		}
	}
	if _, err := Parse("@every banana"); err == nil {
		t.Error("a bad @every was accepted")
	}
}
