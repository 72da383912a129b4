package core

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Strings is a list of strings kept as a JSON array (JSONB on PostgreSQL, TEXT on SQLite).
type Strings []string

// Value writes the list as JSON text; a nil list is stored as [] so readers never see NULL.
func (s Strings) Value() (driver.Value, error) {
	if s == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(s))
	return string(b), err
}

// Scan reads a JSON array from either driver's representation.
func (s *Strings) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	}
	if out, ok := plainStrings(text); ok {
		*s = out
		return nil
	}
	var out []string
	if err := scanJSON(src, &out); err != nil {
		return fmt.Errorf("strings: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*s = out
	return nil
}

// plainStrings reads a JSON array of strings that need no decoding (no escapes, no
// control characters, valid UTF-8), as both drivers hand them over (PostgreSQL's jsonb
// with a space after each comma), giving what json.Unmarshal gives; anything else is
// not ok and goes to json.Unmarshal. The catalog's lists (platforms, domains, data
// sources) are read on every technique of a page: json.Unmarshal was 2.5% of the
// server's CPU under BenchmarkScale's mixed reads.
func plainStrings(s string) ([]string, bool) {
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	ws()
	if i == len(s) || s[i] != '[' {
		return nil, false
	}
	i++
	ws()
	out := []string{}
	if i < len(s) && s[i] == ']' {
		i++
	} else {
		for {
			if i == len(s) || s[i] != '"' {
				return nil, false
			}
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if c := s[j]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
					return nil, false
				}
				j++
			}
			if j == len(s) {
				return nil, false
			}
			out = append(out, s[i+1:j])
			i = j + 1
			ws()
			if i == len(s) {
				return nil, false
			}
			if s[i] == ']' {
				i++
				break
			}
			if s[i] != ',' {
				return nil, false
			}
			i++
			ws()
		}
	}
	ws()
	return out, i == len(s)
}

// JSON is an arbitrary JSON document kept in a JSON column.
type JSON json.RawMessage

// Value writes the document as text; empty means the JSON null document is not wanted,
// so it becomes {}.
func (j JSON) Value() (driver.Value, error) {
	if len(j) == 0 {
		return "{}", nil
	}
	if !json.Valid(j) {
		return nil, fmt.Errorf("json: invalid document")
	}
	return string(j), nil
}

// Scan copies the document out of the driver's buffer.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append(JSON(nil), v...)
	case string:
		*j = JSON(v)
	default:
		return fmt.Errorf("json: cannot scan %T", src)
	}
	return nil
}

// MarshalJSON lets a JSON field embed its document as it is.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON keeps the raw document.
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

func scanJSON(src any, dst any) error {
	switch v := src.(type) {
	case nil:
		return nil
	case []byte:
		return json.Unmarshal(v, dst)
	case string:
		return json.Unmarshal([]byte(v), dst)
	default:
		return fmt.Errorf("cannot scan %T", src)
	}
}
