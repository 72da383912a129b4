package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/aegis-sec/aegis/api"
)

// TestWebOpenAPIIsCurrent keeps the copy of the OpenAPI document the web app generates
// its types from (web/openapi.json → web/src/api/schema.d.ts) equal to the API this
// binary serves, so a changed route or body breaks the web build, not the user.
func TestWebOpenAPIIsCurrent(t *testing.T) {
	want, err := api.OpenAPIDocument(openAPIVersion)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../web/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatal("web/openapi.json differs from the API's OpenAPI document: run `make api-types` " +
			"(it rewrites web/openapi.json and web/src/api/schema.d.ts), then fix what the web build reports")
	}
}

func TestOpenAPICommand(t *testing.T) {
	var out bytes.Buffer
	cmd := newRootCmd(nil, &out, &out)
	cmd.SetArgs([]string{"openapi"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("{\n  \"components\"")) || !bytes.Contains(out.Bytes(), []byte(`"/api/v1/tests/{id}/vote"`)) {
		t.Fatalf("not the document: %.200s", out.String())
	}
}
