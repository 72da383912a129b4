package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aegis-sec/aegis/sdk"
)

// jsonlExporter writes every record it receives as one JSON line.
type jsonlExporter struct{}

func (jsonlExporter) Describe() sdk.Component {
	return sdk.Component{
		Description: "All records as JSON lines",
		RecordKinds: sdk.RecordKinds(),
		MediaTypes:  []string{"application/x-ndjson"},
	}
}

func (jsonlExporter) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	w, err := out.Begin("records.jsonl", "application/x-ndjson")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for rec, err := range sdk.Records(records) {
		if err != nil {
			return err
		}
		if err := enc.Encode(map[string]any{"kind": rec.Kind(), "record": rec}); err != nil {
			return fmt.Errorf("encode %s %s: %w", rec.Kind(), rec.ID(), err)
		}
	}
	return nil
}

// A plugin's main function is one call to Serve.
func ExampleServe() {
	// func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "jsonl",
		Version:   "0.1.0",
		Exporters: map[string]sdk.Exporter{"jsonl": jsonlExporter{}},
	})
	// }
}
