package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

type archiveKind int

const (
	archiveNone archiveKind = iota
	archiveZip
	archiveTarGz
	archiveGz // a single gzip-compressed file such as enterprise-attack.json.gz
)

// detectArchive looks at the content, not the name, so that downloads
// without a telling file name (GitHub /tarball/ URLs) are recognised too.
func detectArchive(file string) (archiveKind, error) {
	f, err := os.Open(file)
	if err != nil {
		return archiveNone, err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return archiveZip, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return archiveNone, err
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return archiveNone, fmt.Errorf("corrupt gzip: %w", err)
		}
		block := make([]byte, 512)
		n, _ := io.ReadFull(zr, block)
		if n >= 262 && string(block[257:262]) == "ustar" {
			return archiveTarGz, nil
		}
		return archiveGz, nil
	}
	return archiveNone, nil
}

// entryName validates an archive entry name and returns it slash-separated
// and cleaned. Names with "..", absolute names and drive letters are
// rejected outright rather than sanitised: an archive that contains them
// was not made for us.
func entryName(name string) (string, error) {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return "", fmt.Errorf("entry %q: absolute path", name)
	}
	for _, seg := range strings.Split(n, "/") {
		if seg == ".." {
			return "", fmt.Errorf("entry %q: path contains ..", name)
		}
	}
	clean := path.Clean(n)
	if clean == "." {
		return "", nil
	}
	return clean, nil
}

// extractor writes entries through an os.Root, which refuses any path that
// would leave the destination, even through a symlink planted by an earlier
// entry.
type extractor struct {
	root    *os.Root
	dest    string
	opts    Options
	written int64
	files   int
	links   []string
}

func newExtractor(dest string, opts Options) (*extractor, error) {
	r, err := os.OpenRoot(dest)
	if err != nil {
		return nil, err
	}
	return &extractor{root: r, dest: dest, opts: opts}, nil
}

func (x *extractor) count() error {
	x.files++
	if x.files > x.opts.MaxFiles {
		return fmt.Errorf("more than %d entries", x.opts.MaxFiles)
	}
	return nil
}

func (x *extractor) dir(name string) error {
	if name == "" {
		return nil
	}
	return x.root.MkdirAll(filepath.FromSlash(name), 0o755)
}

func (x *extractor) file(name string, mode os.FileMode, r io.Reader) error {
	if name == "" {
		return nil
	}
	if err := x.dir(path.Dir(name)); err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := x.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	remaining := x.opts.MaxExtractBytes - x.written
	n, err := io.Copy(f, io.LimitReader(r, remaining+1))
	x.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	if n > remaining {
		return fmt.Errorf("archive expands to more than %d bytes", x.opts.MaxExtractBytes)
	}
	return nil
}

// symlink creates a link whose target stays inside the destination;
// finish re-checks every link once the whole tree exists.
func (x *extractor) symlink(name, target string) error {
	if name == "" {
		return fmt.Errorf("symlink with empty name")
	}
	t := strings.ReplaceAll(target, `\`, "/")
	if t == "" || strings.HasPrefix(t, "/") || (len(t) > 1 && t[1] == ':') {
		return fmt.Errorf("entry %q: symlink to absolute path %q", name, target)
	}
	if resolved := path.Join(path.Dir(name), t); resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("entry %q: symlink %q escapes the archive", name, target)
	}
	if err := x.dir(path.Dir(name)); err != nil {
		return err
	}
	if err := x.root.Symlink(filepath.FromSlash(t), filepath.FromSlash(name)); err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	x.links = append(x.links, name)
	return nil
}

func (x *extractor) hardlink(name, target string) error {
	t, err := entryName(target)
	if err != nil || t == "" {
		return fmt.Errorf("entry %q: bad hard link target %q", name, target)
	}
	if err := x.dir(path.Dir(name)); err != nil {
		return err
	}
	return x.root.Link(filepath.FromSlash(t), filepath.FromSlash(name))
}

// finish resolves every symlink on the real file system: chains of links
// that each look harmless ("a" -> "b/..", "b" -> "..") can still escape.
// Dangling links are removed, since their target could appear later.
func (x *extractor) finish() error {
	defer x.root.Close()
	base, err := filepath.EvalSymlinks(x.dest)
	if err != nil {
		return err
	}
	for _, name := range x.links {
		p := filepath.Join(x.dest, filepath.FromSlash(name))
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return rerr
			}
			continue
		}
		if real != base && !strings.HasPrefix(real, base+string(filepath.Separator)) {
			return fmt.Errorf("entry %q: symlink escapes the archive", name)
		}
	}
	return nil
}

func extractZip(file, dest string, opts Options) error {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return fmt.Errorf("open zip: %w", err)
	}
	defer zr.Close()
	x, err := newExtractor(dest, opts)
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if err := x.count(); err != nil {
			x.root.Close()
			return err
		}
		if err := extractZipEntry(x, f); err != nil {
			x.root.Close()
			return err
		}
	}
	return x.finish()
}

func extractZipEntry(x *extractor, f *zip.File) error {
	name, err := entryName(f.Name)
	if err != nil {
		return err
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return x.dir(name)
	case mode&os.ModeSymlink != 0:
		rc, err := f.Open()
		if err != nil {
			return err
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err != nil {
			return err
		}
		return x.symlink(name, string(target))
	case mode.IsRegular():
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("entry %q: %w", f.Name, err)
		}
		defer rc.Close()
		return x.file(name, mode, rc)
	}
	return nil // devices, pipes: nothing an importer reads
}

func extractTarGz(file, dest string, opts Options) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("open gzip: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	x, err := newExtractor(dest, opts)
	if err != nil {
		return err
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			x.root.Close()
			return fmt.Errorf("read tar: %w", err)
		}
		if err := x.count(); err != nil {
			x.root.Close()
			return err
		}
		if err := extractTarEntry(x, h, tr); err != nil {
			x.root.Close()
			return err
		}
	}
	return x.finish()
}

func extractTarEntry(x *extractor, h *tar.Header, r io.Reader) error {
	name, err := entryName(h.Name)
	if err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return x.dir(name)
	case tar.TypeReg:
		return x.file(name, os.FileMode(h.Mode), r)
	case tar.TypeSymlink:
		return x.symlink(name, h.Linkname)
	case tar.TypeLink:
		return x.hardlink(name, h.Linkname)
	}
	return nil // pax headers are consumed by archive/tar; devices and fifos are skipped
}

// gunzipFile decompresses a single .gz file, named after the file without .gz.
func gunzipFile(file, dest string, opts Options) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("open gzip: %w", err)
	}
	defer zr.Close()
	name := zr.Name
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		name = strings.TrimSuffix(filepath.Base(file), ".gz")
		if name == "" || name == filepath.Base(file) {
			name = "data"
		}
	}
	x, err := newExtractor(dest, opts)
	if err != nil {
		return err
	}
	if err := x.file(name, 0o644, zr); err != nil {
		x.root.Close()
		return err
	}
	return x.finish()
}
