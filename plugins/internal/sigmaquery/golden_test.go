package sigmaquery

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// TestGolden converts every hand-written rule of testdata/rules with each backend and
// compares with testdata/golden/BACKEND.txt, which was reviewed line by line against
// the backends' documentation and pySigma's output. Run with -update after a deliberate
// change and review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/rules/*.yml")
	if err != nil || len(files) < 60 {
		t.Fatalf("want at least 60 hand-written rules, have %d (%v)", len(files), err)
	}
	for _, b := range []*Backend{Splunk, Lucene, KQL} {
		t.Run(b.Name, func(t *testing.T) {
			var out strings.Builder
			counts := map[string]int{}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out.WriteString("# " + filepath.Base(f) + "\n")
				for _, l := range b.ConvertFile(filepath.Base(f), data, Options{}) {
					switch {
					case l.Error != "":
						t.Errorf("%s: %s", f, l.Error)
						out.WriteString("ERROR: " + l.Error + "\n")
					case l.Unsupported != "":
						counts["unsupported"]++
						out.WriteString("UNSUPPORTED: " + l.Unsupported + "\n")
					default:
						counts["converted"]++
						for _, q := range l.Queries {
							if err := b.CheckSyntax(q); err != nil {
								t.Errorf("%s: invalid %s: %v\n%s", f, b.Name, err, q)
							}
							out.WriteString(q + "\n")
						}
					}
				}
				out.WriteString("\n")
			}
			golden := filepath.Join("testdata", "golden", b.Name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) && i < len(wl); i++ {
					if gl[i] != wl[i] {
						t.Fatalf("%s differs at line %d:\n got %s\nwant %s", golden, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s differs in length: got %d lines, want %d", golden, len(gl), len(wl))
			}
			if counts["converted"] < 50 {
				t.Errorf("only %d rules converted", counts["converted"])
			}
			t.Logf("%s: %v", b.Name, counts)
		})
	}
}
