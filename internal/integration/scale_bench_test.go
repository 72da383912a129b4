package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/api/apitest"
	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/coverage"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/core/synthetic"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// BenchmarkScale measures the scale targets on a synthetic organisation
// (core/synthetic, seed 1) over the real ATT&CK Enterprise v18.1 catalog imported by the
// attack plugin, once per database: AEGIS_BENCH_SCALE sets the size (default 0.1; `make
// bench` runs 1). The HTTP figures are taken against a real `aegis serve` process on the
// seeded database, whose peak RSS is read from /proc. Every figure is also written to
// bench/out/results.json (name, value, unit, command).
//
// Each sub-benchmark seeds once and reports its figures as custom metrics; b.N is not
// used for timing (the load runs for a fixed number of requests), so run it with
// -benchtime 1x.
//
// Seeding scale 1 takes minutes. To measure a change quickly, seed a database once
// (`aegis import attack`, then `aegis dev seed --scale 1 --seed 1 --end 2026-11-29`) and
// name it in AEGIS_BENCH_KEPT_SQLITE (a file) or AEGIS_BENCH_KEPT_POSTGRES (a DSN): only
// the databases named are then measured, on their data as it is (after migrating them),
// and the snapshots the measurement takes are deleted again at its end.
func BenchmarkScale(b *testing.B) {
	scale := 0.1
	if v, err := strconv.ParseFloat(os.Getenv("AEGIS_BENCH_SCALE"), 64); err == nil && v > 0 {
		scale = v
	}
	kept := map[string]string{store.SQLite: os.Getenv("AEGIS_BENCH_KEPT_SQLITE"), store.Postgres: os.Getenv("AEGIS_BENCH_KEPT_POSTGRES")}
	if kept[store.SQLite] != "" || kept[store.Postgres] != "" {
		for _, driver := range []string{store.SQLite, store.Postgres} {
			if dsn := kept[driver]; dsn != "" {
				b.Run(driver+"/kept", func(b *testing.B) { runKept(b, driver, dsn) })
			}
		}
		return
	}
	cti := upstream(b, "mitre-cti")
	for _, driver := range []string{store.SQLite, store.Postgres} {
		b.Run(fmt.Sprintf("%s/scale=%g", driver, scale), func(b *testing.B) {
			runScale(b, driver, scale, filepath.Join(cti, "enterprise-attack"))
		})
	}
}

// runKept measures a database seeded beforehand (see BenchmarkScale).
func runKept(b *testing.B, driver, dsn string) {
	st, err := store.Open(ctx, store.Options{Driver: driver, DSN: dsn})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(); err != nil {
		b.Fatalf("migrate %s: %v", dsn, err)
	}
	measureScale(b, st, driver, dsn, driver+"/kept/", true, nil)
}

type figure struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Target  string  `json:"target,omitempty"`
	Command string  `json:"command"`
	At      string  `json:"at"`
}

func runScale(b *testing.B, driver string, scale float64, attackDir string) {
	e := newEnvOn(b, driver, map[string]string{"attack": `{"release_version":"18.1"}`})
	e.Import(b, "attack", attackDir)
	began := time.Now()
	res, err := synthetic.Generate(ctx, e.Store, synthetic.Options{Scale: scale, Seed: 1, End: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	seedTime := time.Since(began)
	b.Logf("%s: seeded %d tests, %d campaigns, %d snapshots in %s", driver, res.Tests, res.Campaigns, res.Snapshots, seedTime.Round(time.Millisecond))
	base := ""
	if driver == store.Postgres {
		base = os.Getenv(storetest.EnvPostgresDSN)
	}
	measureScale(b, e.Store, driver, base, fmt.Sprintf("%s/scale=%g/", driver, scale), false,
		[]figure{{Name: fmt.Sprintf("%s/scale=%g/seed", driver, scale), Value: seedTime.Seconds(), Unit: "s"}})
}

// measureScale takes the figures on a seeded store; base is the DSN aegis serve is
// given (for PostgreSQL, without the benchmark's schema, which it adds). The figures of
// a kept database (see BenchmarkScale) are reported but not written to results.json,
// which holds those of the seeded runs.
func measureScale(b *testing.B, st *store.Store, driver, base, prefix string, kept bool, figs []figure) {
	report := func(name string, v float64, unit, target string) {
		b.ReportMetric(v, unit+"_"+strings.ReplaceAll(name, " ", "_"))
		figs = append(figs, figure{Name: prefix + name, Value: v, Unit: unit, Target: target})
	}
	for _, f := range figs {
		b.ReportMetric(f.Value, f.Unit+"_"+strings.TrimPrefix(f.Name, prefix))
	}

	// AEGIS_BENCH_ROUNDS (default 1) repeats every measurement on the same seeded
	// database; each figure is then the median of the rounds' figures, and every
	// round's value is logged.
	rounds := 1
	if v, err := strconv.Atoi(os.Getenv("AEGIS_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	type sample struct {
		unit, target string
		values       []float64
	}
	samples := map[string]*sample{}
	var order []string
	measure := func(name string, v float64, unit, target string) {
		s, ok := samples[name]
		if !ok {
			s = &sample{unit: unit, target: target}
			samples[name] = s
			order = append(order, name)
		}
		s.values = append(s.values, v)
	}

	// In process: the organisation score recomputed from the tests, and a snapshot.
	cov := coverage.New(st, nil)
	// Over HTTP, against aegis serve.
	srv := startServer(b, st, driver, base, kept)
	c := srv.login(b)
	var ids []string
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	c.getJSON(b, "/api/v1/tests?limit=200&offset=1000", &page)
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	var camps struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	c.getJSON(b, "/api/v1/campaigns?limit=100", &camps)
	if len(ids) == 0 || len(camps.Items) == 0 {
		b.Fatalf("no tests (%d) or campaigns (%d) to read", len(ids), len(camps.Items))
	}
	mixed := func(i int) string {
		switch i % 10 {
		case 0, 1, 2:
			return "/api/v1/tests?limit=50"
		case 3:
			return "/api/v1/tests?limit=50&state=validated"
		case 4:
			return fmt.Sprintf("/api/v1/tests?limit=50&offset=%d", (i%20)*50)
		case 5, 6:
			return "/api/v1/tests/" + ids[i%len(ids)]
		case 7:
			return "/api/v1/campaigns?limit=50"
		case 8:
			return "/api/v1/campaigns/" + camps.Items[i%len(camps.Items)].ID
		default:
			return "/api/v1/techniques?limit=50"
		}
	}
	var taken []string // the snapshots taken here, deleted again on a kept database
	if kept {
		b.Cleanup(func() { deleteSnapshots(b, st, taken) })
	}
	for r := 0; r < rounds; r++ {
		measure("org score recompute p50", p50(timeN(b, 15, func() error {
			_, err := cov.Scores(ctx, coverage.DefaultDomain)
			return err
		})), "ms", "< 250 ms")
		measure("snapshot create p50", p50(timeN(b, 3, func() error {
			snap, err := cov.CreateSnapshot(ctx, nil, "bench")
			if err == nil {
				taken = append(taken, snap.ID)
			}
			return err
		})), "ms", "< 2000 ms")
		c.get(b, "/api/v1/matrix") // warm
		measure("matrix p99", p99(c.timeGets(b, 200, func(int) string { return "/api/v1/matrix" })), "ms", "< 50 ms")
		measure("test list page p99", p99(c.timeGets(b, 500, func(int) string { return "/api/v1/tests?limit=50" })), "ms", "< 20 ms")
		srvCPU, cliCPU := srv.cpuTime(b), selfCPUTime(b)
		began := time.Now()
		rps, errs := c.load(b, 4, 15*time.Second, mixed)
		took := time.Since(began)
		measure("mixed reads", rps, "req/s", "> 1500")
		measure("mixed read errors", float64(errs), "count", "0")
		// Where the CPU of the load went: the server's and the client's (this process)
		// per request, in ms. Both share the machine's cores; on PostgreSQL the
		// database's own processes use the rest.
		n := rps * took.Seconds()
		measure("mixed read server CPU per request", float64((srv.cpuTime(b)-srvCPU).Microseconds())/1000/n, "ms", "")
		measure("mixed read client CPU per request", float64((selfCPUTime(b)-cliCPU).Microseconds())/1000/n, "ms", "")
	}
	for _, name := range order {
		s := samples[name]
		if rounds > 1 {
			b.Logf("%s%s: rounds %v %s, median %.4g", prefix, name, s.values, s.unit, p50(s.values))
		}
		report(name, p50(s.values), s.unit, s.target)
	}
	report("server peak RSS", float64(srv.peakRSS(b))/1024, "MB", "< 250 MB")
	if !kept {
		writeFigures(b, figs)
	}
}

// timeN runs fn n times and returns each duration in milliseconds.
func timeN(b *testing.B, n int, fn func() error) []float64 {
	out := make([]float64, n)
	for i := range out {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		out[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	return out
}

func quantile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func p50(xs []float64) float64 { return quantile(xs, 0.5) }
func p99(xs []float64) float64 { return quantile(xs, 0.99) }

type server struct {
	cmd  *exec.Cmd
	base string
	user string
}

// deleteSnapshots removes the snapshots a measurement took on a kept database, so
// that every run measures the same data.
func deleteSnapshots(b *testing.B, st *store.Store, ids []string) {
	for _, id := range ids {
		for _, q := range []string{`DELETE FROM snapshot_test_states WHERE snapshot_id = ?`,
			`DELETE FROM snapshot_technique_states WHERE snapshot_id = ?`, `DELETE FROM coverage_snapshots WHERE id = ?`} {
			if _, err := st.DB().Exec(st.DB().Rebind(q), id); err != nil {
				b.Errorf("delete the benchmark's snapshot %s: %v", id, err)
			}
		}
	}
}

// startServer runs aegis serve on the seeded database until the benchmark ends; on a
// kept database its viewer gets a name of its own each run.
func startServer(b *testing.B, st *store.Store, driver, base string, kept bool) *server {
	bin := aegisBinary(b)
	dsn := storeDSN(b, st, driver, base)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := b.TempDir()
	cfg := filepath.Join(dir, "aegis.hcl")
	hcl := fmt.Sprintf("log {\n  level = \"error\"\n}\ndatabase {\n  driver = %q\n  dsn = %q\n}\nevidence {\n  path = %q\n}\nscheduler {\n  enabled = false\n}\n",
		driver, dsn, filepath.Join(dir, "evidence"))
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		b.Fatal(err)
	}
	viewer := "bench-viewer"
	if kept {
		viewer = fmt.Sprintf("bench-viewer-%d", time.Now().UnixNano())
	}
	apitest.CreateUser(b, st, viewer, core.RoleViewer, "")
	cmd := exec.Command(bin, "--config", cfg, "serve", "--listen", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	s := &server{cmd: cmd, base: "http://" + addr, user: viewer}
	for i := 0; ; i++ {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 300 {
			b.Fatal("aegis serve did not answer /healthz within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// storeDSN is the DSN of the benchmark's database as aegis serve needs it.
func storeDSN(b *testing.B, st *store.Store, driver, base string) string {
	if driver == store.Postgres {
		var schema string
		if err := st.DB().Get(&schema, `SELECT current_schema()`); err != nil {
			b.Fatal(err)
		}
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		return base + sep + "search_path=" + schema
	}
	var file string
	if err := st.DB().Get(&file, `SELECT file FROM pragma_database_list WHERE name = 'main'`); err != nil {
		b.Fatal(err)
	}
	return file
}

var (
	aegisOnce sync.Once
	aegisBin  string
)

func aegisBinary(b *testing.B) string {
	aegisOnce.Do(func() {
		buildMu.Lock()
		if buildDir == "" {
			d, err := os.MkdirTemp("", "aegis-integration-")
			if err != nil {
				b.Fatal(err)
			}
			buildDir = d
		}
		buildMu.Unlock()
		p := sdktest.BuildPluginTo(b, filepath.Join("..", "..", "cmd", "aegis"), buildDir)
		aegisBin = p
	})
	return aegisBin
}

// cpuTime is the CPU the server process has used so far (user and system), from
// /proc/PID/stat.
func (s *server) cpuTime(b *testing.B) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("read the server's CPU time: %v", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count the
	// fields after its closing one. utime and stime are fields 14 and 15, in clock ticks
	// (100 a second on Linux).
	rest := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(rest) < 13 {
		b.Fatalf("unexpected /proc stat: %.100s", data)
	}
	ut, err1 := strconv.ParseInt(rest[11], 10, 64)
	st, err2 := strconv.ParseInt(rest[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("unexpected /proc stat utime %q stime %q", rest[11], rest[12])
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPUTime is the CPU this process (the benchmark's client) has used so far.
func selfCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads the server's peak resident set (VmHWM) in KiB.
func (s *server) peakRSS(b *testing.B) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("read the server's RSS: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}

type client struct {
	s *server
	h *http.Client
}

func (s *server) login(b *testing.B) *client {
	jar, _ := cookiejar.New(nil)
	c := &client{s: s, h: &http.Client{Jar: jar, Timeout: time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	body, _ := json.Marshal(map[string]string{"username": s.user, "password": apitest.Password})
	resp, err := c.h.Post(s.base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("login: %d", resp.StatusCode)
	}
	return c
}

func (c *client) get(b *testing.B, path string) ([]byte, error) {
	resp, err := c.h.Get(c.s.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %.200s", path, resp.StatusCode, data)
	}
	return data, err
}

func (c *client) getJSON(b *testing.B, path string, out any) {
	data, err := c.get(b, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		b.Fatalf("GET %s: %v", path, err)
	}
}

// timeGets requests path(i) n times, one after the other, and returns each latency in
// ms; it stops early after a minute (slow code on a slow day), with at least 20 samples.
func (c *client) timeGets(b *testing.B, n int, path func(int) string) []float64 {
	var out []float64
	began := time.Now()
	for i := 0; i < n && (i < 20 || time.Since(began) < time.Minute); i++ {
		t0 := time.Now()
		if _, err := c.get(b, path(i)); err != nil {
			b.Fatal(err)
		}
		out = append(out, float64(time.Since(t0).Microseconds())/1000)
	}
	return out
}

// load sends requests from workers goroutines for d and returns requests per second
// and the number that failed.
func (c *client) load(b *testing.B, workers int, d time.Duration, path func(int) string) (float64, int) {
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(t0) < d {
				i := int(next.Add(1)) - 1
				if _, err := c.get(b, path(i)); err != nil {
					if errs.Add(1) == 1 {
						b.Log(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	return float64(next.Load()) / time.Since(t0).Seconds(), int(errs.Load())
}

// writeFigures merges figs into bench/out/results.json (by name).
func writeFigures(b *testing.B, figs []figure) {
	writeFiguresAs(b, figs, "AEGIS_BENCH_SCALE="+os.Getenv("AEGIS_BENCH_SCALE")+" AEGIS_BENCH_ROUNDS="+os.Getenv("AEGIS_BENCH_ROUNDS")+" go test -run '^$' -bench BenchmarkScale -benchtime 1x ./internal/integration/")
}

// writeFiguresAs merges figs into bench/out/results.json (by name); a figure without a
// command of its own gets command.
func writeFiguresAs(b *testing.B, figs []figure, command string) {
	path := filepath.Join("..", "..", "bench", "out", "results.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	var all []figure
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, &all)
	}
	at := time.Now().UTC().Format(time.RFC3339)
	for _, f := range figs {
		if f.Command == "" {
			f.Command = command
		}
		f.At = at
		replaced := false
		for i := range all {
			if all[i].Name == f.Name {
				all[i], replaced = f, true
			}
		}
		if !replaced {
			all = append(all, f)
		}
	}
	data, _ := json.MarshalIndent(all, "", "  ")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
}
