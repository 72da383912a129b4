package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends t exactly as json.Marshal writes it (the same fields, order,
// omitempty and escaping, the control outcomes compacted;
// TestAppendJSONMatchesEncodingJSON holds it to that), without encoding/json's
// reflection: a test list page is 50 tests of 39 fields, and encoding them was a tenth
// of the server's CPU under the mixed reads of BenchmarkScale. It is not MarshalJSON
// on purpose: encoding/json validates and compacts whatever a MarshalJSON returns,
// which costs more than the reflection it saves, and structs that embed *Test
// (testflow.TestDetail) would lose their own fields.
func (t *Test) AppendJSON(b []byte) ([]byte, error) {
	e := jsonAppender{b: append(b, `{"id":`...)}
	e.b = appendJSONString(e.b, t.ID)
	e.str("title", t.Title)
	e.str("description", t.Description)
	e.str("technique_id", t.TechniqueID)
	e.optStr("template_id", t.TemplateID)
	e.str("state", string(t.State))
	e.int("version", t.Version)
	e.str("platform", t.Platform)
	e.str("procedure", t.Procedure)
	e.str("command", t.Command)
	e.str("target", t.Target)
	e.optTime("executed_at", t.ExecutedAt)
	e.optStr("executed_by", t.ExecutedBy)
	e.str("attack_outcome", t.AttackOutcome)
	e.str("red_notes", t.RedNotes)
	e.nullBool("prevented", t.Prevented)
	e.optTime("prevented_at", t.PreventedAt)
	e.nullBool("alerted", t.Alerted)
	e.optTime("alerted_at", t.AlertedAt)
	e.nullBool("logged", t.Logged)
	e.optTime("logged_at", t.LoggedAt)
	e.key("not_applicable")
	e.b = strconv.AppendBool(e.b, t.NotApplicable)
	e.key("control_outcomes")
	e.rawJSON(t.ControlOutcomes)
	e.str("blue_notes", t.BlueNotes)
	e.int("review_round", t.ReviewRound)
	e.str("rejection_reason", t.RejectionReason)
	e.optTime("validated_at", t.ValidatedAt)
	e.optStr("remediation_owner", t.RemediationOwner)
	e.optTime("remediation_due", t.RemediationDue)
	e.str("remediation_status", t.RemediationStatus)
	e.str("remediation_notes", t.RemediationNotes)
	e.optTime("remediation_completed_at", t.RemediationCompletedAt)
	e.optStr("retest_of", t.RetestOf)
	e.int("retest_depth", t.RetestDepth)
	e.optStr("assigned_red", t.AssignedRed)
	e.optStr("assigned_blue", t.AssignedBlue)
	e.optStr("created_by", t.CreatedBy)
	e.time("created_at", t.CreatedAt)
	e.time("updated_at", t.UpdatedAt)
	if e.err != nil {
		return nil, fmt.Errorf("test %s: %w", t.ID, e.err)
	}
	return append(e.b, '}'), nil
}

// jsonAppender writes the fields of an object after its first; the first error stays
// in err (what follows it is written but not used).
type jsonAppender struct {
	b   []byte
	err error
}

func (e *jsonAppender) key(k string) {
	e.b = append(e.b, ',', '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *jsonAppender) str(k, v string) {
	e.key(k)
	e.b = appendJSONString(e.b, v)
}

func (e *jsonAppender) int(k string, v int) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, int64(v), 10)
}

// optStr writes a *string field tagged omitempty: left out when nil.
func (e *jsonAppender) optStr(k string, v *string) {
	if v != nil {
		e.str(k, *v)
	}
}

// nullBool writes a *bool field without omitempty: null when nil.
func (e *jsonAppender) nullBool(k string, v *bool) {
	e.key(k)
	if v == nil {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = strconv.AppendBool(e.b, *v)
}

// optTime writes a *time.Time field tagged omitempty: left out when nil.
func (e *jsonAppender) optTime(k string, v *time.Time) {
	if v != nil {
		e.time(k, *v)
	}
}

// time writes a time as time.Time.MarshalJSON does (RFC 3339 with nanoseconds,
// refusing what RFC 3339 cannot hold).
func (e *jsonAppender) time(k string, v time.Time) {
	e.key(k)
	e.b = append(e.b, '"')
	b, err := v.AppendText(e.b)
	if err != nil {
		e.err = cmpErr(e.err, fmt.Errorf("%s: %w", k, err))
		return
	}
	e.b = append(b, '"')
}

// rawJSON writes an embedded document as encoding/json writes a json.Marshaler's
// output: compacted, with <, >, &, U+2028 and U+2029 escaped; an empty one is null. A
// document that is not valid JSON is an error, as it is for encoding/json (stored
// ones are checked on write, JSON.Value).
func (e *jsonAppender) rawJSON(doc JSON) {
	if len(doc) == 0 {
		e.b = append(e.b, "null"...)
		return
	}
	plain := true
	for _, c := range doc {
		if c <= ' ' || c == '<' || c == '>' || c == '&' || c == 0xe2 { // 0xe2 leads U+2028 and U+2029
			plain = false
			break
		}
	}
	if plain && json.Valid(doc) {
		e.b = append(e.b, doc...) // already compact, nothing to escape (the common "[]")
		return
	}
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		e.err = cmpErr(e.err, fmt.Errorf("control_outcomes: %w", err))
		return
	}
	json.HTMLEscape(&escaped, compact.Bytes())
	e.b = append(e.b, escaped.Bytes()...)
}

// cmpErr keeps the first of two errors.
func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping (its default, and
// echo's): <, > and & as \u003c, \u003e, \u0026, control characters escaped, invalid
// UTF-8 as U+FFFD, and U+2028 and U+2029 escaped for JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
