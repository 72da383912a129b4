package yamlnode

import "testing"

func TestLenientReads(t *testing.T) {
	root, err := FirstDocument([]byte("name: x\nlist: [a, 2, ' b ']\nflag: yes\nnum: 3\nalias: &a {k: v}\nref: *a\n---\nsecond: ignored\n"))
	if err != nil {
		t.Fatal(err)
	}
	if Text(Get(root, "name")) != "x" || Line(Get(root, "num"), 0) != 4 {
		t.Errorf("name/line: %q %d", Text(Get(root, "name")), Line(Get(root, "num"), 0))
	}
	if got := Strs(Get(root, "list")); len(got) != 3 || got[1] != "2" {
		t.Errorf("strs: %q", got)
	}
	if Text(Get(Get(root, "ref"), "k")) != "v" {
		t.Error("alias not followed")
	}
	if Has(root, "second") {
		t.Error("a later document was read")
	}
	if _, err := FirstDocument([]byte("")); err == nil {
		t.Error("empty input accepted")
	}
	if _, err := FirstDocument([]byte("a: [unclosed")); err == nil {
		t.Error("malformed YAML accepted")
	}
}

// A file saved as Latin-1 failed with yaml.v3's "invalid trailing UTF-8 octet" and
// no line; the error names the line, the column and the byte.
func TestLatin1IsNamedByLine(t *testing.T) {
	_, err := FirstDocument([]byte("name: x\r\nauthor: Jos\xe9 M\xfcller\nlist: []\n"))
	if err == nil || err.Error() != "yaml: line 2: byte 0xE9 at column 12 is not UTF-8 (Latin-1 or Windows-1252?): save the file as UTF-8" {
		t.Fatalf("err = %v", err)
	}
	if _, err := FirstDocument([]byte("author: José\n")); err != nil {
		t.Errorf("UTF-8 refused: %v", err)
	}
}
