package sdk_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
	"github.com/aegis-sec/aegis/sdk/sdktest"
	"github.com/aegis-sec/aegis/sdk/source"
)

// fileImporter makes one technique per .txt file of the source, named by its
// content, skipping the unchanged files when tracked is set (a plugin of protocol
// minor 2 that uses the tracker; unset, it is one that ignores the new fields).
func fileImporter(tracked bool) sdk.ImporterFunc {
	return func(ctx context.Context, req sdk.ImportRequest, out *sdk.Emitter) error {
		tree, err := source.Open(ctx, req.Source, source.Options{})
		if err != nil {
			return err
		}
		files, err := tree.Glob("*.txt")
		if err != nil {
			return err
		}
		tr := source.NewTracker(req.PreviousFiles, out)
		for _, f := range files {
			var data []byte
			if tracked {
				if tr.Unchanged(f) {
					continue
				}
				data, err = tr.ReadFile(f)
			} else {
				data, err = os.ReadFile(f.Path)
			}
			if err != nil {
				return err
			}
			if err := out.RecordAt(&sdk.Technique{ExternalID: string(data), Name: f.Rel}, f.Rel, 1); err != nil {
				return err
			}
		}
		return nil
	}
}

func ids(res *sdktest.ImportResult) []string {
	var out []string
	for _, r := range res.Records {
		out = append(out, r.ID())
	}
	return out
}

func paths(sts []source.FileState) []string {
	var out []string
	for _, s := range sts {
		out = append(out, s.Path)
	}
	return out
}

// Protocol minor 2 both ways: a host that asks (ReportFiles) gets file reports and
// unchanged files skipped; a host of minor 1 (no ReportFiles, even with states) gets
// every record and no reports; a plugin that ignores the fields sends everything and
// reports nothing, which the host takes as before.
func TestFilesSkippedOnlyBetweenAHostAndPluginThatBothTrack(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"a.txt": "T1001", "b.txt": "T1002", "c.txt": "T1003"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	first := sdktest.RunImport(t, fileImporter(true), sdk.ImportRequest{Source: dir, ReportFiles: true})
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	if got := paths(first.FilesRead); !reflect.DeepEqual(got, []string{"a.txt", "b.txt", "c.txt"}) || len(first.FilesUnchanged) != 0 {
		t.Fatalf("first run reported read %v, unchanged %v", got, paths(first.FilesUnchanged))
	}
	if err := os.WriteFile(filepath.Join(dir, "b.txt"), []byte("T1222"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "d.txt"), []byte("T1004"), 0o644); err != nil {
		t.Fatal(err)
	}

	second := sdktest.RunImport(t, fileImporter(true), sdk.ImportRequest{Source: dir, ReportFiles: true, PreviousFiles: first.FilesRead})
	if second.Err != nil {
		t.Fatal(second.Err)
	}
	if got := ids(second); !reflect.DeepEqual(got, []string{"T1222", "T1004"}) {
		t.Errorf("tracking host: records %v, want the changed and the added file's", got)
	}
	if got := paths(second.FilesUnchanged); !reflect.DeepEqual(got, []string{"a.txt"}) {
		t.Errorf("tracking host: unchanged %v, want [a.txt]", got)
	}
	if got := paths(second.FilesRead); !reflect.DeepEqual(got, []string{"b.txt", "d.txt"}) {
		t.Errorf("tracking host: read %v, want [b.txt d.txt]", got)
	}

	// A host of minor 1 sends no report_files; states alone must not make the plugin skip.
	old := sdktest.RunImport(t, fileImporter(true), sdk.ImportRequest{Source: dir, PreviousFiles: first.FilesRead})
	if got := ids(old); old.Err != nil || !reflect.DeepEqual(got, []string{"T1001", "T1222", "T1004"}) {
		t.Errorf("host of minor 1: records %v (err %v), want every file's", got, old.Err)
	}
	if len(old.FilesRead)+len(old.FilesUnchanged) != 0 {
		t.Errorf("host of minor 1 got file reports: %v / %v", old.FilesRead, old.FilesUnchanged)
	}

	// A plugin that ignores the fields reads everything and reports nothing.
	ign := sdktest.RunImport(t, fileImporter(false), sdk.ImportRequest{Source: dir, ReportFiles: true, PreviousFiles: first.FilesRead})
	if got := ids(ign); ign.Err != nil || !reflect.DeepEqual(got, []string{"T1001", "T1222", "T1004"}) || len(ign.FilesRead)+len(ign.FilesUnchanged) != 0 {
		t.Errorf("ignoring plugin: records %v, reports %v / %v (err %v)", got, ign.FilesRead, ign.FilesUnchanged, ign.Err)
	}
}
