// Package blobstore holds the adapters behind core.BlobStore: evidence files on local
// disk, or in an S3 bucket through minio-go. The evidence service (core/evidence) sees
// only the port; cmd/aegis opens the store the configuration names and hands it over.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// keyRE is the shape of a blob key: Aegis makes keys from ids, so anything else is a
// bug or an attack, and is refused before it reaches a file system or a bucket.
var keyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

// CheckKey refuses keys that could escape the store's root or mean different things to
// different back ends.
func CheckKey(key string) error {
	if len(key) > 512 || !keyRE.MatchString(key) || strings.Contains(key, "..") {
		return core.Errorf(core.EINVALID, "invalid blob key %q", key)
	}
	return nil
}

// Disk stores blobs as files under a root directory.
type Disk struct {
	root string
}

var _ core.BlobStore = (*Disk)(nil)

// NewDisk returns a store rooted at dir, creating it if needed.
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, errors.New("evidence: disk store needs a directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("evidence: create %s: %w", abs, err)
	}
	return &Disk{root: abs}, nil
}

func (d *Disk) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes r to a temporary file beside the target and renames it into place once
// it is complete and synced, so a reader never sees half a blob and a failed upload
// leaves nothing under key.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader) (err error) {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("evidence: create folder for %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("evidence: temp file for %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("evidence: write %s: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("evidence: sync %s: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("evidence: close %s: %w", key, err)
	}
	if err = os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("evidence: store %s: %w", key, err)
	}
	return nil
}

// Get opens the blob for reading.
func (d *Disk) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, core.Errorf(core.ENOTFOUND, "blob %s not found", key)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence: open %s: %w", key, err)
	}
	return f, nil
}

// Stat returns the blob's size and time.
func (d *Disk) Stat(ctx context.Context, key string) (core.BlobInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return core.BlobInfo{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return core.BlobInfo{}, core.Errorf(core.ENOTFOUND, "blob %s not found", key)
	}
	if err != nil {
		return core.BlobInfo{}, fmt.Errorf("evidence: stat %s: %w", key, err)
	}
	return core.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()}, nil
}

// Delete removes the blob; a missing blob is not an error.
func (d *Disk) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("evidence: delete %s: %w", key, err)
	}
	return nil
}

// ctxReader stops a copy when the request that feeds it is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// List walks the files under the root in key order, skipping the temporary files of
// uploads in progress.
func (d *Disk) List(ctx context.Context, prefix string, fn func(core.BlobInfo) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || CheckKey(key) != nil {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil // removed while walking
		}
		return fn(core.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()})
	})
}
