package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/aegis-sec/aegis/core"
)

// maxJSONBody bounds JSON request bodies; uploads have their own, configured limit.
const maxJSONBody = 1 << 20

// decodeJSON reads the request body into dst. It insists on Content-Type
// application/json, which a cross-site HTML form cannot send without a CORS preflight
// (that is what protects the unauthenticated login route from login CSRF), refuses
// unknown fields so a typo is an error instead of a silently ignored setting, and
// accepts exactly one JSON value. Every string in it must be valid UTF-8 without NUL
// and at most core.MaxTextBytes long (checkStrings); the core bounds fields further.
func decodeJSON(c echo.Context, dst any) error {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return core.Errorf(core.EINVALID, "send a JSON body with Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return core.Errorf(core.ETOOLARGE, "the JSON body is larger than %d bytes", maxJSONBody)
		}
		return core.Errorf(core.EINVALID, "reading the JSON body: %v", err)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD: refuse it instead,
	// naming the field it is in.
	if !utf8.Valid(body) {
		return core.FieldError(fieldAt(body, invalidUTF8At(body)), "is not valid UTF-8")
	}
	if off, problem := scanJSONShape(body); off >= 0 {
		field := fieldAt(body, off)
		if i := strings.IndexAny(field, ".["); i > 0 && strings.HasPrefix(problem, "nests") {
			field = field[:i] // not a name 64 levels long
		}
		if field != "" {
			return core.FieldError(field, "%s", problem)
		}
		return core.Errorf(core.EINVALID, "the JSON body %s", problem)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return core.FieldError(ute.Field, "must be %s, not a JSON %s", ute.Type, ute.Value)
		case errors.Is(err, io.EOF):
			return core.Errorf(core.EINVALID, "the JSON body is empty")
		}
		return core.Errorf(core.EINVALID, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return core.Errorf(core.EINVALID, "the body holds more than one JSON value")
	}
	return checkStrings(reflect.ValueOf(dst), "")
}

// decodeJSONComplete is decodeJSON for a body that replaces a whole setting:
// every field the type tags api:"required" must be present, because a missing one
// would silently become zero.
func decodeJSONComplete(c echo.Context, dst any) error {
	var fields map[string]json.RawMessage
	if err := decodeJSON(c, &fields); err != nil {
		return err
	}
	t := reflect.TypeOf(dst).Elem()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !slices.Contains(strings.Split(f.Tag.Get("api"), ","), "required") || name == "" {
			continue
		}
		if _, ok := fields[name]; !ok {
			return core.FieldError(name, "is required: send every field (GET the current ones and change what you need)")
		}
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return core.Errorf(core.EINVALID, "invalid JSON body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return core.FieldError(ute.Field, "must be %s, not a JSON %s", ute.Type, ute.Value)
		}
		return core.Errorf(core.EINVALID, "invalid JSON body: %v", err)
	}
	return nil
}

// maxJSONDepth bounds how deeply a request body nests arrays and objects. No request
// needs more than a few levels (a Sigma detection map is the deepest); without it a
// 1 MiB body of 9,000 nested objects was stored as a rule's detection, for every
// later reader (the SPA, exports) to recurse through.
const maxJSONDepth = 64

// scanJSONShape returns the byte offset of the first thing in body that encoding/json
// would accept but a request must not hold, and what it is: nesting deeper than
// maxJSONDepth, or an escaped UTF-16 surrogate without its pair (\ud800), which the
// decoder would silently turn into U+FFFD like the invalid UTF-8 refused above. -1
// when there is none. Syntax errors are left to the decoder.
func scanJSONShape(body []byte) (int, string) {
	depth, inString := 0, false
	for i := 0; i < len(body); i++ {
		b := body[i]
		if !inString {
			switch b {
			case '"':
				inString = true
			case '[', '{':
				if depth++; depth > maxJSONDepth {
					return i, fmt.Sprintf("nests arrays and objects more than %d deep", maxJSONDepth)
				}
			case ']', '}':
				depth--
			}
			continue
		}
		switch {
		case b == '"':
			inString = false
		case b == '\\' && i+1 < len(body) && body[i+1] == 'u':
			r, ok := hex4(body, i+2)
			if ok && utf16.IsSurrogate(r) {
				if low, ok := hex4(body, i+8); r < 0xdc00 && ok && body[i+6] == '\\' && body[i+7] == 'u' && low >= 0xdc00 && low <= 0xdfff {
					i += 11 // a high and a low surrogate: one character
					continue
				}
				return i, fmt.Sprintf("holds \\u%04x, half of a UTF-16 surrogate pair, which is not a character", r)
			}
			i++
		case b == '\\':
			i++ // the escaped character cannot end the string
		}
	}
	return -1, ""
}

// hex4 reads the four hex digits at body[at:], false when there are not four.
func hex4(body []byte, at int) (rune, bool) {
	if at+4 > len(body) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[at:at+4]), 16, 16)
	return rune(n), err == nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// fieldAt names the JSON field (a.b[2].c) whose key or value holds byte offset off
// of body, "" when it is outside any field.
func fieldAt(body []byte, off int) string {
	type frame struct {
		obj       bool
		key       string
		idx       int
		expectKey bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.obj && f.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			case !f.obj && f.idx >= 0:
				fmt.Fprintf(&b, "[%d]", f.idx)
			}
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].expectKey = true
			}
			continue
		}
		if top != nil && top.obj && top.expectKey {
			top.key, top.expectKey = fmt.Sprint(tok), false
			if int(dec.InputOffset()) > off {
				return path()
			}
			continue
		}
		if top != nil && !top.obj {
			top.idx++
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{obj: d == '{', expectKey: d == '{', idx: -1})
			if int(dec.InputOffset()) > off { // the offset is this array or object's opening
				return path()
			}
			continue
		}
		if int(dec.InputOffset()) > off {
			return path()
		}
		if top != nil && top.obj {
			top.expectKey = true
		}
	}
}

var (
	rawJSONType     = reflect.TypeOf(json.RawMessage(nil))
	jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
)

// checkStrings walks a decoded request and applies core.CheckText with the ceiling
// core.MaxTextBytes to every string in it (map keys included), naming the field the
// way the JSON did. Raw JSON documents may not hold an escaped NUL either: PostgreSQL's
// jsonb refuses \u0000.
func checkStrings(v reflect.Value, path string) error {
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkStrings(v.Elem(), path)
	case reflect.String:
		return core.CheckText(path, v.String(), core.MaxTextBytes)
	case reflect.Struct:
		t := v.Type()
		// A type that decodes itself (testflow.Opt) is one JSON value: its Go fields
		// are not JSON fields and add nothing to the name.
		self := reflect.PointerTo(t).Implements(jsonUnmarshaler)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			sub := path
			if self {
				sub = path
			} else if name != "" {
				sub = join(name)
			} else if !f.Anonymous {
				sub = join(f.Name)
			}
			if err := checkStrings(v.Field(i), sub); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if bytes.Contains(v.Bytes(), []byte(`\u0000`)) && (v.Type() == rawJSONType || v.Type().ConvertibleTo(rawJSONType)) {
				return core.FieldError(path, "contains a NUL character (\\u0000), which no field may hold")
			}
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := checkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := fmt.Sprint(it.Key().Interface())
			if err := core.CheckText(join(k), k, core.MaxNameBytes); err != nil {
				return err
			}
			if err := checkStrings(it.Value(), join(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkInput refuses a request whose path or query holds a NUL character, invalid
// UTF-8 or an over-long value, with 400 naming the parameter, before any handler sees
// it: PostgreSQL answered such a parameter with a 500, SQLite did not, and both must
// answer alike. The search parameter is held to core.CheckSearch (length and words).
func checkInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if err := core.CheckText("path", req.URL.Path, 4096); err != nil {
			var ce *core.Error
			errors.As(err, &ce)
			return core.Errorf(core.EINVALID, "the request path %s", ce.Message)
		}
		for name, vals := range req.URL.Query() {
			if err := core.CheckText(name, name, 200); err != nil {
				return core.Errorf(core.EINVALID, "a query parameter name is not valid: %v", err)
			}
			for _, v := range vals {
				check := func(v string) error { return core.CheckText(name, v, maxQueryValue) }
				if name == "search" { // bounded tighter: each of its words costs a scan
					check = core.CheckSearch
				}
				if err := check(v); err != nil {
					return err
				}
			}
		}
		return next(c)
	}
}

// maxQueryValue bounds one query parameter value (search boxes have tighter limits).
const maxQueryValue = 4096

// pathID returns the path parameter name, which must be an Aegis id (a UUID). Anything
// else is "not found" before it reaches the store: PostgreSQL would reject it as a
// malformed uuid with a server error, SQLite would just not find it.
func pathID(c echo.Context, name, what string) (string, error) {
	v := c.Param(name)
	if _, err := uuid.Parse(v); err != nil {
		return "", core.Errorf(core.ENOTFOUND, "%s %q not found", what, v)
	}
	return v, nil
}

// queryBool reads an optional boolean query parameter (true/false/1/0); nil when absent.
func queryBool(c echo.Context, name string) (*bool, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, core.FieldError(name, "must be true or false, not %q", v)
	}
	return &b, nil
}

// queryTime reads an optional RFC 3339 time query parameter; nil when absent.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, core.FieldError(name, "must be an RFC 3339 time such as 2026-01-31T12:00:00Z, not %q", v)
	}
	t = t.UTC()
	return &t, nil
}

// queryID reads an optional id query parameter; "" when absent, 400 when not a UUID.
func queryID(c echo.Context, name string) (string, error) {
	v := c.QueryParam(name)
	if v == "" {
		return "", nil
	}
	if _, err := uuid.Parse(v); err != nil {
		return "", core.FieldError(name, "must be an id (a UUID), not %q", v)
	}
	return v, nil
}
