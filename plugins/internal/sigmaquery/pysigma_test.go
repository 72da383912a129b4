package sigmaquery

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sigma"
)

func convert(t *testing.T, b *Backend, detection string) (string, error) {
	t.Helper()
	src := "title: Test\nstatus: test\nlogsource:\n    category: test_category\n    product: test_product\n" + detection
	r, err := sigma.ParseRule("test.yml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	return b.Convert(r, Options{})
}

// The cases below are pySigma's own backend tests (pySigma-backend-splunk,
// pySigma-backend-elasticsearch's Lucene backend, pySigma-backend-kusto without a
// pipeline): the same rule must give the same text.
var pySigmaCases = []struct {
	name, detection       string
	splunk, lucene, kusto string
}{
	{"and", `detection:
    sel:
        fieldA: valueA
        fieldB: valueB
    condition: sel
`, `fieldA="valueA" fieldB="valueB"`, `fieldA:valueA AND fieldB:valueB`, `fieldA =~ "valueA" and fieldB =~ "valueB"`},
	{"or", `detection:
    sel1:
        fieldA: valueA
    sel2:
        fieldB: valueB
    condition: 1 of sel*
`, `fieldA="valueA" OR fieldB="valueB"`, `fieldA:valueA OR fieldB:valueB`, `fieldA =~ "valueA" or fieldB =~ "valueB"`},
	{"and_or", `detection:
    sel:
        fieldA:
            - valueA1
            - valueA2
        fieldB:
            - valueB1
            - valueB2
    condition: sel
`, `fieldA IN ("valueA1", "valueA2") fieldB IN ("valueB1", "valueB2")`,
		`(fieldA:(valueA1 OR valueA2)) AND (fieldB:(valueB1 OR valueB2))`,
		`(fieldA in~ ("valueA1", "valueA2")) and (fieldB in~ ("valueB1", "valueB2"))`},
	{"or_and", `detection:
    sel1:
        fieldA: valueA1
        fieldB: valueB1
    sel2:
        fieldA: valueA2
        fieldB: valueB2
    condition: 1 of sel*
`, `(fieldA="valueA1" fieldB="valueB1") OR (fieldA="valueA2" fieldB="valueB2")`,
		`(fieldA:valueA1 AND fieldB:valueB1) OR (fieldA:valueA2 AND fieldB:valueB2)`,
		`(fieldA =~ "valueA1" and fieldB =~ "valueB1") or (fieldA =~ "valueA2" and fieldB =~ "valueB2")`},
	{"in", `detection:
    sel:
        fieldA:
            - valueA
            - valueB
            - valueC*
    condition: sel
`, `fieldA IN ("valueA", "valueB", "valueC*")`, `fieldA:(valueA OR valueB OR valueC*)`,
		`fieldA in~ ("valueA", "valueB") or fieldA startswith "valueC"`},
	{"field_with_space", `detection:
    sel:
        field name: valueA
    condition: sel
`, `"field name"="valueA"`, `field\ name:valueA`, `['field name'] =~ "valueA"`},
	{"regex", `detection:
    sel:
        fieldA|re: foo.*bar
        fieldB: foo
        fieldC: bar
    condition: sel
`, "fieldB=\"foo\" fieldC=\"bar\"\n| regex fieldA=\"foo.*bar\"", `fieldA:/foo.*bar/ AND fieldB:foo AND fieldC:bar`,
		`fieldA matches regex "foo.*bar" and fieldB =~ "foo" and fieldC =~ "bar"`},
	{"single_regex", `detection:
    sel:
        fieldA|re: foo.*bar
    condition: sel
`, "*\n| regex fieldA=\"foo.*bar\"", `fieldA:/foo.*bar/`, `fieldA matches regex "foo.*bar"`},
	{"cidr", `detection:
    sel:
        fieldA|cidr: 192.168.0.0/16
        fieldB: foo
        fieldC: bar
    condition: sel
`, `fieldA="192.168.0.0/16" fieldB="foo" fieldC="bar"`, `fieldA:192.168.0.0\/16 AND fieldB:foo AND fieldC:bar`,
		`ipv4_is_in_range(fieldA, "192.168.0.0/16") and fieldB =~ "foo" and fieldC =~ "bar"`},
	{"cidr_or", `detection:
    sel:
        fieldA|cidr:
            - 192.168.0.0/16
            - 10.0.0.0/8
        fieldB: foo
        fieldC: bar
    condition: sel
`, `fieldA="192.168.0.0/16" OR fieldA="10.0.0.0/8" fieldB="foo" fieldC="bar"`,
		`(fieldA:192.168.0.0\/16 OR fieldA:10.0.0.0\/8) AND fieldB:foo AND fieldC:bar`,
		`(ipv4_is_in_range(fieldA, "192.168.0.0/16") or ipv4_is_in_range(fieldA, "10.0.0.0/8")) and fieldB =~ "foo" and fieldC =~ "bar"`},
	{"fields", `fields:
    - fieldA
detection:
    sel:
        fieldA: valueA
    condition: sel
`, `fieldA="valueA" | table fieldA`, `fieldA:valueA`, `fieldA =~ "valueA"`},
	{"empty_string", `detection:
    sel:
        fieldA: valueA
        fieldB: ''
    condition: sel
`, `fieldA="valueA" fieldB=""`, `fieldA:valueA AND fieldB:""`, `fieldA =~ "valueA" and fieldB =~ ""`},
	{"not_null_and", `detection:
    selection:
        FieldA|endswith: 'valueA'
    filter_1:
        FieldB: null
    filter_2:
        FieldB: ''
    condition: selection and not filter_1 and not filter_2
`, `FieldA="*valueA" FieldB=* NOT FieldB=""`, `FieldA:*valueA AND _exists_:FieldB AND (NOT FieldB:"")`,
		`FieldA endswith "valueA" and isnotnull(FieldB) and (not(FieldB =~ ""))`},
	{"null_and", `detection:
    selection:
        FieldA|endswith: 'valueA'
    filter_1:
        FieldB: null
    filter_2:
        FieldB: ''
    condition: selection and filter_1 and not filter_2
`, `FieldA="*valueA" NOT FieldB=* NOT FieldB=""`, `FieldA:*valueA AND (NOT _exists_:FieldB) AND (NOT FieldB:"")`,
		`FieldA endswith "valueA" and isnull(FieldB) and (not(FieldB =~ ""))`},
	{"null_or", `detection:
    selection:
        FieldA|endswith: 'valueA'
    filter_1:
        FieldB: null
    filter_2:
        FieldB: ''
    condition: selection and (filter_1 or not filter_2)
`, `FieldA="*valueA" NOT FieldB=* OR NOT FieldB=""`, `FieldA:*valueA AND ((NOT _exists_:FieldB) OR (NOT FieldB:""))`,
		`FieldA endswith "valueA" and (isnull(FieldB) or (not(FieldB =~ "")))`},
	{"not_one_of", `detection:
    selection:
        FieldA|endswith: 'valueA'
    filter_1:
        FieldB: null
    filter_2:
        FieldB: ''
    condition: selection and not 1 of filter_*
`, `FieldA="*valueA" NOT (NOT FieldB=* OR FieldB="")`, `FieldA:*valueA AND (NOT ((NOT _exists_:FieldB) OR FieldB:""))`,
		`FieldA endswith "valueA" and (not((isnull(FieldB) or FieldB =~ "")))`},
	{"not_null", `detection:
    filter:
        Field: null
    condition: not filter
`, `Field=*`, `_exists_:Field`, `isnotnull(Field)`},
	{"angle_brackets", `detection:
    selection_cmd:
        - OriginalFileName: 'Cmd.exe'
        - Image|endswith: '\cmd.exe'
    selection_cli:
        - CommandLine|contains: '<'
        - CommandLine|contains: '>'
    condition: all of selection_*
`, `OriginalFileName="Cmd.exe" OR Image="*\\cmd.exe" CommandLine IN ("*<*", "*>*")`,
		`(OriginalFileName:Cmd.exe OR Image:*\\cmd.exe) AND (CommandLine:(*\<* OR *\>*))`,
		`(OriginalFileName =~ "Cmd.exe" or Image endswith "\\cmd.exe") and (CommandLine contains "<" or CommandLine contains ">")`},
	{"number", `detection:
    sel:
        EventID: 1
    condition: sel
`, `EventID=1`, `EventID:1`, `EventID == 1`},
	{"schtasks_contains_all", `detection:
    selection:
        Image|endswith: '\schtasks.exe'
        CommandLine|contains|all:
            - ' /delete '
            - '/tn \*'
            - ' /f'
    condition: selection
`, `Image="*\\schtasks.exe" CommandLine="* /delete *" CommandLine="*/tn \**" CommandLine="* /f*"`,
		`Image:*\\schtasks.exe AND (CommandLine:*\ \/delete\ * AND CommandLine:*\/tn\ \** AND CommandLine:*\ \/f*)`,
		`Image endswith "\\schtasks.exe" and (CommandLine contains " /delete " and CommandLine contains "/tn *" and CommandLine contains " /f")`},
	{"kusto_negation", `detection:
    selection:
        Image:
            - '*\process.exe'
        CommandLine:
            - 'this'
    filter:
        CommandLine:
            - 'notthis'
    condition: selection and not filter
`, `Image="*\\process.exe" CommandLine="this" NOT CommandLine="notthis"`,
		`(Image:*\\process.exe AND CommandLine:this) AND (NOT CommandLine:notthis)`,
		`(Image endswith "\\process.exe" and CommandLine =~ "this") and (not(CommandLine =~ "notthis"))`},
	{"fieldref", `detection:
    sel:
        fieldA|fieldref: fieldD
        fieldB: foo
        fieldC: bar
    condition: sel
`, "fieldB=\"foo\" fieldC=\"bar\"\n| where lower('fieldA')=lower('fieldD')", "", `fieldA =~ fieldD and fieldB =~ "foo" and fieldC =~ "bar"`},
}

func TestMatchesPySigma(t *testing.T) {
	for _, c := range pySigmaCases {
		for _, b := range []struct {
			be   *Backend
			want string
		}{{Splunk, c.splunk}, {Lucene, c.lucene}, {KQL, c.kusto}} {
			got, err := convert(t, b.be, c.detection)
			if b.want == "" {
				var u *Unsupported
				if !errors.As(err, &u) {
					t.Errorf("%s/%s: got %q, %v; want unsupported", c.name, b.be.Name, got, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s/%s: %v", c.name, b.be.Name, err)
				continue
			}
			if got != b.want {
				t.Errorf("%s/%s:\n got %s\nwant %s", c.name, b.be.Name, got, b.want)
			}
		}
	}
}

func TestUnsupportedSaysWhy(t *testing.T) {
	cases := []struct {
		backend   *Backend
		detection string
		reason    string
	}{
		{Splunk, "detection:\n    sel:\n        fieldA|re:\n            - a.*\n            - b.*\n    condition: sel\n", "cannot be OR-ed"},
		{Splunk, "detection:\n    sel:\n        fieldA|fieldref:\n            - fieldD\n            - fieldE\n    condition: sel\n", "cannot be OR-ed"},
		{Lucene, "detection:\n    sel:\n        fieldA|cased: Foo\n    condition: sel\n", "case-sensitive"},
		{Lucene, "detection:\n    sel:\n        fieldA|re|i: foo\n    condition: sel\n", "case-insensitive"},
		{KQL, "detection:\n    keywords:\n        - 'a*b'\n    condition: keywords\n", "wildcard inside"},
	}
	for _, c := range cases {
		got, err := convert(t, c.backend, c.detection)
		var u *Unsupported
		if !errors.As(err, &u) || !strings.Contains(u.Reason, c.reason) {
			t.Errorf("%s: got %q, %v; want unsupported saying %q", c.backend.Name, got, err, c.reason)
		}
	}
}

func TestCheckSyntaxCatchesBrokenQueries(t *testing.T) {
	bad := map[*Backend][]string{
		Splunk: {`a="x" OR`, `(a="x"`, `a="x`, "a=1\n| eval x=1", `NOT`},
		Lucene: {`a:x AND`, `a:(x OR y`, `a:x{y}`, `a:/x`, `OR a:x`, `a:"x`},
		KQL:    {`a =~ "x" and`, `(a =~ "x"`, `a =~ "x`, `a =~ "x" or or b =~ "y"`},
	}
	for b, qs := range bad {
		for _, q := range qs {
			if err := b.CheckSyntax(q); err == nil {
				t.Errorf("%s accepted %q", b.Name, q)
			}
		}
	}
	for b, q := range map[*Backend]string{Splunk: `a="x" NOT (b="y" OR c=1)`, Lucene: `c-uri:x AND (NOT a:\(y\))`, KQL: `not((a =~ "x" or b == 1))`} {
		if err := b.CheckSyntax(q); err != nil {
			t.Errorf("%s refused %q: %v", b.Name, q, err)
		}
	}
}
