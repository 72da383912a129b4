package csvfile_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk/csvfile"
)

func TestRowsCarryTheirLine(t *testing.T) {
	in := "\ufeffID;Name ;note\n" +
		"a;first;x\n" +
		"b;\"two\nlines\";y\n" +
		"c;short\n" +
		"d;\"bad\"quote;z\n" +
		"e;last;w\n"
	r, err := csvfile.NewReader(strings.NewReader(in), csvfile.Options{Comma: ';', Required: []string{"id"}, Known: []string{"name"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Columns(), []string{"id", "name", "note"}) || !slices.Equal(r.Unknown(), []string{"note"}) || !r.Has("name") || r.Has("x") {
		t.Fatalf("columns %v, unknown %v", r.Columns(), r.Unknown())
	}
	type got struct {
		line int
		id   string
		err  string
	}
	var rows []got
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *csvfile.RowError
		if errors.As(err, &re) {
			rows = append(rows, got{line: re.Line, err: re.Error()})
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, got{line: row.Line, id: row.Get("id") + "/" + row.Get("name") + row.Get("absent")})
	}
	want := []got{
		{line: 2, id: "a/first"},
		{line: 3, id: "b/two\nlines"},
		{line: 5, err: "line 5: row has 2 fields, the header has 3"},
		{line: 6, err: `line 6: extraneous or missing " in quoted-field`},
		{line: 7, id: "e/last"},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows:\n got %q\nwant %q", rows, want)
	}
}

func TestHeaderProblemsSayLineOne(t *testing.T) {
	for in, want := range map[string]string{
		"id,name,ID\n1,a,b\n": `line 1: column "id" appears twice`,
		"name\nx\n":           `line 1: the header lacks the required column "id" (it has name)`,
	} {
		_, err := csvfile.NewReader(strings.NewReader(in), csvfile.Options{Required: []string{"id"}})
		if err == nil || err.Error() != want {
			t.Errorf("NewReader(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := csvfile.NewReader(strings.NewReader(""), csvfile.Options{}); !errors.Is(err, io.EOF) {
		t.Errorf("empty file: %v, want io.EOF", err)
	}
}
