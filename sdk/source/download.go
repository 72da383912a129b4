package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// HTTPDoer is the part of *http.Client that Open uses.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

func openURL(ctx context.Context, raw string, opts Options) (*Tree, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("open source: invalid URL: %w", err)
	}
	shown := u.Redacted()
	temp, err := os.MkdirTemp(opts.TempDir, "aegis-source-")
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", shown, err)
	}
	t, err := download(ctx, u, shown, temp, opts)
	if err != nil {
		_ = os.RemoveAll(temp)
		return nil, err
	}
	return t, nil
}

func download(ctx context.Context, u *url.URL, shown, temp string, opts Options) (*Tree, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	client := opts.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, err)
	}
	req.Header.Set("User-Agent", "aegis-plugin-sdk")
	resp, err := client.Do(req)
	if err != nil {
		return nil, downloadError(shown, err, opts)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: server answered %s", shown, resp.Status)
	}
	if resp.ContentLength > opts.MaxDownloadBytes {
		return nil, fmt.Errorf("download %s: %d bytes is over the %d-byte limit", shown, resp.ContentLength, opts.MaxDownloadBytes)
	}
	// The download gets its own folder so that its name cannot collide with
	// the extraction folder.
	dlDir := filepath.Join(temp, "download")
	if err := os.Mkdir(dlDir, 0o755); err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, err)
	}
	name := downloadName(u)
	file := filepath.Join(dlDir, name)
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, err)
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, opts.MaxDownloadBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, downloadError(shown, err, opts)
	}
	if n > opts.MaxDownloadBytes {
		return nil, fmt.Errorf("download %s: more than the %d-byte limit", shown, opts.MaxDownloadBytes)
	}
	kind, err := detectArchive(file)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", shown, err)
	}
	if kind == archiveNone {
		return &Tree{root: dlDir, file: name, source: shown, temp: temp}, nil
	}
	t, err := extractInto(file, kind, temp, shown, opts)
	if err != nil {
		return nil, err
	}
	// The archive itself is no longer needed once extracted.
	_ = os.Remove(file)
	return t, nil
}

// downloadError words network failures so that an operator running offline
// sees what to do, not just a dial error.
func downloadError(shown string, err error, opts Options) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("download %s: no complete answer within %s: %w", shown, opts.Timeout, err)
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return fmt.Errorf("download %s: network unreachable (offline?); set the plugin's source to a local path to import without network: %w", shown, err)
	}
	return fmt.Errorf("download %s: %w", shown, err)
}

// downloadName keeps the URL's file name (for messages and for Glob on a
// single-file source) but never lets it become a path.
func downloadName(u *url.URL) string {
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == ".." || name == "" || strings.ContainsAny(name, `\:`) {
		return "download"
	}
	return name
}
