// Package testplugins builds the test plugin binaries in its subfolders for
// tests that need a real plugin process: misbehave (failure modes) and
// v2only (protocol mismatch).
package testplugins

import (
	"path/filepath"
	"runtime"
	"testing"

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
