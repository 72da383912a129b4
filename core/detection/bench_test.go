package detection

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aegis-sec/aegis/core/events"
)

// sampleEvents reads every JSON twin of the regression samples.
func sampleEvents(b testing.TB) []*events.Event {
	root := upstreamDir(b, "sigma/regression_data")
	var out []*events.Event
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return events.Read(p, data, events.Options{}, func(e *events.Event) error { out = append(out, e); return nil })
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// varied returns n events made from the samples with their values varied the way a
// real stream varies: other process ids, times, users, paths and arguments, so that
// per-value caching cannot help and most events match nothing.
func varied(samples []*events.Event, n int) []*events.Event {
	rng := rand.New(rand.NewSource(1))
	users := []string{`CORP\alice`, `CORP\bob`, `NT AUTHORITY\SYSTEM`, `CORP\svc_backup`}
	dirs := []string{`C:\Windows\System32\`, `C:\Program Files\Vendor\`, `C:\Users\bob\AppData\Local\Temp\`, `D:\tools\`}
	out := make([]*events.Event, n)
	for i := range out {
		e := samples[rng.Intn(len(samples))].Clone()
		e.ID = strconv.Itoa(i)
		e.Set("ProcessId", strconv.Itoa(rng.Intn(60000)))
		e.Set("UtcTime", fmt.Sprintf("2026-01-%02d %02d:%02d:%02d.%03d", 1+rng.Intn(28), rng.Intn(24), rng.Intn(60), rng.Intn(60), rng.Intn(1000)))
		e.Set("User", users[rng.Intn(len(users))])
		// Two in three events are everyday noise: another image and command line.
		if rng.Intn(3) > 0 {
			if f, ok := e.Get("Image"); ok {
				img := dirs[rng.Intn(len(dirs))] + "app" + strconv.Itoa(rng.Intn(500)) + ".exe"
				e.Set(f.Name, img)
				if _, ok := e.Get("CommandLine"); ok {
					e.Set("CommandLine", img+" --run "+strconv.Itoa(rng.Intn(1e6)))
				}
			}
			if f, ok := e.Get("TargetFilename"); ok {
				e.Set(f.Name, dirs[rng.Intn(len(dirs))]+"file"+strconv.Itoa(rng.Intn(1e5))+".dat")
			}
			if f, ok := e.Get("TargetObject"); ok {
				e.Set(f.Name, `HKLM\SOFTWARE\Vendor\Key`+strconv.Itoa(rng.Intn(1e4)))
			}
		}
		out[i] = e
	}
	return out
}

// pool is the stream of varied events, built once per test binary (the
// benchmark function runs more than once).
func pool(b *testing.B) []*events.Event {
	samples := sampleEvents(b)
	benchPoolOnce.Do(func() { benchPoolEvents = varied(samples, 200_000) })
	return benchPoolEvents
}

var (
	benchPoolOnce   sync.Once
	benchPoolEvents []*events.Event
)

// benchEvaluate compiles the SigmaHQ rules into a fresh engine (so the heap it adds,
// log-source state built while evaluating included, is measured) and evaluates b.N
// events on one goroutine locked to its thread. Besides wall-clock figures it reports
// the thread's own CPU time per event, which the other processes of a shared machine
// do not inflate.
func benchEvaluate(b *testing.B, opts Options) {
	sigmaHQ(b)
	evs := pool(b)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e, err := Compile(sigmaHQSources, opts)
	if err != nil {
		b.Fatal(err)
	}
	// Each log source's index is built by the first event of it: a one-time cost,
	// paid before the timer starts (the heap it takes is in MiB-engine).
	seen := map[events.LogSource]bool{}
	for _, ev := range evs {
		if !seen[ev.LogSource] {
			seen[ev.LogSource] = true
			e.Evaluate(ev, func(Match) {})
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	matches := 0
	count := func(Match) { matches++ }
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := threadCPU()
	for i := 0; i < b.N; i++ {
		e.Evaluate(evs[i%len(evs)], count)
	}
	cpu1, _ := threadCPU()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpuOK {
		perEvent := float64(cpu1-cpu0) / float64(b.N) / 1e3
		b.ReportMetric(perEvent, "cpu-µs/event")
		b.ReportMetric(1e6/perEvent, "cpu-events/s")
	}
	b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "MiB-engine")
	runtime.KeepAlive(e)
}

// BenchmarkSigmaHQ evaluates the whole SigmaHQ rules/ set (3,140 evaluable rules) over
// a stream of events built from the regression samples, on one goroutine. Run with
// -benchtime=3000000x for a few million events; the pool of distinct events is
// 200,000 and is cycled.
func BenchmarkSigmaHQ(b *testing.B) { benchEvaluate(b, Options{}) }

// BenchmarkSigmaHQNoPrefilter is BenchmarkSigmaHQ evaluating every rule of an
// event's log source: the ratio of the two is what the literal prefilter gains.
func BenchmarkSigmaHQNoPrefilter(b *testing.B) { benchEvaluate(b, Options{noPrefilter: true}) }
