package api

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// jsonNames lists the JSON field names of a struct type, flattening embedded structs.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestPatchDocMatchesPatch keeps the documented PATCH body and the one the handler
// decodes naming the same fields.
func TestPatchDocMatchesPatch(t *testing.T) {
	doc, real := jsonNames(reflect.TypeOf(testPatchDoc{})), jsonNames(reflect.TypeOf(patchBody{}))
	if strings.Join(doc, ",") != strings.Join(real, ",") {
		t.Fatalf("testPatchDoc documents %v\nbut the handler reads %v", doc, real)
	}
	if len(real) < 20 {
		t.Fatalf("only %d fields found: the walk does not see the embedded patch", len(real))
	}
}
