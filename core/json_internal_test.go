package core

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPlainStringsMatchesUnmarshal: whenever plainStrings reads a text it gives what
// json.Unmarshal gives, on hand-picked texts (both drivers' forms, escapes, unicode,
// broken arrays) and on random ones built from JSON's pieces; and it reads the forms
// the stores hand over.
func TestPlainStringsMatchesUnmarshal(t *testing.T) {
	texts := []string{`[]`, ` [ ] `, `["windows"]`, `["windows","linux"]`, `["windows", "linux", "macOS"]`,
		`["a" ,"b"]`, "[\n\"a\",\t\"b\"\r]", `[""]`, `["",""]`, `["a\"b"]`, `["a\\b"]`, `["\u0041"]`, `["ü"]`,
		`["a",]`, `[,"a"]`, `["a" "b"]`, `["a"`, `"a"`, `[1]`, `["a",1]`, `null`, ``, `[]x`, `["a"]]`, `[["a"]]`,
		`{"a":"b"}`, "[\"a\x01\"]", "[\"\xff\"]", `[ "a" , "b" ]`}
	pieces := []string{`[`, `]`, `"`, `,`, ` `, `a`, `b`, `\`, `"x"`, `ü`, `1`, "\n", `null`}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		s := ""
		for k := rng.IntN(8); k >= 0; k-- {
			s += pieces[rng.IntN(len(pieces))]
		}
		texts = append(texts, s, `[`+s+`]`, `["`+s+`"]`)
	}
	read := 0
	for _, s := range texts {
		got, ok := plainStrings(s)
		if !ok {
			continue
		}
		read++
		var want []string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("plainStrings read %q as %q, json.Unmarshal refuses it: %v", s, got, err)
		}
		if !slices.Equal(got, want) || got == nil {
			t.Fatalf("plainStrings read %q as %q, json.Unmarshal as %q", s, got, want)
		}
	}
	for _, s := range []string{`[]`, `["windows","linux"]`, `["windows", "linux", "macOS"]`} {
		if _, ok := plainStrings(s); !ok {
			t.Errorf("plainStrings does not read %q", s)
		}
	}
	if read < 1000 {
		t.Fatalf("only %d texts read: the random ones test too little", read)
	}
	for _, c := range []struct {
		src  any
		want []string
	}{{`["a", "b"]`, []string{"a", "b"}}, {[]byte(`[]`), []string{}}, {nil, []string{}}, {`["\u00fc"]`, []string{"ü"}}} {
		var s Strings
		if err := s.Scan(c.src); err != nil || !slices.Equal(s, c.want) || s == nil {
			t.Errorf("Scan(%q) = %q, %v; want %q", c.src, s, err, c.want)
		}
	}
}
