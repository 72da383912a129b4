package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/importer"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/core/store"
	"github.com/aegis-sec/aegis/core/store/storetest"
	"github.com/aegis-sec/aegis/sdk"
)

// benchSource is one first-party import of the upstream data and how its parse floor
// reads the same files.
type benchSource struct {
	name, plugin, folder, sub, config string
	// floor lists the files the plugin parses, and decode parses one of them with the
	// library the plugin uses, into a generic value.
	floor  func(tb testing.TB, dir string) []string
	decode func(data []byte) error
}

func decodeJSON(data []byte) error { var v any; return json.Unmarshal(data, &v) }
func decodeYAML(data []byte) error { var n yaml.Node; return yaml.Unmarshal(data, &n) }
func decodeTOML(data []byte) error { var v map[string]any; return toml.Unmarshal(data, &v) }

// filesUnder lists dir's files with one of the suffixes, leaving out paths with any
// of the excluded segments (the plugins' default excludes).
func filesUnder(dir string, suffixes []string, exclude ...string) func(testing.TB, string) []string {
	return func(tb testing.TB, root string) []string {
		var out []string
		for _, p := range walkFiles(tb, filepath.Join(root, dir), suffixes...) {
			skip := false
			for _, x := range exclude {
				if strings.Contains(p, string(filepath.Separator)+x+string(filepath.Separator)) {
					skip = true
				}
			}
			if !skip {
				out = append(out, p)
			}
		}
		return out
	}
}

// benchSources are the imports of TestImportOrderDoesNotMatter, in its order.
func benchSources(tb testing.TB) []benchSource {
	attackCfg := `{"release_version":"18.1"}`
	d3fendCfg := `{"attack_source":"` + filepath.Join(upstream(tb, "mitre-cti"), "enterprise-attack") + `"}`
	return []benchSource{
		{name: "attack", plugin: "attack", folder: "mitre-cti", sub: "enterprise-attack", config: attackCfg,
			floor: filesUnder("", []string{".json"}), decode: decodeJSON},
		{name: "cti", plugin: "cti", folder: "mitre-cti", sub: "enterprise-attack",
			floor: filesUnder("", []string{".json"}), decode: decodeJSON},
		{name: "atomic", plugin: "atomic", folder: "atomic-red-team",
			floor: func(tb testing.TB, root string) []string {
				var out []string
				for _, p := range walkFiles(tb, root, ".yaml", ".yml") {
					if b := filepath.Base(p); strings.HasPrefix(b, "T") && strings.TrimSuffix(strings.TrimSuffix(b, ".yaml"), ".yml") == filepath.Base(filepath.Dir(p)) {
						out = append(out, p)
					}
				}
				return out
			}, decode: decodeYAML},
		{name: "caldera", plugin: "caldera", folder: "stockpile",
			floor: func(tb testing.TB, root string) []string {
				var out []string
				for _, p := range walkFiles(tb, root, ".yml", ".yaml") {
					if strings.Contains(p, "/abilities/") || strings.Contains(p, "/adversaries/") {
						out = append(out, p)
					}
				}
				return out
			}, decode: decodeYAML},
		{name: "lolbas", plugin: "lolbas", folder: "lolbas", config: `{"layout":"lolbas"}`,
			floor: filesUnder("yml", []string{".yml", ".yaml"}), decode: decodeYAML},
		{name: "gtfobins", plugin: "lolbas", folder: "gtfobins", config: `{"layout":"gtfobins"}`,
			floor: func(tb testing.TB, root string) []string {
				return append(walkFiles(tb, filepath.Join(root, "_gtfobins"), ""), filepath.Join(root, "_data", "functions.yml"))
			}, decode: decodeYAML},
		{name: "sigma", plugin: "sigma", folder: "sigma",
			floor: filesUnder("", []string{".yml", ".yaml"}, "regression_data", "tests", ".github"), decode: decodeYAML},
		{name: "elastic", plugin: "elastic", folder: "detection-rules",
			floor: filesUnder("", []string{".toml"}, "tests", ".github"), decode: decodeTOML},
		{name: "d3fend", plugin: "d3fend", folder: "d3fend", config: d3fendCfg,
			floor: func(tb testing.TB, root string) []string {
				return []string{filepath.Join(root, "ontologies", "d3fend.json"), filepath.Join(root, "api", "mappings", "attack-mitigations.json")}
			}, decode: decodeJSON},
		{name: "nist", plugin: "nist", folder: "mappings-explorer", sub: "mappings",
			floor: filesUnder("", []string{".json"}), decode: decodeJSON},
	}
}

func (s benchSource) dir(tb testing.TB) string { return filepath.Join(upstream(tb, s.folder), s.sub) }

// parseFloor reads and decodes every file the plugin parses, serially, and returns how
// long it took: what an import cannot be faster than without parsing differently.
func (s benchSource) parseFloor(tb testing.TB) (wall, cpu time.Duration) {
	files := s.floor(tb, s.dir(tb))
	if len(files) == 0 {
		tb.Fatalf("%s: the parse floor found no files", s.name)
	}
	c0, _ := cpuTimes()
	t0 := time.Now()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if s.decode != nil {
			// Gtfobins files are front matter followed by nothing; a file of another
			// shape that the plugin skips with a warning is skipped here too.
			_ = s.decode(data)
		}
	}
	wall = time.Since(t0)
	c1, _ := cpuTimes()
	return wall, c1 - c0
}

// importSample is one timed import.
type importSample struct {
	total, write time.Duration
	// index is the search index step after the commit (PostgreSQL, migration 0250)
	// with the run's own record: from the "indexing" progress to the end.
	index    time.Duration
	rows     int // rows added to the database (all tables)
	hostKB   int // the host's peak RSS during the import (this process)
	pluginKB int // the plugin process's peak RSS
	changed  int // records added, updated or deprecated
	// hostCPU and pluginCPU are user+system CPU time of this process and of the
	// plugin process (children waited for during the import): steadier than wall
	// time on a machine shared with other work.
	hostCPU, pluginCPU time.Duration
}

// cpuTimes returns the user+system CPU time of this process and of its waited-for
// children.
func cpuTimes() (self, children time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	children = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return self, children
}

// timedImport runs one import with the host's peak RSS reset before it and the plugin
// process sampled while it runs.
func (e *env) timedImport(tb testing.TB, name, source string) importSample {
	tb.Helper()
	before := e.tableRows(tb)
	resetPeakRSS()
	sampler := startChildSampler()
	var applying, indexing time.Time
	stopProfile := profileImport(tb, name)
	cpu0, kids0 := cpuTimes()
	t0 := time.Now()
	run, err := e.Runner.Run(ctx, importer.Options{Plugin: name, Source: source, TriggeredBy: "bench",
		Progress: func(p importer.Progress) {
			if p.Phase == "applying" && applying.IsZero() {
				applying = time.Now()
			}
			if p.Phase == "indexing" && indexing.IsZero() {
				indexing = time.Now()
			}
		}})
	end := time.Now()
	pluginKB := sampler.stop()
	cpu1, kids1 := cpuTimes()
	stopProfile()
	if err != nil {
		tb.Fatalf("import %s from %s: %v", name, source, err)
	}
	s := importSample{total: end.Sub(t0), hostKB: procKB("self", "VmHWM"), pluginKB: pluginKB,
		changed: run.Added + run.Updated + run.Deprecated, hostCPU: cpu1 - cpu0, pluginCPU: kids1 - kids0}
	if !applying.IsZero() {
		// The write phase ends at the commit: the index step after it, when the
		// importer reports one, is timed apart.
		commit := end
		if !indexing.IsZero() {
			commit, s.index = indexing, end.Sub(indexing)
		}
		s.write = commit.Sub(applying)
	}
	s.rows = e.tableRows(tb) - before
	tb.Logf("%s on %s: %.3f s (until the last record %.3f s, write phase %.3f s, %d rows, index step %.3f s), %d changed; CPU host %.3f s, plugin %.3f s; peak RSS host %d kB, plugin %d kB",
		name, e.Store.Dialect(), s.total.Seconds(), (s.total - s.write - s.index).Seconds(), s.write.Seconds(), s.rows, s.index.Seconds(), s.changed,
		s.hostCPU.Seconds(), s.pluginCPU.Seconds(), s.hostKB, s.pluginKB)
	return s
}

// profileImport writes a CPU profile of this process for one import to
// $AEGIS_BENCH_CPUPROFILE/host-<import>-<n>.pprof when that variable names a folder, and
// has the plugin process write its own there (sdk.CPUProfileEnv, passed through by the
// host): a whole-benchmark -cpuprofile mixes every import and the parse floors.
func profileImport(tb testing.TB, name string) (stop func()) {
	dir := os.Getenv("AEGIS_BENCH_CPUPROFILE")
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Setenv(sdk.CPUProfileEnv, dir)
	profileSeq++
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("host-%s-%d.pprof", name, profileSeq)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		tb.Logf("no per-import profile (is -cpuprofile set?): %v", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

var profileSeq int

// tableRows counts the rows of every table.
func (e *env) tableRows(tb testing.TB) int {
	tb.Helper()
	var tables []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if e.Store.Dialect() == store.Postgres {
		// Not the search documents written after the commit (migration 0250): the
		// write phase's rows are those the generated column of before came with.
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND ` + storetest.NotSearchIndex("tablename")
	}
	if err := e.Store.DB().Select(&tables, q); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, t := range tables {
		n += e.Count(tb, `SELECT COUNT(*) FROM `+t)
	}
	return n
}

// resetPeakRSS resets this process's VmHWM (Linux: clear_refs 5), so a later read
// is the peak of what ran in between.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procKB reads a kB field (VmHWM, VmRSS) of /proc/<pid>/status; 0 when unreadable.
func procKB(pid, field string) int {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// childSampler polls this process's children (the plugin processes) and keeps the
// highest peak RSS (VmHWM) it saw; a child's VmHWM only grows, so polling every 10 ms
// misses at most its last few milliseconds. Children are listed from
// /proc/self/task/*/children, which costs little next to scanning /proc.
type childSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	max  int
}

func startChildSampler() *childSampler {
	s := &childSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var kids []string
		for i := 0; ; i++ {
			if len(kids) == 0 || i%20 == 0 {
				kids = children()
			}
			for _, pid := range kids {
				if kb := procKB(pid, "VmHWM"); kb > s.max {
					s.max = kb
				}
			}
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *childSampler) stop() int {
	close(s.done)
	s.wg.Wait()
	return s.max
}

// children lists the pids of this process's children.
func children() []string {
	files, _ := filepath.Glob("/proc/self/task/*/children")
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err == nil {
			out = append(out, strings.Fields(string(data))...)
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// importRow is one line of the import table.
type importRow struct {
	driver, name                 string
	floor, first, re             float64 // medians, seconds
	floorCPU, firstCPU           float64 // medians, CPU seconds (first: host + plugin)
	writeRowsPerS                float64
	indexS                       float64 // median seconds of the index step after the commit
	hostMB, pluginMB             float64 // highest of the rounds
	rows                         int
	firstRuns, reRuns, floorRuns []float64
	firstCPUs, floorCPUs         []float64
	reChanged                    int
}

// BenchmarkImports measures every first-party import of the upstream data (each alone,
// and all of them one after the other into one database), on SQLite and PostgreSQL
// (skipped without AEGIS_TEST_POSTGRES_DSN): the first import into an empty database, the
// re-import of the same data, the write phase (from the last record received to the
// commit) in rows per second, the peak RSS of the host (this process) and of the plugin
// process, and the parse floor (the same files read and decoded serially with the
// plugin's format library, in this process), paired in each round. AEGIS_BENCH_ROUNDS
// rounds (default 3) give medians; AEGIS_BENCH_IMPORTS (comma-separated names, "all"
// for the sequence) selects imports. Every figure goes to bench/out/results.json and
// the table to bench/out/imports.md and between the markers in docs/BENCHMARKS.md.
// Run it with -benchtime 1x (b.N is not used for timing).
func BenchmarkImports(b *testing.B) {
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("AEGIS_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	selected := map[string]bool{}
	for _, n := range strings.Split(os.Getenv("AEGIS_BENCH_IMPORTS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			selected[n] = true
		}
	}
	want := func(n string) bool { return len(selected) == 0 || selected[n] }
	sources := benchSources(b)
	var table []importRow
	for _, driver := range []string{store.SQLite, store.Postgres} {
		for _, s := range sources {
			if !want(s.name) {
				continue
			}
			b.Run(driver+"/"+s.name, func(b *testing.B) {
				row := importRow{driver: driver, name: s.name}
				var writes, indexes []float64
				for r := 0; r < rounds; r++ {
					fw, fc := s.parseFloor(b)
					row.floorRuns, row.floorCPUs = append(row.floorRuns, fw.Seconds()), append(row.floorCPUs, fc.Seconds())
					e := newEnvFor(b, driver, []benchSource{s})
					first := e.timedImport(b, s.name, s.dir(b))
					again := e.timedImport(b, s.name, s.dir(b))
					row.firstRuns = append(row.firstRuns, first.total.Seconds())
					row.firstCPUs = append(row.firstCPUs, (first.hostCPU + first.pluginCPU).Seconds())
					row.reRuns = append(row.reRuns, again.total.Seconds())
					if first.write > 0 {
						writes = append(writes, float64(first.rows)/first.write.Seconds())
					}
					indexes = append(indexes, first.index.Seconds())
					row.rows = first.rows
					row.reChanged = again.changed
					row.hostMB = max(row.hostMB, float64(max(first.hostKB, again.hostKB))/1024)
					row.pluginMB = max(row.pluginMB, float64(max(first.pluginKB, again.pluginKB))/1024)
				}
				row.floor, row.first, row.re = median(row.floorRuns), median(row.firstRuns), median(row.reRuns)
				row.floorCPU, row.firstCPU = median(row.floorCPUs), median(row.firstCPUs)
				row.floorCPU, row.firstCPU = median(row.floorCPUs), median(row.firstCPUs)
				row.writeRowsPerS, row.indexS = median(writes), median(indexes)
				report(b, row)
				table = append(table, row)
			})
		}
		if !want("all") {
			continue
		}
		b.Run(driver+"/all", func(b *testing.B) {
			row := importRow{driver: driver, name: "all"}
			var writes, indexes []float64
			for r := 0; r < rounds; r++ {
				floor, floorCPU := 0.0, 0.0
				for _, s := range sources {
					fw, fc := s.parseFloor(b)
					floor, floorCPU = floor+fw.Seconds(), floorCPU+fc.Seconds()
				}
				row.floorRuns, row.floorCPUs = append(row.floorRuns, floor), append(row.floorCPUs, floorCPU)
				e := newEnvFor(b, driver, sources)
				var first, again, write, index, cpu float64
				rows := 0
				for _, s := range sources {
					x := e.timedImport(b, s.name, s.dir(b))
					first += x.total.Seconds()
					cpu += (x.hostCPU + x.pluginCPU).Seconds()
					write += x.write.Seconds()
					index += x.index.Seconds()
					rows += x.rows
					row.hostMB = max(row.hostMB, float64(x.hostKB)/1024)
					row.pluginMB = max(row.pluginMB, float64(x.pluginKB)/1024)
				}
				changed := 0
				for _, s := range sources {
					x := e.timedImport(b, s.name, s.dir(b))
					again += x.total.Seconds()
					changed += x.changed
					row.hostMB = max(row.hostMB, float64(x.hostKB)/1024)
					row.pluginMB = max(row.pluginMB, float64(x.pluginKB)/1024)
				}
				row.firstRuns = append(row.firstRuns, first)
				row.firstCPUs = append(row.firstCPUs, cpu)
				row.reRuns = append(row.reRuns, again)
				if write > 0 {
					writes = append(writes, float64(rows)/write)
				}
				indexes = append(indexes, index)
				row.rows, row.reChanged = rows, changed
			}
			row.floor, row.first, row.re = median(row.floorRuns), median(row.firstRuns), median(row.reRuns)
			row.floorCPU, row.firstCPU = median(row.floorCPUs), median(row.firstCPUs)
			row.writeRowsPerS, row.indexS = median(writes), median(indexes)
			report(b, row)
			table = append(table, row)
		})
	}
	if len(table) > 0 {
		writeImportFigures(b, table, rounds)
	}
}

// newEnvFor is a fresh store on driver with every bench source's plugin configured.
func newEnvFor(tb testing.TB, driver string, sources []benchSource) *env {
	tb.Helper()
	e := newEnvOn(tb, driver, nil)
	e.configureSources(tb, sources)
	return e
}

func report(b *testing.B, r importRow) {
	b.ReportMetric(r.first, "first-s")
	b.ReportMetric(r.re, "reimport-s")
	b.ReportMetric(r.floor, "floor-s")
	b.ReportMetric(r.first/r.floor, "x-floor")
	b.ReportMetric(r.firstCPU/r.floorCPU, "cpu-x-floor")
	b.ReportMetric(r.writeRowsPerS, "write-rows/s")
	b.ReportMetric(r.indexS, "index-s")
	b.ReportMetric(r.hostMB, "host-MB")
	b.ReportMetric(r.pluginMB, "plugin-MB")
	b.Logf("first %v re %v floor %v; CPU first %v floor %v", r.firstRuns, r.reRuns, r.floorRuns, r.firstCPUs, r.floorCPUs)
}

const importsBegin, importsEnd = "<!-- bench:imports:begin -->", "<!-- bench:imports:end -->"

// writeImportFigures adds the figures to bench/out/results.json, and writes the table
// to bench/out/imports.md and between the markers in docs/BENCHMARKS.md.
func writeImportFigures(b *testing.B, rows []importRow, rounds int) {
	command := fmt.Sprintf("AEGIS_BENCH_ROUNDS=%d go test -run '^$' -bench BenchmarkImports -benchtime 1x -timeout 120m ./internal/integration/", rounds)
	if sel := os.Getenv("AEGIS_BENCH_IMPORTS"); sel != "" {
		command = "AEGIS_BENCH_IMPORTS=" + sel + " " + command
	}
	var figs []figure
	for _, r := range rows {
		p := "import/" + r.driver + "/" + r.name + "/"
		figs = append(figs,
			figure{Name: p + "first", Value: r.first, Unit: "s", Command: command},
			figure{Name: p + "reimport", Value: r.re, Unit: "s", Command: command},
			figure{Name: p + "parse_floor", Value: r.floor, Unit: "s", Command: command},
			figure{Name: p + "first_over_floor", Value: r.first / r.floor, Unit: "x", Target: "<= 2.5", Command: command},
			figure{Name: p + "reimport_over_first", Value: r.re / r.first, Unit: "x", Target: "<= 0.40", Command: command},
			figure{Name: p + "first_cpu", Value: r.firstCPU, Unit: "s", Command: command},
			figure{Name: p + "first_cpu_over_floor_cpu", Value: r.firstCPU / r.floorCPU, Unit: "x", Command: command},
			figure{Name: p + "write_rows_per_s", Value: r.writeRowsPerS, Unit: "rows/s", Command: command},
			figure{Name: p + "host_peak_rss", Value: r.hostMB, Unit: "MiB", Command: command},
			figure{Name: p + "plugin_peak_rss", Value: r.pluginMB, Unit: "MiB", Command: command},
		)
		if r.name == "all" {
			figs[len(figs)-10].Target = "<= 8"
		}
		if r.driver == store.Postgres {
			figs[len(figs)-3].Target = ">= 40000"
		}
	}
	writeFiguresAs(b, figs, "")

	// The table keeps one row per database and import: a run replaces the rows it
	// measured and keeps the others, each row saying when and over how many rounds.
	stamp := fmt.Sprintf("%s, %d rounds", time.Now().UTC().Format("2006-01-02 15:04 UTC"), rounds)
	fresh := map[string]string{}
	var order []string
	for _, r := range rows {
		key := "| " + r.driver + " | " + r.name + " |"
		index := ""
		if r.indexS >= 0.005 {
			index = fmt.Sprintf(", then index step %.2f s", r.indexS)
		}
		fresh[key] = fmt.Sprintf("%s %.2f s | %.2f s (%.2f) | %.2f s | %.1f× | %.2f s ÷ %.2f s = %.1f× | %s rows/s (%d rows%s) | %.0f / %.0f MiB | %s |",
			key, r.first, r.re, r.re/r.first, r.floor, r.first/r.floor, r.firstCPU, r.floorCPU, r.firstCPU/r.floorCPU,
			thousands(r.writeRowsPerS), r.rows, index, r.hostMB, r.pluginMB, stamp)
		order = append(order, key)
	}
	doc := filepath.Join("..", "..", "docs", "BENCHMARKS.md")
	data, err := os.ReadFile(doc)
	if err != nil {
		b.Fatal(err)
	}
	i, j := bytes.Index(data, []byte(importsBegin)), bytes.Index(data, []byte(importsEnd))
	var kept []string
	if i >= 0 && j > i {
		for _, line := range strings.Split(string(data[i+len(importsBegin):j]), "\n") {
			if !strings.HasPrefix(line, "| sqlite |") && !strings.HasPrefix(line, "| postgres |") {
				continue
			}
			f := strings.SplitN(line, "|", 4)
			key := "|" + f[1] + "|" + f[2] + "|"
			if _, ok := fresh[key]; !ok {
				kept = append(kept, line)
			}
		}
	}
	for _, k := range order {
		kept = append(kept, fresh[k])
	}
	sort.SliceStable(kept, func(a, b int) bool {
		return strings.HasPrefix(kept[a], "| sqlite") && strings.HasPrefix(kept[b], "| postgres")
	})
	var md strings.Builder
	fmt.Fprintf(&md, "`go test -run '^$' -bench BenchmarkImports -benchtime 1x -timeout 120m ./internal/integration/` (rows of one run or several; medians of each run's rounds; last: `%s`)\n\n", command)
	md.WriteString("| database | import | first import | re-import (÷ first) | parse floor | first ÷ floor | CPU: first (host+plugin) ÷ floor | write phase | host / plugin peak RSS | measured |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, line := range kept {
		md.WriteString(line + "\n")
	}
	out := filepath.Join("..", "..", "bench", "out", "imports.md")
	if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if i < 0 || j < i {
		b.Logf("%s has no %s … %s markers; the table is in %s", doc, importsBegin, importsEnd, out)
		return
	}
	var nd bytes.Buffer
	nd.Write(data[:i+len(importsBegin)])
	nd.WriteString("\n" + md.String())
	nd.Write(data[j:])
	if err := os.WriteFile(doc, nd.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}

func thousands(f float64) string {
	s := strconv.Itoa(int(f + 0.5))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// configureSources configures one plugin block per source, named after the source
// (gtfobins is a block of the lolbas plugin).
func (e *env) configureSources(tb testing.TB, sources []benchSource) {
	tb.Helper()
	cfg := config.Default()
	for _, s := range sources {
		c := s.config
		if c == "" {
			c = "{}"
		}
		cfg.Plugins = append(cfg.Plugins, config.Plugin{Name: s.name, Path: pluginBinary(tb, s.plugin), Enabled: true,
			Timeout: 10 * time.Minute, Config: json.RawMessage(c), Range: "bench"})
	}
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr})
	e.Runner = &importer.Runner{Store: e.Store, Host: pluginhost.New(cfg, log), Log: log}
}
