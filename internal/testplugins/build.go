// Package testplugins builds the test plugin binaries in its subfolders for
// tests that need a real plugin process: misbehave (failure modes) and
// v2only (protocol mismatch).
package testplugins

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Build compiles the named test plugin ("misbehave" or "v2only") into a
// temporary folder of t and returns the binary's path.
func Build(t testing.TB, name string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testplugins: cannot locate source folder")
	}
	out := filepath.Join(t.TempDir(), "aegis-plugin-"+name)
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", out, "./"+name)
	cmd.Dir = filepath.Dir(self)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testplugins: build %s: %v\n%s", name, err, b)
	}
	return out
}
