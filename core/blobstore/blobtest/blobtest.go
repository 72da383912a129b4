// Package blobtest gives tests real blob stores: one on disk, and one in a fresh bucket
// of a real S3 server (AEGIS_TEST_S3_ENDPOINT, or a versitygw gateway it starts), each
// with a way to tamper with a stored blob behind the store's back.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore"
)

// Backend is a blob store under test and a way to change a stored blob behind its
// back (to simulate corruption).
type Backend struct {
	Name   string
	Store  core.BlobStore
	Tamper func(t *testing.T, key string, data []byte)
	// Files lists what the back end holds (for "nothing was left behind" checks).
	Files func(t *testing.T) []string
}

// Disk returns a disk store under a temporary directory.
func Disk(t *testing.T) Backend {
	t.Helper()
	root := t.TempDir()
	d, err := blobstore.NewDisk(root)
	if err != nil {
		t.Fatal(err)
	}
	return Backend{
		Name:  "disk",
		Store: d,
		Tamper: func(t *testing.T, key string, data []byte) {
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(key)), data, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		Files: func(t *testing.T) []string {
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

// S3 returns an S3 store on a fresh bucket: of the server named by
// AEGIS_TEST_S3_ENDPOINT, or of a versitygw gateway started for the test.
func S3(t *testing.T) Backend {
	t.Helper()
	endpoint := os.Getenv("AEGIS_TEST_S3_ENDPOINT")
	access, secret := os.Getenv("AEGIS_TEST_S3_ACCESS_KEY"), os.Getenv("AEGIS_TEST_S3_SECRET_KEY")
	if endpoint == "" {
		endpoint, access, secret = StartVersityGW(t)
	}
	bucket := "aegis-test-" + strings.ToLower(core.RandomToken(10))
	s, err := blobstore.NewS3(blobstore.S3Options{Endpoint: endpoint, Bucket: bucket, AccessKey: access, SecretKey: secret,
		Prefix: "evidence/", PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	if err := s.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("check of a missing bucket: %v", err)
	}
	if err := c.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket on %s: %v", endpoint, err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			c.RemoveObject(context.Background(), bucket, o.Key, minio.RemoveObjectOptions{})
		}
		c.RemoveBucket(context.Background(), bucket)
	})
	return Backend{
		Name:  "s3",
		Store: s,
		Tamper: func(t *testing.T, key string, data []byte) {
			if _, err := c.PutObject(context.Background(), bucket, "evidence/"+key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		},
		Files: func(t *testing.T) []string {
			var out []string
			for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				out = append(out, strings.TrimPrefix(o.Key, "evidence/"))
			}
			// Multipart uploads that were started and never completed would hold data
			// too: an aborted upload must not linger.
			for u := range c.ListIncompleteUploads(context.Background(), bucket, "", true) {
				if u.Err == nil {
					out = append(out, "incomplete:"+u.Key)
				}
			}
			return out
		},
	}
}

// StartVersityGW runs a versitygw S3 gateway over a temporary directory for the test.
func StartVersityGW(t *testing.T) (endpoint, access, secret string) {
	t.Helper()
	g := NewVersityGW(t)
	return g.Endpoint, g.Access, g.Secret
}

// VersityGW is a versitygw S3 gateway run for a test over a temporary directory,
// which the test may kill and start again on the same data and address (an S3 server
// that goes away and comes back). It is killed when the test ends.
type VersityGW struct {
	Endpoint, Access, Secret string

	bin, root string
	cmd       *exec.Cmd
	out       *bytes.Buffer
}

// NewVersityGW starts a gateway, or skips the test when versitygw is not installed.
func NewVersityGW(t *testing.T) *VersityGW {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		t.Skip("no S3 server: install versitygw (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0) or set AEGIS_TEST_S3_ENDPOINT")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &VersityGW{Endpoint: l.Addr().String(), Access: "aegistest", Secret: "aegistest-secret-" + core.RandomToken(12),
		bin: bin, root: t.TempDir()}
	l.Close()
	t.Cleanup(g.Kill)
	g.Start(t)
	return g
}

// Start runs the gateway (again) and waits until it listens.
func (g *VersityGW) Start(t *testing.T) {
	t.Helper()
	g.cmd = exec.Command(g.bin, "--port", g.Endpoint, "--quiet", "posix", g.root)
	g.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+g.Access, "ROOT_SECRET_KEY="+g.Secret)
	g.out = &bytes.Buffer{}
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", g.Endpoint, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s: %v\n%s", g.Endpoint, err, g.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill SIGKILLs the gateway and waits until it is gone.
func (g *VersityGW) Kill() {
	if g.cmd == nil {
		return
	}
	g.cmd.Process.Kill()
	g.cmd.Wait()
	g.cmd = nil
}

// Client returns a client of the gateway.
func (g *VersityGW) Client(t *testing.T) *minio.Client {
	t.Helper()
	c, err := minio.New(g.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(g.Access, g.Secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewBucket creates a bucket with a fresh name and returns the name.
func (g *VersityGW) NewBucket(t *testing.T) string {
	t.Helper()
	name := "aegis-test-" + strings.ToLower(core.RandomToken(10))
	if err := g.Client(t).MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket on %s: %v", g.Endpoint, err)
	}
	return name
}

// Contents lists what a bucket holds: its objects' keys, and "incomplete:KEY" for each
// multipart upload started and never completed nor aborted (it holds data too).
func (g *VersityGW) Contents(t *testing.T, bucket string) []string {
	t.Helper()
	c := g.Client(t)
	var out []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	for u := range c.ListIncompleteUploads(context.Background(), bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		out = append(out, "incomplete:"+u.Key)
	}
	return out
}

// RandomBytes returns n random bytes (content no compressor or deduplicator helps with).
func RandomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
