package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mmcdole/gofeed"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/source"
)

type importer struct{}

func (*importer) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	cfg, err := decodeConfig(req.Config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var feeds []string
	seen := map[string]bool{}
	for _, f := range append([]string{req.Source}, cfg.Feeds...) {
		if f = strings.TrimSpace(f); f != "" && !seen[f] {
			seen[f] = true
			feeds = append(feeds, f)
		}
	}
	if len(feeds) == 0 {
		return errors.New("no feeds: set the source to a feed URL or path, or list feeds in config")
	}

	ids := map[string]string{} // external id → feed that delivered it first
	var failures []string
	for i, feed := range feeds {
		out.Progress(int64(i), int64(len(feeds)), "reading "+feed)
		if err := readFeed(ctx, feed, cfg, ids, out); err != nil {
			var ee *emitError
			if errors.As(err, &ee) || ctx.Err() != nil {
				return err
			}
			// One dead feed must not cost the others: it is a warning, and
			// only a run in which no feed could be read fails.
			out.Warn(feed, 0, "", "skipped feed that could not be read", err.Error())
			failures = append(failures, feed+": "+err.Error())
		}
	}
	if len(failures) == len(feeds) {
		return fmt.Errorf("no feed could be read:\n%s", strings.Join(failures, "\n"))
	}
	out.Progress(int64(len(feeds)), int64(len(feeds)), fmt.Sprintf("%d items from %d feeds", out.Count(), len(feeds)-len(failures)))
	return nil
}

// readFeed reads one feed: a URL or a file, or a folder in which every file is a feed.
func readFeed(ctx context.Context, feed string, cfg config, ids map[string]string, out *sdk.Emitter) error {
	tree, err := source.Open(ctx, feed, source.Options{Timeout: cfg.timeout, MaxDownloadBytes: cfg.MaxFeedBytes})
	if err != nil {
		return err
	}
	defer tree.Close()
	if tree.File() != "" {
		return parseFeedFile(tree.File(), feed, feed, ids, out)
	}
	files, err := tree.Glob("**/*")
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no files in %s", tree.Source())
	}
	read := 0
	for _, f := range files {
		if err := parseFeedFile(f.Path, f.Rel, strings.TrimSuffix(feed, "/")+"/"+f.Rel, ids, out); err != nil {
			var ee *emitError
			if errors.As(err, &ee) {
				return err
			}
			out.Warn(f.Rel, 0, "", "skipped feed that could not be read", err.Error())
			continue
		}
		read++
	}
	if read == 0 {
		return fmt.Errorf("none of the %d files in %s is a feed", len(files), tree.Source())
	}
	return nil
}

// parseFeedFile parses one feed file; shown names it in warnings and
// feedURL goes into the records.
func parseFeedFile(file, shown, feedURL string, ids map[string]string, out *sdk.Emitter) error {
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	parsed, err := gofeed.NewParser().Parse(fh)
	if err != nil {
		return fmt.Errorf("not a readable RSS, Atom or JSON feed: %w", err)
	}
	for _, it := range parsed.Items {
		if it == nil {
			continue
		}
		rec, reason := toItem(it, parsed, feedURL)
		if rec == nil {
			out.Warn(shown, 0, strings.TrimSpace(it.Title), reason, "")
			continue
		}
		if first, dup := ids[rec.ExternalID]; dup {
			out.Warn(shown, 0, rec.ExternalID, "skipped entry already read", "first delivered by "+first)
			continue
		}
		err := out.RecordAt(rec, shown, 0)
		var ve *sdk.ValidationError
		if errors.As(err, &ve) {
			out.Diagnostic(sdk.Diagnostic{Severity: sdk.SeverityWarning, File: shown, ExternalID: rec.ExternalID,
				Summary: "skipped invalid entry", Detail: err.Error(), Attribute: ve.Problems[0].Field})
			continue
		}
		if err != nil {
			return &emitError{err}
		}
		ids[rec.ExternalID] = feedURL
	}
	return nil
}

// emitError is a failure to send a record: the run was cancelled or the host
// went away, so no other feed can be delivered either.
type emitError struct{ err error }

func (e *emitError) Error() string { return e.err.Error() }
func (e *emitError) Unwrap() error { return e.err }
