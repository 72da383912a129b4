package pluginhost_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/pluginhost"
	"github.com/aegis-sec/aegis/internal/testplugins"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/host"
)

// writeTarGz writes an archive of n files of size bytes each.
func writeTarGz(t *testing.T, path string, n, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	body := []byte(strings.Repeat("x", size))
	for i := range n {
		if err := tw.WriteHeader(&tar.Header{Name: "data/file" + string(rune('a'+i)) + ".txt", Mode: 0o644, Size: int64(size)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// leftovers lists the regular files under dir.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() { // not the plugin's unix socket
			out = append(out, p)
		}
		return nil
	})
	return out
}

// Attack (issue 17 item 7): a plugin that crashed during an import left its archive
// extraction in the temporary folder (up to the 4 GiB extraction cap; 1.9 GB seen).
// Each plugin process now extracts under a folder of its own that the host removes when
// the process ends, and the folders of dead Aegis processes are removed on start-up.
func TestSecurityCrashedExtractionLeavesNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	archive := filepath.Join(t.TempDir(), "source.tar.gz")
	writeTarGz(t, archive, 4, 256<<10)

	bin := testplugins.Build(t, "misbehave")
	cfg := config.Default()
	cfg.Plugins = []config.Plugin{{Name: "mis", Path: bin, Enabled: true, Timeout: time.Minute, Config: json.RawMessage(`{"mode":"extract_crash"}`)}}
	h := pluginhost.New(cfg, nil)
	ctx := context.Background()
	inst, err := h.Start(ctx, "mis")
	if err != nil {
		t.Fatal(err)
	}
	err = inst.Client.Import(ctx, sdk.ImportRequest{Type: "misbehave", Config: json.RawMessage(`{"mode":"extract_crash"}`), Source: archive},
		func(host.ImportEvent) error { return nil })
	if err == nil {
		t.Fatal("the crashing import succeeded")
	}
	// The plugin did extract (else the test proves nothing), into its own folder.
	if got := leftovers(t, tmp); len(got) != 4 || !strings.HasPrefix(got[0], h.TempRoot+string(filepath.Separator)) {
		t.Fatalf("extracted files %v, want 4 under %s", got, h.TempRoot)
	}
	inst.Close()
	if got := leftovers(t, tmp); len(got) != 0 {
		t.Fatalf("the crashed run left %d files behind: %v", len(got), got)
	}

	// Start-up: a folder of a dead process goes, one of a live process stays.
	dead := filepath.Join(h.TempRoot, "999999999-x")
	live := filepath.Join(h.TempRoot, "1-x") // pid 1 is always alive
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(filepath.Join(d, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "x", "big"), []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pluginhost.New(cfg, nil)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("the folder of a dead process survived start-up: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("the folder of a live process was removed: %v", err)
	}
}
