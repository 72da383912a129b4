package blobstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/blobstore"
	"github.com/aegis-sec/aegis/core/blobstore/blobtest"
	"github.com/aegis-sec/aegis/core/config"
)

var ctx = context.Background()

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
func conformance(t *testing.T, b blobtest.Backend) {
	s := b.Store
	t.Run("round trip", func(t *testing.T) {
		for _, size := range []int{0, 1, 511, 64 << 10, 12 << 20} {
			data := blobtest.RandomBytes(t, size)
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
		before := len(b.Files(t))
		boom := errors.New("client went away")
		for _, size := range []int{100, 7 << 20} { // within one part, and past the first part
			key := "tests/fail/" + core.NewID()
			err := s.Put(ctx, key, &failingReader{data: blobtest.RandomBytes(t, size), err: boom})
			if err == nil {
				t.Fatalf("put of a failing reader (%d bytes) succeeded", size)
			}
			if _, err := s.Stat(ctx, key); core.ErrorCode(err) != core.ENOTFOUND {
				t.Fatalf("a failed put left a blob: %v", err)
			}
		}
		if after := b.Files(t); len(after) != before {
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
			if err := s.Put(ctx, k, bytes.NewReader(blobtest.RandomBytes(t, int(n)))); err != nil {
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
		b.Tamper(t, key, []byte("0riginal"))
		if got := string(readAll(t, s, key)); got != "0riginal" {
			t.Fatalf("tamper did not reach the store: %q", got)
		}
	})
}

func TestDiskConformance(t *testing.T) { conformance(t, blobtest.Disk(t)) }

func TestS3Conformance(t *testing.T) { conformance(t, blobtest.S3(t)) }

func TestDiskStaysUnderRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	d, err := blobstore.NewDisk(root)
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
	s, err := blobstore.Open(config.Evidence{Backend: config.BackendDisk, Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*blobstore.Disk); !ok || blobstore.Check(ctx, s) != nil {
		t.Fatalf("disk backend: %T", s)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("evidence folder not created: %v", err)
	}
	// An S3 store opens without the network; Check is what finds it unreachable.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s, err = blobstore.Open(config.Evidence{Backend: config.BackendS3, S3: config.S3{Endpoint: addr, Bucket: "b", AccessKey: "a", SecretKey: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := blobstore.Check(cctx, s); err == nil {
		t.Fatal("check of an S3 endpoint where nothing listens succeeded")
	}
	if _, err := blobstore.Open(config.Evidence{Backend: "ftp"}); err == nil {
		t.Fatal("unknown backend accepted")
	}
}
