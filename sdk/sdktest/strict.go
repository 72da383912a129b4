package sdktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aegis-sec/aegis/sdk"
)

// RunImportStrict is RunImport that also fails the test on what a host
// would hold against the plugin, or what makes re-imports churn:
//   - a record the host would reject (ImportResult.Invalid),
//   - two records with the same kind and id (the host keeps the first and
//     drops the rest with a warning),
//   - a second run over the same request that differs from the first in its
//     records or diagnostics (order aside): the host hashes each record's
//     JSON, so a record that changes from run to run is "updated" on every
//     import and never settles.
//
// It returns the first run's result; the test goes on to check its content.
func RunImportStrict(t testing.TB, imp sdk.Importer, req sdk.ImportRequest) *ImportResult {
	t.Helper()
	first := RunImport(t, imp, req)
	checkHostRules(t, first)
	second := RunImport(t, imp, req)
	if d := diffRuns(first, second); d != "" {
		t.Errorf("sdktest: two imports of the same source differ (the importer is not deterministic):\n%s", d)
	}
	return first
}

// Runner runs one importer type strictly (RunImportStrict) with the common
// test shape: a source and an optional config as JSON text. A plugin's tests
// can bind it once:
//
//	var run = (&sdktest.Runner{Importer: &importer{}, Type: "csv"}).Run
//	res := run(t, "testdata/ok", `{"delimiter":";"}`)
type Runner struct {
	Importer sdk.Importer
	Type     string
}

// Run imports source with config ("" for none) under RunID "t".
func (r *Runner) Run(t testing.TB, source, config string) *ImportResult {
	t.Helper()
	return RunImportStrict(t, r.Importer, r.request(source, config))
}

func (r *Runner) request(source, config string) sdk.ImportRequest {
	req := sdk.ImportRequest{Type: r.Type, Source: source, RunID: "t"}
	if config != "" {
		req.Config = json.RawMessage(config)
	}
	return req
}

// RunOnce is Run with a single import: the host's checks without the
// determinism one, for tests that count what the importer fetches.
func (r *Runner) RunOnce(t testing.TB, source, config string) *ImportResult {
	t.Helper()
	res := RunImport(t, r.Importer, r.request(source, config))
	checkHostRules(t, res)
	return res
}

func checkHostRules(t testing.TB, res *ImportResult) {
	t.Helper()
	if len(res.Invalid) > 0 {
		t.Fatalf("sdktest: the plugin sent %d record(s) the host would reject; first: %v", len(res.Invalid), res.Invalid[0])
	}
	seen := map[RecordKey]int{}
	for i, in := range res.Incoming {
		k := RecordKey{Kind: in.Kind, ID: in.ExternalID}
		if first, dup := seen[k]; dup {
			t.Errorf("sdktest: %s %q sent twice (records %d and %d%s); the host keeps the first and drops the other",
				k.Kind, k.ID, first+1, i+1, at(in.File, in.Line))
			continue
		}
		seen[k] = i
	}
}

func at(file string, line int) string {
	if file == "" {
		return ""
	}
	if line > 0 {
		return fmt.Sprintf(", the second at %s:%d", file, line)
	}
	return ", the second in " + file
}

// diffRuns compares two runs' records (kind, id, JSON) and diagnostics,
// ignoring order, and describes the first few differences.
func diffRuns(a, b *ImportResult) string {
	var out []string
	ra, rb := recordsByKey(a), recordsByKey(b)
	for _, k := range sortedRecordKeys(ra, rb) {
		x, inA := ra[k]
		y, inB := rb[k]
		switch {
		case !inA:
			out = append(out, fmt.Sprintf("%s %q only in the second run", k.Kind, k.ID))
		case !inB:
			out = append(out, fmt.Sprintf("%s %q only in the first run", k.Kind, k.ID))
		case !bytes.Equal(x, y):
			out = append(out, fmt.Sprintf("%s %q differs:\n  first:  %s\n  second: %s", k.Kind, k.ID, x, y))
		}
	}
	da, db := diagLines(a), diagLines(b)
	if !slices.Equal(da, db) {
		out = append(out, fmt.Sprintf("diagnostics differ:\n  first:  %s\n  second: %s", strings.Join(da, " | "), strings.Join(db, " | ")))
	}
	if (a.Err == nil) != (b.Err == nil) {
		out = append(out, fmt.Sprintf("outcome differs: %v, then %v", a.Err, b.Err))
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("and %d more", len(out)-10))
	}
	return strings.Join(out, "\n")
}

func recordsByKey(r *ImportResult) map[RecordKey][]byte {
	m := make(map[RecordKey][]byte, len(r.Incoming))
	for _, in := range r.Incoming {
		k := RecordKey{Kind: in.Kind, ID: in.ExternalID}
		if _, dup := m[k]; !dup { // the host keeps the first
			m[k] = in.JSON
		}
	}
	return m
}

func diagLines(r *ImportResult) []string {
	out := make([]string, 0, len(r.Diagnostics))
	for _, d := range r.Diagnostics {
		out = append(out, d.String())
	}
	slices.Sort(out)
	return out
}

// RecordKey identifies a record to the host within one plugin's catalog.
type RecordKey struct {
	Kind string
	ID   string
}

func sortedRecordKeys(ms ...map[RecordKey][]byte) []RecordKey {
	var keys []RecordKey
	seen := map[RecordKey]bool{}
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(a, b RecordKey) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys
}

// Changes is what the host would do with a re-import, record by record.
type Changes struct {
	Added, Updated, Unchanged []RecordKey
	// Deprecated were in the earlier import and are missing from the later
	// one: the host marks them deprecated (never deletes them), so tests
	// that point at them keep their history.
	Deprecated []RecordKey
}

// String summarises the changes the way an import run reports them.
func (c Changes) String() string {
	return fmt.Sprintf("%d added, %d updated, %d unchanged, %d deprecated", len(c.Added), len(c.Updated), len(c.Unchanged), len(c.Deprecated))
}

// Reimport replays a re-import as the host applies it: after is applied on
// top of before (two imports of the same importer and source location). A
// record is identified by kind and id, and counts as updated when its JSON
// changed. Use it to check that an upstream change deprecates exactly what
// it should:
//
//	old := sdktest.RunImportStrict(t, imp, sdk.ImportRequest{Source: "testdata/v1"})
//	new := sdktest.RunImportStrict(t, imp, sdk.ImportRequest{Source: "testdata/v2"})
//	ch := sdktest.Reimport(old, new)
//	// ch.Deprecated == []sdktest.RecordKey{{Kind: "test_template", ID: "A-2"}}
//
// A failed import (after.Err set) changes nothing: the host discards the
// whole run, so every earlier record is unchanged.
func Reimport(before, after *ImportResult) Changes {
	var c Changes
	rb, ra := recordsByKey(before), recordsByKey(after)
	if after.Err != nil {
		ra = rb
	}
	for _, k := range sortedRecordKeys(rb, ra) {
		old, wasThere := rb[k]
		cur, isThere := ra[k]
		switch {
		case !wasThere:
			c.Added = append(c.Added, k)
		case !isThere:
			c.Deprecated = append(c.Deprecated, k)
		case bytes.Equal(old, cur):
			c.Unchanged = append(c.Unchanged, k)
		default:
			c.Updated = append(c.Updated, k)
		}
	}
	return c
}
