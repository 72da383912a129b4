package sdk_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
)

type embeddedConfig struct {
	Source struct {
		URL string `json:"url"`
	} `json:"source"`
}

type testConfig struct {
	embeddedConfig
	Files     []string `json:"files"`
	Delimiter string   `json:"delimiter"`
	Limit     int      `json:"limit"`
	Auth      struct {
		Token string `json:"token"`
	} `json:"auth"`
}

func TestDecodeConfigDefaults(t *testing.T) {
	defaultFiles := []string{"**/*.csv"}
	def := testConfig{Files: defaultFiles, Delimiter: ","}
	for _, raw := range []string{"", "  ", "null", "{}"} {
		c, err := sdk.DecodeConfig(json.RawMessage(raw), def)
		if err != nil || c.Delimiter != "," || !slices.Equal(c.Files, []string{"**/*.csv"}) {
			t.Errorf("DecodeConfig(%q) = %+v, %v; want the defaults", raw, c, err)
		}
	}
	c, err := sdk.DecodeConfig(json.RawMessage(`{"files":["a.csv"],"limit":3,"auth":{"token":"x"}}`), def)
	if err != nil || c.Files[0] != "a.csv" || c.Limit != 3 || c.Delimiter != "," || c.Auth.Token != "x" {
		t.Fatalf("DecodeConfig = %+v, %v", c, err)
	}
	// The default's backing array must not be the result's: a config that
	// sets files must not change the defaults of the next run.
	if defaultFiles[0] != "**/*.csv" {
		t.Errorf("decoding overwrote the default slice: %v", defaultFiles)
	}
}

func TestDecodeConfigErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ raw, key, problem string }{
		{`{"delimeter":";"}`, "delimeter", `config key "delimeter": unknown key (check its spelling against the plugin's config schema)`},
		{`{"limit":"ten"}`, "limit", `config key "limit": want a whole number, got string`},
		{`{"files":"a.csv"}`, "files", `config key "files": want a list, got string`},
		{`{"auth":{"token":5}}`, "auth.token", `config key "auth.token": want a string, got number`},
		{`{"source":{"url":1}}`, "source.url", `config key "source.url": want a string, got number`},
		{`[1,2]`, "", `config: must be a JSON object, got a list`},
		{`{"limit":1} {"limit":2}`, "", `config: unexpected data after the config object`},
		{`{"limit":1`, "", `config: the JSON object is not closed`},
	} {
		_, err := sdk.DecodeConfig(json.RawMessage(tc.raw), testConfig{})
		var ce *sdk.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("DecodeConfig(%s) = %v, want a *ConfigError", tc.raw, err)
			continue
		}
		if ce.Key != tc.key || sdk.ConfigKey(err) != tc.key || err.Error() != tc.problem {
			t.Errorf("DecodeConfig(%s) = key %q, %q; want key %q, %q", tc.raw, ce.Key, err, tc.key, tc.problem)
		}
		if d := ce.Diagnostic(); d.Severity != sdk.SeverityError || d.Attribute != tc.key {
			t.Errorf("diagnostic of %s = %+v", tc.raw, d)
		}
	}
	if sdk.ConfigKey(errors.New("other")) != "" {
		t.Error("ConfigKey of an unrelated error is not empty")
	}
}
