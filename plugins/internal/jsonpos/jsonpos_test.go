package jsonpos

import "testing"

// A file that starts with a UTF-8 byte order mark was refused as malformed JSON
// ("invalid character 'ï'"), so a NIST mappings or D3FEND file saved by a Windows
// editor lost all its records. Its objects and their lines are read as without one.
func TestScanReadsAFileWithAByteOrderMark(t *testing.T) {
	doc, err := Scan([]byte("\xef\xbb\xbf{\"metadata\": {},\n \"mapping_objects\": [\n  {\"a\": 1},\n  {\"a\": 2}]}\n"), "mapping_objects")
	if err != nil {
		t.Fatal(err)
	}
	els := doc.Arrays["mapping_objects"]
	if len(els) != 2 || els[0].Line != 3 || els[1].Line != 4 || string(els[1].Raw) != `{"a": 2}` {
		t.Fatalf("elements = %+v", els)
	}
	if _, ok := doc.Fields["metadata"]; !ok {
		t.Errorf("fields = %v", doc.Fields)
	}
	// A byte order mark is blanked, never anything else.
	if got := string(BlankBOM([]byte("{}"))); got != "{}" {
		t.Errorf("BlankBOM({}) = %q", got)
	}
}
