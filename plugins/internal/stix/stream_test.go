package stix

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// wholeFile is what the whole-file read gives for data: its objects and warnings.
func wholeFile(t *testing.T, rel string, data []byte) ([]*Object, []readWarning) {
	t.Helper()
	pf, err := ParseFile(data)
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	var ws []readWarning
	objs := decodeObjects(rel, pf, func(line int, id, summary, detail string) {
		ws = append(ws, readWarning{line, id, summary, detail})
	})
	return objs, ws
}

// TestStreamBundleMatchesWholeFile checks that reading a bundle object by object gives
// the objects, lines and warnings of the whole-file read, whatever size the reads
// are; and that every file the stream does not take (an index, one object, a file
// that breaks off) is left to the whole-file read.
func TestStreamBundleMatchesWholeFile(t *testing.T) {
	files := map[string][]byte{
		"crlf and blank lines":            []byte("{\r\n \"type\": \"bundle\",\r\n\r\n \"objects\": [\r\n  {\"type\": \"x-mitre-tactic\", \"id\": \"x-mitre-tactic--1\", \"name\": \"A\"},\r\n\r\n\r\n  {\"type\": \"attack-pattern\",\n \"id\": \"attack-pattern--2\", \"name\": \"multi\\nline\"}\r\n ]\r\n}\r\n"),
		"objects before type":             []byte(`{"objects":[{"type":"x","id":"x--1"}],"type":"bundle","id":"bundle--1"}`),
		"bare list":                       []byte("[\n{\"type\":\"x\",\"id\":\"x--1\"},\n\n{\"type\":\"x\",\"id\":\"x--2\"}]\n"),
		"malformed elements":              []byte("{\"type\":\"bundle\",\"objects\":[\n  \"a string\",\n  {\"type\":\"attack-pattern\",\"id\":\"attack-pattern--3\",\"name\":7,\n   \"x_mitre_platforms\":\"Windows\"},\n  {\"id\":\"no-type--1\"},\n  {\"type\":\"x\",\"id\":\"x--4\"}\n]}"),
		"brackets and escapes in strings": []byte(`{"id":"bundle--{[","type":"bundle","x":[1,{"a":"]"}],"n":-1.5e3,"t":true,"objects":[{"type":"x","id":"x--1","name":"a]}\"{[\\","description":"line\nbreak \u007d"} , {"type":"x","id":"x--2"}],"z":null}`),
		"byte order mark":                 []byte("\xef\xbb\xbf{\"type\":\"bundle\",\n\"objects\":[\n{\"type\":\"x\",\"id\":\"x--1\"}]}"),
		"two object lists":                []byte("{\"objects\":[{\"type\":\"x\",\"id\":\"x--1\"}],\n\"objects\":[\n{\"type\":\"x\",\"id\":\"x--2\"}]}"),
	}
	for _, p := range []string{
		filepath.Join("..", "..", "attack", "testdata", "bundle", "enterprise-attack-18.1.json"),
		filepath.Join("..", "..", "attack", "testdata", "index", "enterprise-attack", "enterprise-attack-18.1.json"),
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p)] = data
	}
	if root := os.Getenv("AEGIS_UPSTREAM_DIR"); root != "" {
		if data, err := os.ReadFile(filepath.Join(root, "attack-stix-data", "ics-attack", "ics-attack-18.1.json")); err == nil {
			files["ics-attack-18.1.json"] = data
		}
	}
	for name, data := range files {
		wantObjs, wantWarn := wholeFile(t, name, data)
		if len(wantObjs) == 0 {
			t.Fatalf("%s: the whole-file read found no objects", name)
		}
		for _, small := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(data)
			if small {
				r = iotest.OneByteReader(r)
			}
			objs, ws, ok := streamBundle(r, name)
			if !ok {
				t.Fatalf("%s (one-byte reads %v): the stream did not take a well-formed bundle", name, small)
			}
			if !reflect.DeepEqual(objs, wantObjs) {
				t.Errorf("%s (one-byte reads %v): objects differ from the whole-file read", name, small)
				for i := range min(len(objs), len(wantObjs)) {
					if !reflect.DeepEqual(objs[i], wantObjs[i]) {
						t.Errorf("first difference at %d: %+v\nwant %+v", i, objs[i], wantObjs[i])
						break
					}
				}
			}
			if !reflect.DeepEqual(ws, wantWarn) {
				t.Errorf("%s (one-byte reads %v): warnings %+v, want %+v", name, small, ws, wantWarn)
			}
		}
	}
	if _, ws := wholeFile(t, "m", files["malformed elements"]); len(ws) < 2 {
		t.Fatalf("the malformed fixture gives %d warnings, want a skipped object and a malformed field: %+v", len(ws), ws)
	}

	for name, data := range map[string]string{
		"index":            `{"id":"i","collections":[]}`,
		"one object":       `{"type":"attack-pattern","id":"attack-pattern--1"}`,
		"objects not list": `{"type":"bundle","objects":{"a":1}}`,
		"breaks off":       "{\"type\":\"bundle\",\"objects\":[\n{\"type\":\"x\",\"id\":\"x--1\"},\n{\"type\":\"x\",\"id\":",
		"syntax error":     "{\"type\":\"bundle\",\"objects\":[\n{\"type\":\"x\",\"id\":\"x--1\"},\n{\"type\" \"x\"}]}",
		"trailing data":    `{"type":"bundle","objects":[{"type":"x","id":"x--1"}]} {}`,
		"not json":         "hello",
		"trailing comma":   `{"type":"bundle","objects":[{"type":"x","id":"x--1"},]}`,
		"missing comma":    `{"type":"bundle","objects":[{"type":"x","id":"x--1"} {"type":"x","id":"x--2"}]}`,
		"invalid object":   `{"type":"bundle","objects":[{"type":"x","id":"x--1"},{"type":"x","id":"x--2",}]}`,
		"invalid value":    `{"type":"bundle","id":tru,"objects":[{"type":"x","id":"x--1"}]}`,
		"escaped key":      `{"type":"bundle","obj\u0065cts":[{"type":"x","id":"x--1"}]}`,
		"unclosed":         `{"type":"bundle","objects":[{"type":"x","id":"x--1"}]`,
	} {
		if _, _, ok := streamBundle(strings.NewReader(data), name); ok {
			t.Errorf("%s: the stream took it; it is the whole-file read's to report", name)
		}
	}
}

// TestLoadBundleFileStreamsLikeWholeFile loads a bundle file through Load (the stream)
// and through ReadBundle (the whole file) and compares the datasets' objects.
func TestLoadBundleFileStreamsLikeWholeFile(t *testing.T) {
	p := filepath.Join("..", "..", "attack", "testdata", "bundle", "enterprise-attack-18.1.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var r1, r2 recorder
	streamed, err := Load(t.Context(), p, Options{}, &r1)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := ReadBundle(filepath.Base(p), data, &r2)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.Len() == 0 || streamed.Len() != whole.Len() {
		t.Fatalf("streamed %d objects, whole file %d", streamed.Len(), whole.Len())
	}
	if !reflect.DeepEqual(r1.warnings, r2.warnings) {
		t.Errorf("warnings differ:\n%v\n%v", r1.warnings, r2.warnings)
	}
	for _, typ := range []string{"attack-pattern", "x-mitre-tactic", "course-of-action", "relationship"} {
		a, b := streamed.OfType(typ), whole.OfType(typ)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: streamed %d objects, whole file %d, or they differ", typ, len(a), len(b))
		}
	}
}

// FuzzStreamBundle checks that whatever the stream takes, the whole-file read reads
// the same: a bundle, with the same objects, lines and warnings.
func FuzzStreamBundle(f *testing.F) {
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"x","id":"x--1"}]}`))
	f.Add([]byte("[\n{\"type\":\"x\",\"id\":\"x--1\",\"name\":\"]\\\"\"},\n{\"type\":\"attack-pattern\",\"id\":\"attack-pattern--2\",\"name\":7}]"))
	f.Add([]byte(`{"id":"b","objects":[{"type":"x","id":"x--1"}],"objects":[1,"s",null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, ws, ok := streamBundle(bytes.NewReader(data), "f.json")
		objs1, ws1, ok1 := streamBundle(iotest.OneByteReader(bytes.NewReader(data)), "f.json")
		if ok1 != ok || len(objs1) != len(objs) || len(ws1) != len(ws) || len(objs) > 0 && !reflect.DeepEqual(objs1, objs) || len(ws) > 0 && !reflect.DeepEqual(ws1, ws) {
			t.Fatalf("%q: one-byte reads give %v %d objects %+v, whole reads %v %d %+v", data, ok1, len(objs1), ws1, ok, len(objs), ws)
		}
		if !ok {
			return
		}
		pf, err := ParseFile(data)
		if err != nil || pf.Kind != KindBundle || pf.Err != nil {
			t.Fatalf("the stream took %q; the whole-file read: %v, kind %d, break %v", data, err, pf.Kind, pf.Err)
		}
		var want []readWarning
		wantObjs := decodeObjects("f.json", pf, func(line int, id, summary, detail string) {
			want = append(want, readWarning{line, id, summary, detail})
		})
		same := func(a, b any, n int) bool { return n == 0 || reflect.DeepEqual(a, b) }
		if len(objs) != len(wantObjs) || len(ws) != len(want) || !same(objs, wantObjs, len(objs)) || !same(ws, want, len(ws)) {
			t.Fatalf("%q: streamed %d objects %+v, whole file %d %+v", data, len(objs), ws, len(wantObjs), want)
		}
	})
}
