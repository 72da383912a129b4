package core

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAppendJSONMatchesEncodingJSON compares AppendJSON with encoding/json on random
// tests: every optional field present or absent, strings with quotes, control
// characters, HTML, invalid UTF-8 and line separators, times in several zones with
// and without nanoseconds, JSON documents with spaces.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", "a", "plain text", `"quoted"`, `back\slash`, "<script>&amp;</script>", "line\nbreak\ttab\r",
		"\x00\x01\x1f\x7f", "\b\f", "ünïcödé ✓ 日本", "\xff\xfe bad utf8 \xc3", "sep\u2028par\u2029", "emoji 🛡️"}
	str := func() string {
		var sb strings.Builder
		for n := rng.IntN(4); n > 0; n-- {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	optStr := func() *string {
		if rng.IntN(2) == 0 {
			return nil
		}
		s := str()
		return &s
	}
	zones := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+30*60), time.FixedZone("y", -7*3600), time.Local}
	tm := func() time.Time {
		v := time.Unix(rng.Int64N(4e9), 0).In(zones[rng.IntN(len(zones))])
		if rng.IntN(2) == 0 {
			v = v.Add(time.Duration(rng.IntN(1e9)))
		}
		return v
	}
	optTime := func() *time.Time {
		if rng.IntN(2) == 0 {
			return nil
		}
		v := tm()
		return &v
	}
	optBool := func() *bool {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			v := true
			return &v
		}
		v := false
		return &v
	}
	docs := []JSON{nil, JSON("[]"), JSON(`[ {"control": "edr", "outcome" : "alerted"} ]`), JSON(`{"a":"<b>"}`),
		JSON("[\n\t\"a\u2028b\"]"), JSON(`[{"x":1}]`)}
	for i := 0; i < 2000; i++ {
		te := &Test{ID: str(), Title: str(), Description: str(), TechniqueID: str(), TemplateID: optStr(),
			State: TestState(str()), Version: rng.IntN(1000) - 10, Platform: str(), Procedure: str(), Command: str(),
			Target: str(), ExecutedAt: optTime(), ExecutedBy: optStr(), AttackOutcome: str(), RedNotes: str(),
			Prevented: optBool(), PreventedAt: optTime(), Alerted: optBool(), AlertedAt: optTime(), Logged: optBool(),
			LoggedAt: optTime(), NotApplicable: rng.IntN(2) == 0, ControlOutcomes: docs[rng.IntN(len(docs))],
			BlueNotes: str(), ReviewRound: rng.IntN(5), RejectionReason: str(), ValidatedAt: optTime(),
			RemediationOwner: optStr(), RemediationDue: optTime(), RemediationStatus: str(), RemediationNotes: str(),
			RemediationCompletedAt: optTime(), RetestOf: optStr(), RetestDepth: rng.IntN(4), AssignedRed: optStr(),
			AssignedBlue: optStr(), CreatedBy: optStr(), CreatedAt: tm(), UpdatedAt: tm()}
		want, err := json.Marshal(te)
		if err != nil {
			t.Fatal(err)
		}
		got, err := te.AppendJSON([]byte("prefix "))
		if err != nil {
			t.Fatalf("test %d: %v", i, err)
		}
		if !bytes.Equal(got, append([]byte("prefix "), want...)) {
			t.Fatalf("test %d:\nAppendJSON    %s\nencoding/json %s", i, got, want)
		}
	}
	// A control outcomes document that is not JSON is an error, as for encoding/json,
	// never written as it is or silently replaced.
	broken := &Test{ControlOutcomes: JSON(`[{"x":`)}
	if _, err := broken.AppendJSON(nil); err == nil {
		t.Fatal("an invalid control outcomes document was written")
	}
	if _, err := json.Marshal(broken); err == nil {
		t.Fatal("encoding/json accepted the invalid document (the comparison above assumes it refuses)")
	}
	// A time RFC 3339 cannot hold is refused, as time.Time.MarshalJSON refuses it.
	bad := &Test{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := bad.AppendJSON(nil); err == nil {
		t.Fatal("a year past 9999 was written")
	}
}

// A field added to Test must be written by AppendJSON too: the random tests above set
// the fields they know of, so this one sets every field of Test, whatever it is, to a
// value that is not its zero (an omitempty field left out by AppendJSON would otherwise
// vanish from the test list unnoticed).
func TestAppendJSONWritesEveryField(t *testing.T) {
	te := &Test{}
	v := reflect.ValueOf(te).Elem()
	at := time.Date(2026, 12, 6, 5, 4, 3, 2, time.UTC)
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), v.Type().Field(i).Name
		if !f.CanSet() {
			continue
		}
		switch f.Interface().(type) {
		case string, TestState:
			f.SetString(name + " value")
		case int:
			f.SetInt(int64(i + 1))
		case bool:
			f.SetBool(true)
		case *string:
			s := name + " value"
			f.Set(reflect.ValueOf(&s))
		case *bool:
			b := false
			f.Set(reflect.ValueOf(&b))
		case time.Time:
			f.Set(reflect.ValueOf(at))
		case *time.Time:
			f.Set(reflect.ValueOf(&at))
		case JSON:
			f.Set(reflect.ValueOf(JSON(`{"set":true}`)))
		default:
			t.Fatalf("Test.%s is a %s, which this test cannot set yet: teach it (and AppendJSON)", name, f.Type())
		}
	}
	want, err := json.Marshal(te)
	if err != nil {
		t.Fatal(err)
	}
	got, err := te.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("every field set:\nAppendJSON    %s\nencoding/json %s", got, want)
	}
}
