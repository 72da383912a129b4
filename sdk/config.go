package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// ConfigError is a problem with a component's config, naming the key.
type ConfigError struct {
	// Key is the dotted path of the offending key ("files", "auth.token"),
	// or "" when the config as a whole is wrong.
	Key string
	// Problem says what is wrong, in words for the person editing aegis.hcl.
	Problem string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return "config: " + e.Problem
	}
	return fmt.Sprintf("config key %q: %s", e.Key, e.Problem)
}

// Diagnostic is the ERROR diagnostic ValidateConfig returns for e; its
// Attribute is the key, so the host can point at the line in aegis.hcl.
func (e *ConfigError) Diagnostic() Diagnostic {
	return Diagnostic{Severity: SeverityError, Summary: "invalid config", Detail: e.Error(), Attribute: e.Key}
}

// ConfigKey returns the key a DecodeConfig error names, or "".
func ConfigKey(err error) string {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce.Key
	}
	return ""
}

// DecodeConfig decodes a component's JSON config over defaults and returns
// the result. It is strict: an unknown key, a value of the wrong type, a
// config that is not one JSON object, or anything after it is a
// *ConfigError naming the key. An absent, empty or null config gives the
// defaults.
//
// The defaults travel through JSON (so a slice default is never shared with
// the result), which means only fields JSON can see get a default:
//
//	type config struct {
//		Files     []string `json:"files"`
//		Delimiter string   `json:"delimiter"`
//	}
//	cfg, err := sdk.DecodeConfig(req.Config, config{Files: []string{"**/*.csv"}, Delimiter: ","})
//
// Use it in both Import and ValidateConfig, so the two cannot disagree.
func DecodeConfig[T any](raw json.RawMessage, defaults T) (T, error) {
	var out T
	def, err := json.Marshal(defaults)
	if err != nil {
		return out, fmt.Errorf("config defaults: %w", err)
	}
	if err := json.Unmarshal(def, &out); err != nil {
		return out, fmt.Errorf("config defaults: %w", err)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return out, nil
	}
	if trimmed[0] != '{' {
		return out, &ConfigError{Problem: "must be a JSON object, got " + jsonKind(trimmed)}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return out, configError(err, reflect.TypeOf(out))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return out, &ConfigError{Problem: "unexpected data after the config object"}
	}
	return out, nil
}

// configError turns encoding/json's errors into ones that name the key.
func configError(err error, t reflect.Type) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := te.Type.String()
		switch k := te.Type.Kind(); {
		case k == reflect.Slice || k == reflect.Array:
			want = "a list"
		case k == reflect.Map || k == reflect.Struct:
			want = "an object"
		case k == reflect.String:
			want = "a string"
		case k == reflect.Bool:
			want = "true or false"
		case k >= reflect.Int && k <= reflect.Uint64:
			want = "a whole number"
		case k == reflect.Float32 || k == reflect.Float64:
			want = "a number"
		}
		return &ConfigError{Key: jsonPath(t, te.Field), Problem: fmt.Sprintf("want %s, got %s", want, te.Value)}
	case errors.As(err, &se):
		return &ConfigError{Problem: fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, se)}
	}
	// encoding/json reports unknown keys only in its message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &ConfigError{Key: strings.Trim(name, `"`), Problem: "unknown key (check its spelling against the plugin's config schema)"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &ConfigError{Problem: "the JSON object is not closed"}
	}
	return &ConfigError{Problem: err.Error()}
}

// jsonPath drops the Go names of embedded structs that encoding/json puts
// in an error's field path ("SourceConfig.taxii.url" is "taxii.url" in the
// config a person writes).
func jsonPath(t reflect.Type, field string) string {
	var keep []string
	for _, seg := range strings.Split(field, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			keep = append(keep, seg)
			t = nil
			continue
		}
		if f, ok := t.FieldByName(seg); ok && f.Anonymous && jsonName(f) == "" {
			t = f.Type
			continue
		}
		keep = append(keep, seg)
		t = fieldByJSONName(t, seg)
	}
	return strings.Join(keep, ".")
}

// fieldByJSONName returns the type of the field of struct t (or of its
// embedded structs) that JSON calls name, or nil.
func fieldByJSONName(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := jsonName(f)
		switch {
		case tag == name || (tag == "" && strings.EqualFold(f.Name, name)):
			return f.Type
		case f.Anonymous && tag == "":
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft := fieldByJSONName(et, name); ft != nil {
					return ft
				}
			}
		}
	}
	return nil
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func jsonKind(b []byte) string {
	switch b[0] {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}
