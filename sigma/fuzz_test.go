package sigma

import (
	"testing"
)

// FuzzParseFile feeds arbitrary bytes to the parser: rule files come from outside, so
// the parser must answer every input with rules or an error, never a panic or a hang.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(ruleText))
	f.Add([]byte("title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    a|windash|contains: ' -x -y '\n  condition: not (sel or 1 of s*)\n"))
	f.Add([]byte("title: t\ncorrelation: {type: event_count, rules: [a], timespan: 1h, condition: {gt: 3}}\n"))
	f.Add([]byte("action: global\ntitle: a\n---\nlogsource: {}\ndetection: {s: [a, b], condition: s}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseFile("fuzz.yml", data)
		for _, r := range rules {
			if r == nil {
				t.Fatal("nil rule")
			}
			if r.Kind == KindDetection && r.Detection == nil {
				t.Fatal("detection rule without detection")
			}
			if r.Detection != nil {
				for _, c := range r.Detection.Conditions {
					_ = c.Expr.String()
				}
				for _, s := range r.Detection.Searches {
					for _, g := range s.Groups {
						for _, it := range g.Items {
							if _, err := it.MatchValues(nil); err != nil {
								var pe *PlaceholderError
								_ = pe
							}
						}
					}
				}
			}
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
