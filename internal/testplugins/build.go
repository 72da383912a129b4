// Package testplugins builds the test plugin binaries in its subfolders for
// tests that need a real plugin process: misbehave (failure modes) and
// v2only (protocol mismatch).
package testplugins

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// Build compiles the named test plugin ("misbehave" or "v2only") into a
// temporary folder of t and returns the binary's path.
func Build(t testing.TB, name string) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testplugins: cannot locate source folder")
	}
	return sdktest.BuildPlugin(t, filepath.Join(filepath.Dir(self), name))
}

// BuildTo compiles the named test plugin into dir (for a TestMain, which has no
// testing.TB) and panics when the build fails.
func BuildTo(dir, name string) string {
	_, self, _, _ := runtime.Caller(0)
	out := filepath.Join(dir, "aegis-plugin-"+name)
	cmd := exec.Command("go", "build", "-o", out, "./"+name)
	cmd.Dir = filepath.Dir(self)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		panic("testplugins: build " + name + ": " + err.Error() + "\n" + string(b))
	}
	return out
}

// ProcessesOf counts the live processes running the binary at path, waiting up to
// five seconds for the count to drop to zero (a killed plugin takes a moment to go).
func ProcessesOf(path string) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
			if err == nil && exe == path {
				if st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); !strings.Contains(string(st), ") Z ") {
					n++
				}
			}
		}
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}
