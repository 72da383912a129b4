package testfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAndCopy(t *testing.T) {
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "src", "a", "b.txt"), "bee")
	WriteFile(t, filepath.Join(dir, "src", "c.txt"), "sea")
	CopyFile(t, filepath.Join(dir, "src", "c.txt"), filepath.Join(dir, "one", "deep", "c.txt"))
	CopyDir(t, filepath.Join(dir, "src"), filepath.Join(dir, "dst"))
	for p, want := range map[string]string{"one/deep/c.txt": "sea", "dst/a/b.txt": "bee", "dst/c.txt": "sea"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
}
