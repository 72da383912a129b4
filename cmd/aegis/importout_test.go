package main

import (
	"os"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/internal/testplugins"
)

// The import summary says a failure once, counts only warnings as warnings and never
// prints "done" for a failed run.
func TestImportOutputOfAFailedRun(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	bin := testplugins.Build(t, "misbehave")
	f, _ := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`plugin "failing" {
  path = "` + bin + `"
  source = "` + dir + `"
  config {
    mode = "error_diag"
    n    = 2
  }
}
`)
	f.Close()
	out, err := runErr(t, "", "--config", cfg, "import", "failing")
	if err == nil {
		t.Fatalf("the failing import succeeded:\n%s", out)
	}
	all := out + "\n" + err.Error()
	if strings.Contains(all, "done") {
		t.Errorf("a failed run printed done:\n%s", all)
	}
	if !strings.Contains(all, "warnings 0") {
		t.Errorf("the error diagnostic is counted as a warning:\n%s", all)
	}
	if n := strings.Count(all, "failing on purpose"); n != 1 {
		t.Errorf("the error is said %d times:\n%s", n, all)
	}
}
