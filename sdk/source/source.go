// Package source opens an importer's source, whatever its shape: an http(s)
// URL of a file or archive, a local file, a local folder, a .tar.gz/.tgz or a
// .zip. Archives are extracted into a temporary folder with path checks and
// size caps, so every importer reads a plain directory tree.
package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Options bound what Open will download and extract. Zero values take the
// defaults.
type Options struct {
	// MaxDownloadBytes caps a download (default 1 GiB).
	MaxDownloadBytes int64
	// MaxExtractBytes caps the total size of extracted files (default 4 GiB).
	MaxExtractBytes int64
	// MaxFiles caps the number of archive entries (default 500,000).
	MaxFiles int
	// Timeout bounds a download (default 10 minutes).
	Timeout time.Duration
	// HTTPClient is used for downloads (default: a client with Timeout).
	HTTPClient HTTPDoer
	// TempDir is where downloads and extractions go (default os.TempDir()).
	TempDir string
	// KeepSingleRoot stops Open from descending into an archive's single
	// top-level folder (GitHub archives wrap everything in "repo-branch/").
	KeepSingleRoot bool
}

const (
	defaultMaxDownload = 1 << 30
	defaultMaxExtract  = 4 << 30
	defaultMaxFiles    = 500_000
	defaultTimeout     = 10 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.MaxDownloadBytes <= 0 {
		o.MaxDownloadBytes = defaultMaxDownload
	}
	if o.MaxExtractBytes <= 0 {
		o.MaxExtractBytes = defaultMaxExtract
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = defaultMaxFiles
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	return o
}

// Tree is an opened source: a directory, or a single file within one.
type Tree struct {
	root   string
	file   string // base name when the source is a single file
	source string
	temp   string // removed by Close; empty for local folders and files

	listing []File // the regular files as the last Glob listed them
}

// Root is the directory holding the source. For a single-file source it is
// the file's directory, and Walk and Glob see only that file.
func (t *Tree) Root() string { return t.root }

// File returns the path of a single-file source, or "" for a folder.
func (t *Tree) File() string {
	if t.file == "" {
		return ""
	}
	return filepath.Join(t.root, t.file)
}

// Source is the string Open was given, with any URL password removed.
func (t *Tree) Source() string { return t.source }

// Close removes anything Open downloaded or extracted.
func (t *Tree) Close() error {
	if t.temp == "" {
		return nil
	}
	err := os.RemoveAll(t.temp)
	t.temp = ""
	return err
}

// Path returns the absolute path of a slash-separated path relative to Root.
func (t *Tree) Path(rel string) string { return filepath.Join(t.root, filepath.FromSlash(rel)) }

// WalkFunc is called for every entry below Root; rel is slash-separated and
// relative to Root. Returning fs.SkipDir skips a directory.
type WalkFunc func(path, rel string, d fs.DirEntry) error

// Walk visits the tree in lexical order. It never enters .git directories,
// whose contents are never source data.
func (t *Tree) Walk(fn WalkFunc) error {
	if t.file != "" {
		p := filepath.Join(t.root, t.file)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return fn(p, t.file, fs.FileInfoToDirEntry(info))
	}
	return filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == t.root {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		return fn(p, filepath.ToSlash(t.rel(p)), d)
	})
}

// rel is p relative to the root. WalkDir's paths are the root joined with what lies
// below it, so the root and one separator are cut off; filepath.Rel, which cleans both
// paths first, was a tenth of listing a 25,000-file tree.
func (t *Tree) rel(p string) string {
	if rest, ok := strings.CutPrefix(p, t.root); ok && len(rest) > 1 && os.IsPathSeparator(rest[0]) {
		return rest[1:]
	}
	if rest, ok := strings.CutPrefix(p, t.root); ok && len(rest) > 0 && os.IsPathSeparator(t.root[len(t.root)-1]) {
		return rest // the root is "/" (or a volume's root)
	}
	rel, err := filepath.Rel(t.root, p)
	if err != nil {
		return p
	}
	return rel
}

// File is a regular file found by Glob.
type File struct {
	// Path is absolute, for opening.
	Path string
	// Rel is slash-separated and relative to Root, for messages.
	Rel string
}

// Glob returns the regular files (and symbolic links, see list) whose relative path matches any of the
// patterns, sorted by Rel. Patterns use path.Match syntax per segment, plus
// "**" for any number of segments: "**/*.yml", "rules/**/*.toml",
// "templates.csv".
func (t *Tree) Glob(patterns ...string) ([]File, error) {
	for _, p := range patterns {
		if _, err := path.Match(strings.ReplaceAll(p, "**", "*"), ""); err != nil {
			return nil, fmt.Errorf("glob %q: %w", p, err)
		}
	}
	all, err := t.list()
	if err != nil {
		return nil, err
	}
	// Each pattern is split once, and each path once, rather than both per pair:
	// listing the 24,771 files of an ATT&CK folder against three patterns split
	// 150,000 strings.
	split := make([][]string, len(patterns))
	for i, p := range patterns {
		split[i] = strings.Split(p, "/")
	}
	var out []File
	for _, f := range all {
		name := strings.Split(f.Rel, "/")
		for _, pat := range split {
			if matchSegments(pat, name) {
				out = append(out, f)
				break
			}
		}
	}
	return out, nil
}

// list walks the tree for its regular files and symbolic links, sorted by Rel, and keeps the
// listing for LeftOut: an importer globs and then names what it left out, and
// the second walk of a 25,000-file ATT&CK folder would cost as much as the first.
func (t *Tree) list() ([]File, error) {
	var out []File
	err := t.Walk(func(p, rel string, d fs.DirEntry) error {
		// A symbolic link is listed too: one to a file is read through it, and one
		// to a folder, to nothing or to itself is named by the importer that cannot
		// read it or by LeftOut, never passed over in silence (Walk does not enter
		// linked folders, so a link loop cannot hang the listing).
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			out = append(out, File{Path: p, Rel: rel})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("glob in %s: %w", t.source, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	t.listing = out
	return out, nil
}

// Match reports whether a slash-separated relative path matches a pattern in which
// "**" stands for any number of folders and each other segment is a path.Match
// pattern: the rule Glob uses, for importers that filter the files they found.
func Match(pattern, name string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if pat[0] != name[0] && !segmentMatch(pat[0], name[0]) {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// segmentMatch is path.Match for one segment; a segment without any of its special
// characters can only match itself (the caller compared them already).
func segmentMatch(pat, name string) bool {
	if !strings.ContainsAny(pat, `*?[\\`) {
		return false
	}
	ok, _ := path.Match(pat, name)
	return ok
}

// Open makes src readable as a Tree. src is an http(s) URL, a file:// URL or
// a local path. The caller must Close the tree.
func Open(ctx context.Context, src string, opts Options) (*Tree, error) {
	opts = opts.withDefaults()
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, errors.New("open source: no source given (set source to a URL or a local path)")
	}
	lower := strings.ToLower(src)
	switch {
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		return openURL(ctx, src, opts)
	case strings.HasPrefix(lower, "file://"):
		return openLocal(strings.TrimPrefix(src[len("file://"):], "localhost"), opts)
	case strings.Contains(src, "://"):
		return nil, fmt.Errorf("open source %q: unsupported scheme (want http, https, file or a local path)", src)
	}
	return openLocal(src, opts)
}

func openLocal(p string, opts Options) (*Tree, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", p, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	if info.IsDir() {
		return &Tree{root: abs, source: p}, nil
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("open source %s: not a regular file or folder", p)
	}
	kind, err := detectArchive(abs)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", p, err)
	}
	if kind == archiveNone {
		return &Tree{root: filepath.Dir(abs), file: filepath.Base(abs), source: p}, nil
	}
	temp, err := os.MkdirTemp(opts.TempDir, "aegis-source-")
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", p, err)
	}
	t, err := extractInto(abs, kind, temp, p, opts)
	if err != nil {
		_ = os.RemoveAll(temp)
		return nil, err
	}
	return t, nil
}

// extractInto extracts archive file into temp/x and returns the tree.
func extractInto(file string, kind archiveKind, temp, source string, opts Options) (*Tree, error) {
	dest := filepath.Join(temp, "x")
	if err := os.Mkdir(dest, 0o755); err != nil {
		return nil, fmt.Errorf("extract %s: %w", source, err)
	}
	var err error
	switch kind {
	case archiveZip:
		err = extractZip(file, dest, opts)
	case archiveTarGz:
		err = extractTarGz(file, dest, opts)
	case archiveGz:
		err = gunzipFile(file, dest, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", source, err)
	}
	root := dest
	if kind == archiveGz {
		entries, err := os.ReadDir(dest)
		if err != nil || len(entries) != 1 {
			return nil, fmt.Errorf("extract %s: gzip produced no file", source)
		}
		return &Tree{root: dest, file: entries[0].Name(), source: source, temp: temp}, nil
	}
	if !opts.KeepSingleRoot {
		root = singleRoot(dest)
	}
	return &Tree{root: root, source: source, temp: temp}, nil
}

// singleRoot descends into dir's only entry while that entry is a directory.
func singleRoot(dir string) string {
	for {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 || !entries[0].IsDir() {
			return dir
		}
		dir = filepath.Join(dir, entries[0].Name())
	}
}
