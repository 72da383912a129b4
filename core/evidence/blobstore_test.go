package evidence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/config"
	"github.com/aegis-sec/aegis/core/evidence"
)

var ctx = context.Background()

// backend is a blob store under test and a way to change a stored blob behind its
// back (to simulate corruption).
type backend struct {
	name   string
	store  core.BlobStore
	tamper func(t *testing.T, key string, data []byte)
	// files lists what the back end holds (for "nothing was left behind" checks).
	files func(t *testing.T) []string
}

func diskBackend(t *testing.T) backend {
	t.Helper()
	root := t.TempDir()
	d, err := evidence.NewDisk(root)
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		name:  "disk",
		store: d,
		tamper: func(t *testing.T, key string, data []byte) {
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(key)), data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		files: func(t *testing.T) []string {
			var out []string
			filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					rel, _ := filepath.Rel(root, p)
					out = append(out, filepath.ToSlash(rel))
				}
				return err
			})
			return out
		},
	}
}

// s3Backend returns an S3 store on a fresh bucket: of the server named by
// AEGIS_TEST_S3_ENDPOINT, or of a versitygw gateway started for the test.
func s3Backend(t *testing.T) backend {
	t.Helper()
	endpoint := os.Getenv("AEGIS_TEST_S3_ENDPOINT")
	access, secret := os.Getenv("AEGIS_TEST_S3_ACCESS_KEY"), os.Getenv("AEGIS_TEST_S3_SECRET_KEY")
	if endpoint == "" {
		endpoint, access, secret = startVersityGW(t)
	}
	bucket := "aegis-test-" + strings.ToLower(core.RandomToken(10))
	s, err := evidence.NewS3(evidence.S3Options{Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret,
		Prefix: "evidence/", PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	if err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("check of a missing bucket: %v", err)
	}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket on %s: %v", endpoint, err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
		c.RemoveBucket(ctx, bucket)
	})
	return backend{
		name:  "s3",
		store: s,
		tamper: func(t *testing.T, key string, data []byte) {
			if _, err := c.PutObject(ctx, bucket, "evidence/"+key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		files: func(t *testing.T) []string {
			var out []string
			for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				out = append(out, strings.TrimPrefix(o.Key, "evidence/"))
			}
			// Multipart uploads that were started and never completed would hold data
			// too: an aborted upload must not linger.
			for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
				if u.Err == nil {
					out = append(out, "incomplete:"+u.Key)
				}
			}
			return out
		},
	}
}

// startVersityGW runs a versitygw S3 gateway over a temporary directory for the test.
func startVersityGW(t *testing.T) (endpoint, access, secret string) {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		t.Skip("no S3 server: install versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0) or set AEGIS_TEST_S3_ENDPOINT")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint = l.Addr().String()
	l.Close()
	access, secret = "aegistest", "aegistest-secret-"+core.RandomToken(12)
	cmd := exec.Command(bin, "--port", endpoint, "--quiet", "posix", t.TempDir())
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+access, "ROOT_SECRET_KEY="+secret)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", endpoint, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return endpoint, access, secret
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s: %v\n%s", endpoint, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, s core.BlobStore, key string) []byte {
	t.Helper()
	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// failingReader yields some bytes, then an error, like a client that hangs up.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// conformance is what every core.BlobStore must do.
func conformance(t *testing.T, b backend) {
	s := b.store
	t.Run("round trip", func(t *testing.T) {
		for _, size := range []int{0, 1, 511, 64 << 10, 12 << 20} {
			data := randomBytes(t, size)
			key := fmt.Sprintf("tests/%s/%d", core.NewID(), size)
			if err := s.Put(ctx, key, bytes.NewReader(data)); err != nil {
				t.Fatalf("put %d bytes: %v", size, err)
			}
			got := readAll(t, s, key)
			if sha256.Sum256(got) != sha256.Sum256(data) || len(got) != size {
				t.Fatalf("%d bytes came back as %d different bytes", size, len(got))
			}
			info, err := s.Stat(ctx, key)
			if err != nil || info.Size != int64(size) || info.Key != key || info.ModTime.IsZero() {
				t.Fatalf("stat: %+v %v", info, err)
			}
		}
	})
	t.Run("overwrite and delete", func(t *testing.T) {
		key := "tests/x/" + core.NewID()
		s.Put(ctx, key, strings.NewReader("first"))
		if err := s.Put(ctx, key, strings.NewReader("second")); err != nil {
			t.Fatal(err)
		}
		if got := string(readAll(t, s, key)); got != "second" {
			t.Fatalf("after overwrite: %q", got)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, key); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("get after delete: %v", err)
		}
		if _, err := s.Stat(ctx, key); core.ErrorCode(err) != core.ENOTFOUND {
			t.Fatalf("stat after delete: %v", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("deleting twice: %v", err)
		}
	})
	t.Run("failed put leaves nothing", func(t *testing.T) {
		before := len(b.files(t))
		boom := errors.New("client went away")
		for _, size := range []int{100, 7 << 20} { // within one part, and past the first part
			key := "tests/fail/" + core.NewID()
			err := s.Put(ctx, key, &failingReader{data: randomBytes(t, size), err: boom})
			if err == nil {
				t.Fatalf("put of a failing reader (%d bytes) succeeded", size)
			}
			if _, err := s.Stat(ctx, key); core.ErrorCode(err) != core.ENOTFOUND {
				t.Fatalf("a failed put left a blob: %v", err)
			}
		}
		if after := b.files(t); len(after) != before {
			t.Fatalf("failed puts left %d files behind: %v", len(after)-before, after)
		}
	})
	t.Run("keys", func(t *testing.T) {
		for _, key := range []string{"", "../escape", "a/../../b", "/abs", "a//b", "a\x00b", "a/./b", ".hidden", `a\b`, "a/b/"} {
			if err := s.Put(ctx, key, strings.NewReader("x")); core.ErrorCode(err) != core.EINVALID {
				t.Errorf("put %q: %v, want invalid", key, err)
			}
			if _, err := s.Get(ctx, key); core.ErrorCode(err) != core.EINVALID {
				t.Errorf("get %q: %v, want invalid", key, err)
			}
		}
	})
	t.Run("list", func(t *testing.T) {
		dir := "tests/" + core.NewID() + "/"
		want := map[string]int64{dir + "a": 1, dir + "b/c": 3}
		for k, n := range want {
			if err := s.Put(ctx, k, bytes.NewReader(randomBytes(t, int(n)))); err != nil {
				t.Fatal(err)
			}
		}
		s.Put(ctx, "elsewhere/"+core.NewID(), strings.NewReader("x"))
		got := map[string]int64{}
		err := s.List(ctx, dir, func(b core.BlobInfo) error {
			got[b.Key] = b.Size
			if b.ModTime.IsZero() {
				t.Errorf("%s: no time", b.Key)
			}
			return nil
		})
		if err != nil || len(got) != len(want) || got[dir+"a"] != 1 || got[dir+"b/c"] != 3 {
			t.Fatalf("list %s: %v %v", dir, got, err)
		}
	})
	t.Run("tamper is visible", func(t *testing.T) {
		key := "tests/t/" + core.NewID()
		s.Put(ctx, key, strings.NewReader("original"))
		b.tamper(t, key, []byte("0riginal"))
		if got := string(readAll(t, s, key)); got != "0riginal" {
			t.Fatalf("tamper did not reach the store: %q", got)
		}
	})
}

func TestDiskConformance(t *testing.T) { conformance(t, diskBackend(t)) }

func TestS3Conformance(t *testing.T) { conformance(t, s3Backend(t)) }

func TestDiskStaysUnderRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	d, err := evidence.NewDisk(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../outside", "tests/../../outside"} {
		if err := d.Put(ctx, key, strings.NewReader("x")); err == nil {
			t.Fatalf("put %q succeeded", key)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "outside")); !os.IsNotExist(err) {
		t.Fatalf("a file appeared outside the root: %v", err)
	}
}

func TestOpenFromConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ev")
	s, err := evidence.Open(config.Evidence{Backend: config.BackendDisk, Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*evidence.Disk); !ok || evidence.Check(ctx, s) != nil {
		t.Fatalf("disk backend: %T", s)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("evidence folder not created: %v", err)
	}
	// An S3 store opens without the network; Check is what finds it unreachable.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s, err = evidence.Open(config.Evidence{Backend: config.BackendS3, S3: config.S3{Endpoint: addr, Bucket: "b", AccessKey: "a", SecretKey: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := evidence.Check(cctx, s); err == nil {
		t.Fatal("check of an S3 endpoint where nothing listens succeeded")
	}
	if _, err := evidence.Open(config.Evidence{Backend: "ftp"}); err == nil {
		t.Fatal("unknown backend accepted")
	}
}
