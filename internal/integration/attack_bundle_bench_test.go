package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// enterpriseCollectionID is the x-mitre-collection id of ATT&CK Enterprise.
const enterpriseCollectionID = "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019"

// buildEnterpriseBundle writes, into dir, ATT&CK Enterprise v18.1 as one STIX 2.1
// bundle, the shape of attack-stix-data's enterprise-attack-18.1.json (not in the
// upstream copy: files of 4 MiB or more were left out): every object of mitre/cti's
// enterprise-attack folder (one object per file, STIX 2.0, the same objects and fields)
// with "spec_version":"2.1", after an x-mitre-collection whose x_mitre_version is
// 18.1 and whose x_mitre_contents lists them, indented by four spaces as MITRE's
// bundles are. It returns the file and how many objects it holds.
func buildEnterpriseBundle(tb testing.TB, cti, dir string) (string, int) {
	tb.Helper()
	files := walkFiles(tb, cti, ".json")
	sort.Strings(files)
	type content struct {
		Ref      string `json:"object_ref"`
		Modified string `json:"object_modified"`
	}
	var objects []json.RawMessage
	var contents []content
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var b struct {
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for i, o := range b.Objects {
			var head struct {
				Type, ID, Modified string
				Spec               string `json:"spec_version"`
			}
			if err := json.Unmarshal(o, &head); err != nil || head.Type == "" || head.ID == "" {
				tb.Fatalf("%s: object %d is not a STIX object (%v)", f, i, err)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, o); err != nil {
				tb.Fatalf("%s: %v", f, err)
			}
			obj := c.Bytes()
			if head.Spec == "" {
				obj = append([]byte(`{"spec_version":"2.1",`), obj[1:]...)
			} else {
				obj = bytes.Replace(obj, []byte(`"spec_version":"`+head.Spec+`"`), []byte(`"spec_version":"2.1"`), 1)
			}
			objects = append(objects, obj)
			if head.Type != "relationship" && head.Type != "marking-definition" {
				contents = append(contents, content{head.ID, head.Modified})
			}
		}
	}
	if len(objects) == 0 {
		tb.Fatalf("%s holds no STIX objects", cti)
	}
	collection, err := json.Marshal(map[string]any{
		"type": "x-mitre-collection", "id": enterpriseCollectionID, "spec_version": "2.1",
		"x_mitre_attack_spec_version": "3.3.0", "name": "Enterprise ATT&CK", "x_mitre_version": "18.1",
		"description":    "ATT&CK for Enterprise, v18.1 (stand-in built from mitre/cti's enterprise-attack folder)",
		"created_by_ref": "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5",
		"created":        "2018-01-17T12:56:55.080Z", "modified": "2025-11-13T14:00:00.188Z",
		"object_marking_refs": []string{"marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"},
		"x_mitre_contents":    contents,
	})
	if err != nil {
		tb.Fatal(err)
	}
	var raw bytes.Buffer
	raw.WriteString(`{"type":"bundle","id":"bundle--6a0a7e1c-3f2e-4a51-9b0e-18d1e0a7c001","objects":[`)
	raw.Write(collection)
	for _, o := range objects {
		raw.WriteByte(',')
		raw.Write(o)
	}
	raw.WriteString("]}")
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "    "); err != nil {
		tb.Fatal(err)
	}
	out.WriteByte('\n')
	path := filepath.Join(dir, "enterprise-attack-18.1.json")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, len(objects) + 1
}

// admResult is what bench/attack-data-model/load.mjs prints.
type admResult struct {
	WallS         float64 `json:"wall_s"`
	MaxRSSKiB     float64 `json:"max_rss_kib"`
	Techniques    int     `json:"techniques"`
	Tactics       int     `json:"tactics"`
	Mitigations   int     `json:"mitigations"`
	Relationships int     `json:"relationships"`
	processS      float64 // the whole node process, start to exit
}

// runADM loads file with MITRE's TypeScript ATT&CK data-model library.
func runADM(tb testing.TB, script, file string) admResult {
	tb.Helper()
	cmd := exec.Command("node", filepath.Base(script), file)
	cmd.Dir = filepath.Dir(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	out, err := cmd.Output()
	took := time.Since(t0)
	if err != nil {
		tb.Fatalf("node %s %s: %v\n%s", script, file, err, stderr.String())
	}
	var r admResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		tb.Fatalf("node %s %s printed %q, not its JSON line: %v", script, file, out, err)
	}
	if r.Techniques == 0 || r.Relationships == 0 {
		tb.Fatalf("the ATT&CK data-model library read no techniques or relationships from %s: %s", file, out)
	}
	r.processS = took.Seconds()
	return r
}

// attackVariant is one attack plugin binary to measure.
type attackVariant struct{ label, path string }

// attackVariants are the attack plugin builds to compare: AEGIS_BENCH_ATTACK_PLUGINS
// ("before=/tmp/attack-old,after=/tmp/attack-new") or the plugin of this tree.
func attackVariants(tb testing.TB) []attackVariant {
	var out []attackVariant
	for _, kv := range strings.Split(os.Getenv("AEGIS_BENCH_ATTACK_PLUGINS"), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		label, path, ok := strings.Cut(kv, "=")
		if !ok {
			tb.Fatalf("AEGIS_BENCH_ATTACK_PLUGINS: %q is not label=path", kv)
		}
		if _, err := os.Stat(path); err != nil {
			tb.Fatalf("AEGIS_BENCH_ATTACK_PLUGINS: %v", err)
		}
		out = append(out, attackVariant{label, path})
	}
	if len(out) == 0 {
		out = []attackVariant{{"aegis", pluginBinary(tb, "attack")}}
	}
	return out
}

// cliImport is one `aegis import` timed: wall time from start to exit, and the peak RSS
// of the aegis process and of its plugin process.
type cliImport struct {
	wall             time.Duration
	hostKB, pluginKB int
	added            int
}

var addedRe = regexp.MustCompile(`(?m)^\s*added (\d+), updated`)

// importAttackCLI runs `aegis import attack --source file` with the attack plugin at
// plugin into a fresh SQLite database (migrated first, untimed), polling the peak RSS
// (VmHWM, which only grows) of aegis and of its children every 10 ms until it exits.
func importAttackCLI(tb testing.TB, aegis, plugin, file string) cliImport {
	tb.Helper()
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "aegis.hcl")
	hcl := fmt.Sprintf("log {\n  level = \"error\"\n}\ndatabase {\n  driver = \"sqlite\"\n  dsn = %q\n}\nevidence {\n  path = %q\n}\nscheduler {\n  enabled = false\n}\nplugin \"attack\" {\n  path = %q\n  timeout = \"10m\"\n  config {}\n}\n",
		filepath.Join(dir, "aegis.db"), filepath.Join(dir, "evidence"), plugin)
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command(aegis, "--config", cfg, "migrate", "up").CombinedOutput(); err != nil {
		tb.Fatalf("aegis migrate up: %v\n%s", err, out)
	}
	cmd := exec.Command(aegis, "--config", cfg, "import", "attack", "--source", file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	pid := strconv.Itoa(cmd.Process.Pid)
	var r cliImport
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r.hostKB = max(r.hostKB, procKB(pid, "VmHWM"))
		kids, _ := filepath.Glob("/proc/" + pid + "/task/*/children")
		for _, k := range kids {
			data, _ := os.ReadFile(k)
			for _, c := range strings.Fields(string(data)) {
				r.pluginKB = max(r.pluginKB, procKB(c, "VmHWM"))
			}
		}
		select {
		case err := <-done:
			r.wall = time.Since(t0)
			if err != nil {
				tb.Fatalf("aegis import attack --source %s: %v\n%s", file, err, out.String())
			}
			m := addedRe.FindStringSubmatch(out.String())
			if m == nil {
				tb.Fatalf("aegis import attack --source %s printed no counts:\n%s", file, out.String())
			}
			r.added, _ = strconv.Atoi(m[1])
			if r.added == 0 || r.pluginKB == 0 {
				tb.Fatalf("aegis import attack --source %s: %d added, plugin peak RSS %d kB (not seen):\n%s", file, r.added, r.pluginKB, out.String())
			}
			return r
		case <-tick.C:
		}
	}
}

// BenchmarkAttackBundle compares a first import of an ATT&CK STIX 2.1 bundle by Aegis
// (`aegis import attack --source FILE` into a fresh SQLite database: wall time of the
// command, peak RSS of the aegis process and of its plugin process) with a load of the
// same file by MITRE's TypeScript ATT&CK data-model library
// (@mitre-attack/attack-data-model, through bench/attack-data-model/load.mjs: its
// documented loader, a data source registered from the file and the data model
// loaded). The files: ATT&CK Enterprise v18.1 as a bundle built from mitre/cti at
// benchmark time (buildEnterpriseBundle), and the real ICS v18.1 bundle.
// AEGIS_BENCH_ROUNDS rounds (default 3) alternate the two (and the plugin builds of
// AEGIS_BENCH_ATTACK_PLUGINS, to measure a change before and after, in an order that
// alternates between rounds); the medians go to bench/out/results.json and the table
// between the markers in docs/BENCHMARKS.md. It skips without node or without the
// library installed (cd bench/attack-data-model && npm ci).
func BenchmarkAttackBundle(b *testing.B) {
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is not on PATH: the TypeScript ATT&CK data-model side cannot run")
	}
	script, _ := filepath.Abs(filepath.Join("..", "..", "bench", "attack-data-model", "load.mjs"))
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@mitre-attack", "attack-data-model", "package.json")); err != nil {
		b.Skip("@mitre-attack/attack-data-model is not installed: run npm ci in bench/attack-data-model")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("AEGIS_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	enterprise, n := buildEnterpriseBundle(b, filepath.Join(upstream(b, "mitre-cti"), "enterprise-attack"), b.TempDir())
	st, _ := os.Stat(enterprise)
	b.Logf("built %s: %d objects, %.1f MiB", enterprise, n, float64(st.Size())/(1<<20))
	bundles := []struct{ name, file string }{
		{"enterprise-18.1", enterprise},
		{"ics-18.1", filepath.Join(upstream(b, "attack-stix-data"), "ics-attack", "ics-attack-18.1.json")},
	}
	variants := attackVariants(b)
	aegisBin := aegisBinary(b)
	var rows []bundleRow
	for _, bu := range bundles {
		b.Run(bu.name, func(b *testing.B) {
			var adm, admProc, admRSS []float64
			aegis := make([]struct{ wall, host, plugin []float64 }, len(variants))
			changed := make([]int, len(variants))
			for r := 0; r < rounds; r++ {
				a := runADM(b, script, bu.file)
				b.Logf("attack-data-model: load %.3f s (process %.3f s), peak RSS %.0f MiB; %d techniques, %d tactics, %d mitigations, %d relationships",
					a.WallS, a.processS, a.MaxRSSKiB/1024, a.Techniques, a.Tactics, a.Mitigations, a.Relationships)
				adm, admProc, admRSS = append(adm, a.WallS), append(admProc, a.processS), append(admRSS, a.MaxRSSKiB/1024)
				for k := range variants {
					i := k
					if r%2 == 1 { // alternate the order of the builds between rounds
						i = len(variants) - 1 - k
					}
					s := importAttackCLI(b, aegisBin, variants[i].path, bu.file)
					b.Logf("%s: aegis import %.3f s, peak RSS aegis %d kB, plugin %d kB, %d added", variants[i].label, s.wall.Seconds(), s.hostKB, s.pluginKB, s.added)
					if changed[i] != 0 && changed[i] != s.added {
						b.Fatalf("%s imported %d records from %s, %d in an earlier round", variants[i].label, s.added, bu.file, changed[i])
					}
					changed[i] = s.added
					aegis[i].wall = append(aegis[i].wall, s.wall.Seconds())
					aegis[i].host = append(aegis[i].host, float64(s.hostKB)/1024)
					aegis[i].plugin = append(aegis[i].plugin, float64(s.pluginKB)/1024)
				}
			}
			for i, v := range variants {
				if changed[i] != changed[0] {
					b.Fatalf("%s imported %d records from %s, %s %d", v.label, changed[i], bu.file, variants[0].label, changed[0])
				}
				row := bundleRow{bundle: bu.name, variant: v.label, records: changed[i], adm: median(adm), admProcess: median(admProc),
					admMiB: median(admRSS), aegis: median(aegis[i].wall), hostMiB: median(aegis[i].host), pluginMiB: median(aegis[i].plugin)}
				b.Logf("%s %s: aegis %v s, host %v MiB, plugin %v MiB; attack-data-model %v s", bu.name, v.label, aegis[i].wall, aegis[i].host, aegis[i].plugin, adm)
				rows = append(rows, row)
				if len(variants) == 1 {
					b.ReportMetric(row.adm/row.aegis, "x-faster")
					b.ReportMetric(row.hostMiB+row.pluginMiB, "host+plugin-MiB")
				}
			}
		})
	}
	if len(rows) > 0 {
		writeBundleFigures(b, rows, rounds)
	}
}

type bundleRow struct {
	bundle, variant           string
	records                   int
	adm, admProcess, admMiB   float64
	aegis, hostMiB, pluginMiB float64
}

const bundleBegin, bundleEnd = "<!-- bench:attack-bundle:begin -->", "<!-- bench:attack-bundle:end -->"

func writeBundleFigures(b *testing.B, rows []bundleRow, rounds int) {
	command := fmt.Sprintf("AEGIS_BENCH_ROUNDS=%d go test -run '^$' -bench BenchmarkAttackBundle -benchtime 1x ./internal/integration/", rounds)
	if v := os.Getenv("AEGIS_BENCH_ATTACK_PLUGINS"); v != "" {
		command = "AEGIS_BENCH_ATTACK_PLUGINS=" + v + " " + command
	}
	var figs []figure
	for _, r := range rows {
		p := "attack_bundle/" + r.bundle + "/"
		figs = append(figs,
			figure{Name: p + "attack_data_model_load", Value: r.adm, Unit: "s", Command: command},
			figure{Name: p + "attack_data_model_peak_rss", Value: r.admMiB, Unit: "MiB", Command: command})
		p += r.variant + "/"
		figs = append(figs,
			figure{Name: p + "first_import", Value: r.aegis, Unit: "s", Command: command},
			figure{Name: p + "times_faster", Value: r.adm / r.aegis, Unit: "x", Target: ">= 4", Command: command},
			figure{Name: p + "host_plus_plugin_peak_rss", Value: r.hostMiB + r.pluginMiB, Unit: "MiB", Target: "<= 238 (250 MB)", Command: command})
	}
	writeFiguresAs(b, figs, "")

	stamp := fmt.Sprintf("%s, %d rounds", time.Now().UTC().Format("2006-01-02 15:04 UTC"), rounds)
	var md strings.Builder
	fmt.Fprintf(&md, "`%s` (medians; measured %s)\n\n", command, stamp)
	md.WriteString("| bundle | Aegis build | `aegis import attack` (fresh SQLite) | attack-data-model load (whole node process) | Aegis × faster | Aegis peak RSS host + plugin | attack-data-model peak RSS | records |\n")
	md.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&md, "| %s | %s | %.2f s | %.2f s (%.2f s) | **%.1f×** | %.0f + %.0f = **%.0f MiB** | %.0f MiB | %d |\n",
			r.bundle, r.variant, r.aegis, r.adm, r.admProcess, r.adm/r.aegis, r.hostMiB, r.pluginMiB, r.hostMiB+r.pluginMiB, r.admMiB, r.records)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "bench", "out", "attack-bundle.md"), []byte(md.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	doc := filepath.Join("..", "..", "docs", "BENCHMARKS.md")
	data, err := os.ReadFile(doc)
	if err != nil {
		b.Fatal(err)
	}
	i, j := bytes.Index(data, []byte(bundleBegin)), bytes.Index(data, []byte(bundleEnd))
	if i < 0 || j < i {
		b.Logf("%s has no %s … %s markers; the table is in bench/out/attack-bundle.md", doc, bundleBegin, bundleEnd)
		return
	}
	var nd bytes.Buffer
	nd.Write(data[:i+len(bundleBegin)])
	nd.WriteString("\n" + md.String())
	nd.Write(data[j:])
	if err := os.WriteFile(doc, nd.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}
