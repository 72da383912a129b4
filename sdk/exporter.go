package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
)

// Exporter turns the records of a scope the host resolved into one or more
// artifacts (a Navigator layer, a SIEM query pack, a report).
//
// An error returned from Export becomes an ERROR diagnostic and fails the
// export; artifacts already streamed are then discarded by the host.
type Exporter interface {
	Export(ctx context.Context, req ExportRequest, records RecordIterator, out ArtifactWriter) error
}

// ExporterFunc adapts a function to Exporter.
type ExporterFunc func(ctx context.Context, req ExportRequest, records RecordIterator, out ArtifactWriter) error

func (f ExporterFunc) Export(ctx context.Context, req ExportRequest, records RecordIterator, out ArtifactWriter) error {
	return f(ctx, req, records, out)
}

// ExportRequest is one export.
type ExportRequest struct {
	// Type selects the exporter within the plugin.
	Type string
	// Config is the JSON object from the plugin's config block.
	Config json.RawMessage
	// ExportID identifies the export in the host's logs and history.
	ExportID string
	// Scope describes what the host resolved (organisation, actor, campaign,
	// snapshot, rule set) as a JSON object; the records themselves arrive
	// through the RecordIterator.
	Scope json.RawMessage
}

// RecordIterator yields the records of an export's scope, decoded and
// validated, in the order the host sent them.
type RecordIterator interface {
	// Next returns the next record, or io.EOF after the last one.
	Next() (Record, error)
}

// Records adapts a RecordIterator to a range-over-func loop. The loop ends
// after the last record; any other error is yielded once and ends the loop.
func Records(it RecordIterator) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			r, err := it.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// ArtifactWriter streams artifacts back to the host.
type ArtifactWriter interface {
	// Begin starts a new artifact and ends the previous one. name is a bare
	// file name (no directories); mediaType is e.g. "application/json". The
	// returned writer is valid until the next Begin or until Export returns;
	// its bytes travel in chunks of at most 1 MiB.
	Begin(name, mediaType string) (io.Writer, error)
	// Warn reports a problem the exporter worked around, e.g. a skipped record.
	Warn(externalID, summary, detail string)
	// Progress reports how far the export got; total is 0 when unknown.
	Progress(done, total int64, msg string)
}
