package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aegis-sec/aegis/plugins/internal/testfs"
	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
)

// An actor's record draws on relationship files: a re-import skips the source only
// when no file changed, and a changed relationship file makes it read everything.
func TestSkipsOnlyAnUnchangedSource(t *testing.T) {
	dir := t.TempDir()
	testfs.CopyDir(t, "testdata/cti", dir)
	req := sdk.ImportRequest{Type: "cti", Source: dir, ReportFiles: true}
	first := sdktest.RunImport(t, &importer{}, req)
	if first.Err != nil || len(first.Records) == 0 {
		t.Fatalf("first import: %v, %d records", first.Err, len(first.Records))
	}
	req.PreviousFiles = first.FilesRead
	same := sdktest.RunImport(t, &importer{}, req)
	if same.Err != nil || len(same.Records) != 0 || len(same.FilesUnchanged) != len(first.FilesRead) {
		t.Fatalf("unchanged source: %v, %d records, %d of %d files unchanged", same.Err, len(same.Records), len(same.FilesUnchanged), len(first.FilesRead))
	}
	rels, err := filepath.Glob(filepath.Join(dir, "enterprise-attack", "relationship", "*.json"))
	if err != nil || len(rels) == 0 {
		t.Fatalf("no relationship file: %v", err)
	}
	data, err := os.ReadFile(rels[0])
	if err != nil {
		t.Fatal(err)
	}
	testfs.WriteFile(t, rels[0], string(data)+" ")
	changed := sdktest.RunImport(t, &importer{}, req)
	if changed.Err != nil || len(changed.Records) != len(first.Records) || len(changed.FilesUnchanged) != 0 {
		t.Errorf("a changed relationship file: %v, %d of %d records, %d files skipped", changed.Err, len(changed.Records), len(first.Records), len(changed.FilesUnchanged))
	}
}
