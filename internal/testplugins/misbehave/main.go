// Command misbehave is a test plugin for the host's failure handling. Its
// importer "misbehave" reads {"mode": "...", "n": 3} from its config:
//
//	ok             stream n valid techniques T9001, T9002, ...
//	crash_after    stream n records, then exit the process with status 3
//	hang           stream n records, then block forever, ignoring cancellation
//	invalid_record stream n valid records, then one technique without a name
//	panic          stream n records, then panic in the handler
//	error_diag     stream n records, then emit an ERROR diagnostic
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aegis-sec/aegis/sdk"
)

type config struct {
	Mode string `json:"mode"`
	N    int    `json:"n"`
}

var modes = []string{"ok", "crash_after", "hang", "invalid_record", "panic", "error_diag"}

type misbehave struct{}

func (misbehave) Describe() sdk.Component {
	return sdk.Component{
		Description:  "misbehaves on purpose, for the host's failure tests",
		RecordKinds:  []string{sdk.KindTechnique},
		ConfigSchema: json.RawMessage(`{"type":"object","properties":{"mode":{"enum":["ok","crash_after","hang","invalid_record","panic","error_diag"]},"n":{"type":"integer","minimum":0}}}`),
	}
}

func (misbehave) ValidateConfig(_ context.Context, raw json.RawMessage) sdk.Diagnostics {
	var ds sdk.Diagnostics
	var c config
	if err := json.Unmarshal(raw, &c); err != nil {
		ds.AddError("config does not decode", err.Error(), "")
		return ds
	}
	known := false
	for _, m := range modes {
		known = known || m == c.Mode
	}
	if !known {
		ds.AddError(fmt.Sprintf("unknown mode %q", c.Mode), fmt.Sprintf("modes: %v", modes), "mode")
	}
	if c.N < 0 {
		ds.AddError("n must not be negative", "", "n")
	}
	return ds
}

// brokenTechnique claims to be a technique and to be valid, so the SDK
// sends it; the host must catch that its JSON lacks the required name.
type brokenTechnique struct {
	ExternalID string `json:"external_id"`
}

func (b *brokenTechnique) Kind() string    { return sdk.KindTechnique }
func (b *brokenTechnique) ID() string      { return b.ExternalID }
func (b *brokenTechnique) Validate() error { return nil }

func (misbehave) Import(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
	var c config
	if err := json.Unmarshal(req.Config, &c); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	for i := 1; i <= c.N; i++ {
		t := &sdk.Technique{ExternalID: fmt.Sprintf("T%04d", 9000+i), Name: fmt.Sprintf("Test technique %d", i), Tactics: []string{"execution"}}
		if err := out.RecordAt(t, "misbehave.json", i); err != nil {
			return err
		}
		out.Progress(int64(i), int64(c.N), "")
	}
	switch c.Mode {
	case "crash_after":
		os.Exit(3)
	case "hang":
		select {}
	case "invalid_record":
		return out.RecordAt(&brokenTechnique{ExternalID: fmt.Sprintf("T%04d", 9000+c.N+1)}, "misbehave.json", c.N+1)
	case "panic":
		panic("misbehave: panic on purpose")
	case "error_diag":
		out.Error("misbehave.json", c.N+1, "", "misbehave: failing on purpose", "error_diag mode")
	}
	return nil
}

func main() {
	sdk.Serve(sdk.ServeOpts{
		Name:      "misbehave",
		Version:   "1.0.0",
		Importers: map[string]sdk.Importer{"misbehave": misbehave{}},
	})
}
