package coverage

import (
	"context"
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// Dataset is a flat table for BI tools: named columns and one row per record.
type Dataset struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"-"`
}

// DatasetNames are the datasets there are.
var DatasetNames = []string{"coverage", "tests", "trends", "operators"}

// Records returns the rows as objects keyed by column, for JSON.
func (d *Dataset) Records() []map[string]any {
	out := make([]map[string]any, len(d.Rows))
	for i, r := range d.Rows {
		m := make(map[string]any, len(d.Columns))
		for j, c := range d.Columns {
			m[c] = r[j]
		}
		out[i] = m
	}
	return out
}

// WriteCSV writes the dataset as CSV with a header row. Times are RFC 3339 UTC, absent
// values are empty cells, booleans true/false.
func (d *Dataset) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(d.Columns); err != nil {
		return err
	}
	rec := make([]string, len(d.Columns))
	for _, r := range d.Rows {
		for j, v := range r {
			rec[j] = cell(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case *bool:
		if x == nil {
			return ""
		}
		return strconv.FormatBool(*x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case core.CoverageStatus:
		return string(x)
	case core.TestState:
		return string(x)
	case core.Role:
		return string(x)
	}
	return ""
}

// Dataset builds one of DatasetNames.
func (s *Service) Dataset(ctx context.Context, name string) (*Dataset, error) {
	var out *Dataset
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		switch name {
		case "coverage":
			out, err = s.coverageDataset(ctx, tx)
		case "tests":
			out, err = testsDataset(ctx, tx)
		case "trends":
			out, err = trendsDataset(ctx, tx)
		case "operators":
			out, err = operatorsDataset(ctx, tx)
		default:
			err = core.Errorf(core.ENOTFOUND, "no dataset %q (datasets: %s)", name, strings.Join(DatasetNames, ", "))
		}
		return err
	})
	return out, err
}

// coverageDataset is the coverage CSV: one row per live technique of every domain.
func (s *Service) coverageDataset(ctx context.Context, tx core.Tx) (*Dataset, error) {
	m, err := s.build(ctx, tx, "", core.TestScope{})
	if err != nil {
		return nil, err
	}
	tactics, err := tx.ListTactics(ctx, "")
	if err != nil {
		return nil, err
	}
	short := map[string]string{}
	for _, t := range tactics {
		short[t.ID] = t.Shortname
	}
	d := &Dataset{Name: "coverage", Columns: []string{"technique_id", "name", "parent_id", "tactics", "platforms", "status", "score",
		"own_score", "tests", "in_progress", "validated", "rejected", "prevented", "alerted", "logged", "none", "templates", "formula_version"}}
	for _, n := range m.all() {
		parent := ""
		if n.parent != nil {
			parent = n.parent.te.ExternalID
		}
		var ts []string
		for _, id := range n.te.TacticIDs {
			ts = append(ts, short[id])
		}
		sort.Strings(ts)
		c := n.counts
		d.Rows = append(d.Rows, []any{n.te.ExternalID, n.te.Name, parent, strings.Join(ts, ";"), strings.Join(n.te.Platforms, ";"),
			n.status, n.score, n.own.Score, c.Tests, c.InProgress, c.Validated, c.Rejected, c.Prevented, c.Alerted, c.Logged, c.None,
			n.te.Templates, m.version})
	}
	return d, nil
}

func testsDataset(ctx context.Context, tx core.Tx) (*Dataset, error) {
	tests, err := tx.MetricTests(ctx)
	if err != nil {
		return nil, err
	}
	techs, err := tx.CoverageTechniques(ctx, "")
	if err != nil {
		return nil, err
	}
	ext := make(map[string]string, len(techs))
	for _, t := range techs {
		ext[t.ID] = t.ExternalID
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].ID < tests[j].ID })
	d := &Dataset{Name: "tests", Columns: []string{"id", "title", "technique_id", "platform", "state", "created_at", "executed_at",
		"validated_at", "prevented", "alerted", "logged", "not_applicable", "remediation_status", "remediation_completed_at"}}
	for _, t := range tests {
		d.Rows = append(d.Rows, []any{t.ID, t.Title, ext[t.TechniqueID], t.Platform, t.State, t.CreatedAt, t.ExecutedAt, t.ValidatedAt,
			t.Prevented, t.Alerted, t.Logged, t.NotApplicable, t.RemediationStatus, t.RemediationCompletedAt})
	}
	return d, nil
}

func trendsDataset(ctx context.Context, tx core.Tx) (*Dataset, error) {
	d := &Dataset{Name: "trends", Columns: []string{"snapshot_id", "name", "taken_at", "formula_version", "org_score", "technique_count", "tested_count"}}
	for off := 0; ; off += 500 {
		snaps, total, err := tx.ListSnapshots(ctx, core.Page{Limit: 500, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, s := range snaps {
			d.Rows = append(d.Rows, []any{s.ID, s.Name, s.TakenAt, s.FormulaVersion, s.OrgScore, s.TechniqueCount, s.TestedCount})
		}
		if off+500 >= total || len(snaps) == 0 {
			break
		}
	}
	// Oldest first: a trend reads left to right.
	for i, j := 0, len(d.Rows)-1; i < j; i, j = i+1, j-1 {
		d.Rows[i], d.Rows[j] = d.Rows[j], d.Rows[i]
	}
	return d, nil
}

func operatorsDataset(ctx context.Context, tx core.Tx) (*Dataset, error) {
	ops, err := tx.OperatorStats(ctx)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Name: "operators", Columns: []string{"user_id", "username", "role", "tests_executed", "tests_evaluated", "tests_validated", "minutes_logged"}}
	for _, o := range ops {
		d.Rows = append(d.Rows, []any{o.UserID, o.Username, o.Role, o.Executed, o.Evaluated, o.Validated, o.Minutes})
	}
	return d, nil
}
