package evtx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func upstream(t testing.TB) string {
	t.Helper()
	root := os.Getenv("AEGIS_UPSTREAM_DIR")
	if root == "" {
		root = "../../shared/upstream"
	}
	dir := filepath.Join(root, "sigma", "regression_data")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("SigmaHQ regression data not found at %s (set AEGIS_UPSTREAM_DIR)", dir)
	}
	return dir
}

func evtxFiles(t testing.TB) []string {
	var files []string
	err := filepath.WalkDir(upstream(t), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// jsonValues reads the JSON twin: one or more JSON documents one after another.
func jsonValues(t *testing.T, path string) []any {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
}

// TestAgreesWithJSONTwins reads every EVTX file of SigmaHQ's regression samples and
// compares each record, as JSON, with the JSON rendering published beside it.
func TestAgreesWithJSONTwins(t *testing.T) {
	files := evtxFiles(t)
	if len(files) < 100 {
		t.Fatalf("only %d EVTX files", len(files))
	}
	records := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var got []any
		if _, err := ReadBytes(data, func(r *Record) error {
			b, err := json.Marshal(r.Tree)
			if err != nil {
				return err
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				return err
			}
			got = append(got, v)
			return nil
		}); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		want := jsonValues(t, strings.TrimSuffix(f, ".evtx")+".json")
		if len(got) != len(want) {
			t.Errorf("%s: %d records, the JSON twin has %d", f, len(got), len(want))
			continue
		}
		for i := range got {
			if known, ok := twinErrata[filepath.Base(f)]; ok && i == 0 {
				checkErratum(t, f, data, got[i], want[i], known)
				continue
			}
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s: record %d differs: %s", f, i, strings.Join(diff(got[i], want[i], ""), "; "))
			}
		}
		records += len(got)
	}
	t.Logf("%d EVTX files, %d records, all equal to their JSON twins", len(files), records)
}

// twinErrata are JSON twins that do not render their EVTX file: the JSON was written
// by another tool or by hand. For each, the fields where the two disagree and the
// value the EVTX file really holds.
var twinErrata = map[string]map[string]string{
	// The twin says "C:\Windows\Explorer.exe" and a timestamp with nanoseconds; the
	// file holds "Explorer.EXE" and the FILETIME ...26.7511565, which evtx_dump writes
	// with microseconds like every other twin.
	"ad691d92-15f2-4181-9aa4-723c74f9ddc3.evtx": {
		"/Event/EventData/ParentCommandLine":               `C:\Windows\Explorer.EXE`,
		"/Event/System/TimeCreated/#attributes/SystemTime": "2026-03-20T08:31:26.751156Z",
	},
}

// checkErratum compares a record with its twin except at the known paths, where the
// value must be what the file holds (and the text must be in the file's bytes).
func checkErratum(t *testing.T, f string, data []byte, got, want any, known map[string]string) {
	t.Helper()
	for _, d := range diff(got, want, "") {
		path := d[:strings.Index(d, ":")]
		if _, ok := known[path]; !ok {
			t.Errorf("%s: differs outside the known errata: %s", f, d)
		}
	}
	for path, v := range known {
		if g := lookup(got, path); g != v {
			t.Errorf("%s: %s is %q, the file holds %q", f, path, g, v)
		}
	}
	if !bytes.Contains(data, utf16le(`C:\Windows\Explorer.EXE`)) {
		t.Errorf("%s: the file does not hold the text the errata name", f)
	}
}

func lookup(v any, path string) any {
	for _, k := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// diff lists the paths where two JSON values differ.
func diff(got, want any, path string) []string {
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if gok && wok {
		var out []string
		for k, v := range wm {
			if _, ok := gm[k]; !ok {
				out = append(out, fmt.Sprintf("%s/%s missing (want %.80v)", path, k, v))
				continue
			}
			out = append(out, diff(gm[k], v, path+"/"+k)...)
		}
		for k, v := range gm {
			if _, ok := wm[k]; !ok {
				out = append(out, fmt.Sprintf("%s/%s extra (%.80v)", path, k, v))
			}
		}
		return out
	}
	if !reflect.DeepEqual(got, want) {
		return []string{fmt.Sprintf("%s: got %#.100v, want %#.100v", path, got, want)}
	}
	return nil
}
