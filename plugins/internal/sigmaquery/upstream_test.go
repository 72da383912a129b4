package sigmaquery

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// upstreamRules reads every rule file of the SigmaHQ set under AEGIS_UPSTREAM_DIR.
func upstreamRules(tb testing.TB) (names []string, data [][]byte) {
	tb.Helper()
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		root = filepath.Join("..", "..", "..", "..", "shared", "upstream")
	}
	dir := filepath.Join(root, "sigma", "rules")
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("upstream SigmaHQ rules not found at %s (set AEGIS_UPSTREAM_DIR)", dir)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		names, data = append(names, rel), append(data, b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return names, data
}

var reasonDetail = regexp.MustCompile(`"[^"]*"|\([^)]*\)|%[^%]+%| on [^ ]+| [A-Za-z0-9_.]+:| [A-Z][a-z][A-Za-z0-9_.]*\b`)

// reasonKind groups unsupported reasons by what they say, without field names.
func reasonKind(r string) string {
	return strings.Join(strings.Fields(reasonDetail.ReplaceAllString(r, " …")), " ")
}

// TestUpstreamSigmaHQ converts the whole SigmaHQ rule set with every backend: each rule
// is converted or reported unsupported with a reason; none fails (an error, a panic or
// a query that does not pass the syntax check). The figures are in docs/BENCHMARKS.md.
func TestUpstreamSigmaHQ(t *testing.T) {
	names, data := upstreamRules(t)
	if len(names) < 3000 {
		t.Fatalf("only %d upstream rules", len(names))
	}
	for _, b := range []*Backend{Splunk, Lucene, KQL} {
		t.Run(b.Name, func(t *testing.T) {
			converted, failed := 0, 0
			reasons := map[string]int{}
			start := time.Now()
			for i, name := range names {
				lines := func() (ls []Line) {
					defer func() {
						if r := recover(); r != nil {
							ls = []Line{{File: name, Error: fmt.Sprintf("panic: %v", r)}}
						}
					}()
					return b.ConvertFile(name, data[i], Options{})
				}()
				for _, l := range lines {
					switch {
					case l.Error != "":
						failed++
						t.Errorf("%s: %s", name, l.Error)
					case l.Unsupported != "":
						reasons[reasonKind(l.Unsupported)]++
					default:
						for _, q := range l.Queries {
							if err := b.CheckSyntax(q); err != nil {
								failed++
								t.Errorf("%s: %v\n%s", name, err, q)
							}
						}
						converted++
					}
				}
			}
			elapsed := time.Since(start)
			unsupported := 0
			var rs []string
			for r, n := range reasons {
				unsupported += n
				rs = append(rs, fmt.Sprintf("%5d  %s", n, r))
			}
			sort.Sort(sort.Reverse(sort.StringSlice(rs)))
			t.Logf("%s: %d files, converted %d, unsupported %d, failed %d, %.0f rules/s\n%s", b.Name, len(names), converted,
				unsupported, failed, float64(len(names))/elapsed.Seconds(), strings.Join(rs, "\n"))
			if failed != 0 {
				t.Errorf("%d rules failed", failed)
			}
			if converted < len(names)*8/10 {
				t.Errorf("only %d of %d rules converted", converted, len(names))
			}
		})
	}
}

// BenchmarkConvertUpstream converts the whole SigmaHQ set per iteration; rules/s is the
// figure in docs/BENCHMARKS.md.
func BenchmarkConvertUpstream(b *testing.B) {
	names, data := upstreamRules(b)
	for _, be := range []*Backend{Splunk, Lucene, KQL} {
		b.Run(be.Name, func(b *testing.B) {
			for b.Loop() {
				for i, name := range names {
					be.ConvertFile(name, data[i], Options{})
				}
			}
			b.ReportMetric(float64(len(names)*b.N)/b.Elapsed().Seconds(), "rules/s")
		})
	}
}
