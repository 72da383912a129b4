package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type entry struct {
	name    string
	body    string
	symlink string // target, for symlink entries
	dir     bool
}

func tarGz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		switch {
		case e.dir:
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case e.symlink != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.symlink, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipBytes(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		body := e.body
		switch {
		case e.dir:
			h.Name = strings.TrimSuffix(e.name, "/") + "/"
			h.SetMode(fs.ModeDir | 0o755)
		case e.symlink != "":
			h.SetMode(fs.ModeSymlink | 0o777)
			body = e.symlink
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func rels(files []File) string {
	var out []string
	for _, f := range files {
		out = append(out, f.Rel)
	}
	return strings.Join(out, ",")
}

var repoEntries = []entry{
	{name: "sigma-master/", dir: true},
	{name: "sigma-master/rules/windows/a.yml", body: "title: a"},
	{name: "sigma-master/rules/linux/b.yml", body: "title: b"},
	{name: "sigma-master/rules/README.md", body: "readme"},
	{name: "sigma-master/top.yml", body: "x"},
}

func TestOpenArchivesLocal(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"repo.tar.gz": tarGz(t, repoEntries),
		"repo.tgz":    tarGz(t, repoEntries),
		"repo.zip":    zipBytes(t, repoEntries),
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, dir, name, data)
			tree, err := Open(context.Background(), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			files, err := tree.Glob("rules/**/*.yml")
			if err != nil {
				t.Fatal(err)
			}
			// The single top-level folder is unwrapped, so globs work as on a checkout.
			if got := rels(files); got != "rules/linux/b.yml,rules/windows/a.yml" {
				t.Errorf("glob = %s", got)
			}
			b, err := os.ReadFile(files[1].Path)
			if err != nil || string(b) != "title: a" {
				t.Errorf("content = %q, %v", b, err)
			}
			all, _ := tree.Glob("**/*.yml")
			if got := rels(all); got != "rules/linux/b.yml,rules/windows/a.yml,top.yml" {
				t.Errorf("**/*.yml = %s", got)
			}
			temp := tree.temp
			if err := tree.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(temp); !os.IsNotExist(err) {
				t.Errorf("temp dir %s survived Close: %v", temp, err)
			}
		})
	}
}

func TestKeepSingleRoot(t *testing.T) {
	p := writeFile(t, t.TempDir(), "repo.zip", zipBytes(t, repoEntries))
	tree, err := Open(context.Background(), p, Options{KeepSingleRoot: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	files, _ := tree.Glob("*/top.yml")
	if rels(files) != "sigma-master/top.yml" {
		t.Errorf("glob = %s", rels(files))
	}
}

func TestOpenFolderAndFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "templates.csv", []byte("id,name\n"))
	writeFile(t, dir, "sub/rules.csv", []byte("id,title\n"))
	writeFile(t, dir, ".git/config", []byte("[core]"))
	writeFile(t, dir, ".git/x.csv", []byte("no"))

	tree, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := tree.Glob("**/*.csv")
	if rels(files) != "sub/rules.csv,templates.csv" {
		t.Errorf("folder glob = %s", rels(files))
	}
	if tree.File() != "" || tree.Close() != nil {
		t.Errorf("folder tree: File %q", tree.File())
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Close removed a local folder: %v", err)
	}

	tree, err = Open(context.Background(), filepath.Join(dir, "sub", "rules.csv"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	_ = tree.Walk(func(p, rel string, d fs.DirEntry) error { walked = append(walked, rel); return nil })
	if strings.Join(walked, ",") != "rules.csv" || tree.File() != filepath.Join(dir, "sub", "rules.csv") {
		t.Errorf("single file walk = %v, File = %s", walked, tree.File())
	}
	if files, _ := tree.Glob("**/rules.csv"); len(files) != 1 {
		t.Errorf("single file glob = %v", files)
	}

	if _, err := Open(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing path: %v", err)
	}
	if _, err := Open(context.Background(), "", Options{}); err == nil {
		t.Error("empty source accepted")
	}
	if _, err := Open(context.Background(), "ftp://x/y", Options{}); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Errorf("ftp: %v", err)
	}
	tree, err = Open(context.Background(), "file://"+dir, Options{})
	if err != nil || tree.Root() != dir {
		t.Errorf("file URL: %v %v", tree, err)
	}
}

func TestUnsafeArchivesRejected(t *testing.T) {
	cases := map[string][]entry{
		"dotdot":          {{name: "ok.txt", body: "x"}, {name: "a/../../evil.txt", body: "x"}},
		"absolute":        {{name: "/etc/evil", body: "x"}},
		"symlink-abs":     {{name: "link", symlink: "/etc/passwd"}},
		"symlink-escape":  {{name: "a/link", symlink: "../../outside"}},
		"symlink-chain":   {{name: "d/", dir: true}, {name: "d/up", symlink: ".."}, {name: "e", symlink: "d/up/.."}},
		"write-via-link":  {{name: "l", symlink: "."}, {name: "l/../../x", body: "x"}},
		"backslash-climb": {{name: `a\..\..\evil`, body: "x"}},
	}
	for name, entries := range cases {
		for _, format := range []string{"tgz", "zip"} {
			t.Run(name+"."+format, func(t *testing.T) {
				dir := t.TempDir()
				data := tarGz(t, entries)
				if format == "zip" {
					data = zipBytes(t, entries)
				}
				p := writeFile(t, dir, "evil."+format, data)
				tempParent := t.TempDir()
				tree, err := Open(context.Background(), p, Options{TempDir: tempParent})
				if err == nil {
					tree.Close()
					t.Fatalf("unsafe archive accepted")
				}
				if !strings.Contains(err.Error(), "evil."+format) {
					t.Errorf("error does not name the source: %v", err)
				}
				if left, _ := os.ReadDir(tempParent); len(left) != 0 {
					t.Errorf("temp files left behind: %v", left)
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil.txt")); err == nil {
					t.Errorf("file written outside")
				}
			})
		}
	}
}

func TestInsideSymlinkKept(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.tgz", tarGz(t, []entry{
		{name: "real/a.yml", body: "x"}, {name: "alias", symlink: "real"}, {name: "dangling", symlink: "nope"},
	}))
	tree, err := Open(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	if b, err := os.ReadFile(tree.Path("alias/a.yml")); err != nil || string(b) != "x" {
		t.Errorf("inside symlink: %q %v", b, err)
	}
	if _, err := os.Lstat(tree.Path("dangling")); !os.IsNotExist(err) {
		t.Errorf("dangling link kept: %v", err)
	}
}

func TestExtractSizeCap(t *testing.T) {
	big := strings.Repeat("A", 1<<20) // compresses to almost nothing
	p := writeFile(t, t.TempDir(), "bomb.zip", zipBytes(t, []entry{{name: "a", body: big}, {name: "b", body: big}}))
	_, err := Open(context.Background(), p, Options{MaxExtractBytes: 1<<20 + 10})
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v", err)
	}
	_, err = Open(context.Background(), p, Options{MaxFiles: 1})
	if err == nil || !strings.Contains(err.Error(), "more than 1 entries") {
		t.Fatalf("file cap: %v", err)
	}
}

func TestDownload(t *testing.T) {
	archive := tarGz(t, repoEntries)
	mux := http.NewServeMux()
	mux.HandleFunc("/enterprise-attack.json", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"type":"bundle"}`)) })
	// No telling extension: the content decides.
	mux.HandleFunc("/repos/sigma/tarball/master", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(archive) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(bytes.Repeat([]byte("x"), 4096)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/attack.json.gz", func(w http.ResponseWriter, r *http.Request) {
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte(`{"objects":[]}`))
		_ = zw.Close()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	tree, err := Open(ctx, srv.URL+"/enterprise-attack.json", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tree.File())
	if err != nil || string(b) != `{"type":"bundle"}` || filepath.Base(tree.File()) != "enterprise-attack.json" {
		t.Errorf("single download: %q %v %s", b, err, tree.File())
	}
	tree.Close()
	if _, err := os.Stat(tree.Root()); !os.IsNotExist(err) {
		t.Errorf("download survived Close")
	}

	tree, err = Open(ctx, srv.URL+"/repos/sigma/tarball/master", Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := tree.Glob("rules/**/*.yml")
	if len(files) != 2 {
		t.Errorf("tarball glob = %s", rels(files))
	}
	tree.Close()

	tree, err = Open(ctx, srv.URL+"/attack.json.gz", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(tree.File()); string(b) != `{"objects":[]}` || filepath.Base(tree.File()) != "attack.json" {
		t.Errorf("gz: %q %s", b, tree.File())
	}
	tree.Close()

	if _, err := Open(ctx, srv.URL+"/big", Options{MaxDownloadBytes: 1000}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("size cap: %v", err)
	}
	if _, err := Open(ctx, srv.URL+"/missing", Options{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	start := time.Now()
	if _, err := Open(ctx, srv.URL+"/slow", Options{Timeout: 200 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "within") {
		t.Errorf("timeout: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("timeout not honoured")
	}
}

func TestDownloadOffline(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	_, err := Open(context.Background(), addr+"/x.zip", Options{})
	if err == nil || !strings.Contains(err.Error(), "network unreachable") || !strings.Contains(err.Error(), "local path") {
		t.Fatalf("err = %v", err)
	}
}

func TestDownloadRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
	_, err := Open(context.Background(), u+"/x", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v", err)
	}
}

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		pat, name string
		want      bool
	}{
		{"**/*.yml", "a.yml", true},
		{"**/*.yml", "a/b/c.yml", true},
		{"rules/**/*.yml", "rules/x.yml", true},
		{"rules/**/*.yml", "rules/a/b/x.yml", true},
		{"rules/**/*.yml", "other/x.yml", false},
		{"*.yml", "a/b.yml", false},
		{"templates.csv", "templates.csv", true},
		{"**/templates.csv", "x/templates.csv", true},
		{"a/**", "a/b/c", true},
	}
	for _, c := range cases {
		if got := Match(c.pat, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pat, c.name, got)
		}
	}
}
