package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/plugins/internal/artifactname"
	"github.com/aegis-sec/aegis/sdk"
)

// CSV writes one row per technique of a coverage scope.
type CSV struct{}

// Describe implements sdk.Describer.
func (CSV) Describe() sdk.Component {
	return sdk.Component{Description: "Coverage as CSV: a row per technique with status, score, tests, outcomes and last validation",
		RecordKinds: []string{sdk.KindTechniqueCoverage}, MediaTypes: []string{"text/csv"}}
}

// csvHeader names the columns; the change columns are filled for a diff only.
var csvHeader = []string{"technique_id", "name", "parent", "tactics", "platforms", "status", "score", "tests", "in_progress",
	"validated", "rejected", "prevented", "alerted", "logged", "none", "templates", "last_validated", "actor_weight",
	"change", "before_status", "before_score", "url"}

// Export implements sdk.Exporter.
func (CSV) Export(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) error {
	sc, techs, err := readCoverage(ctx, req, records, out)
	if err != nil {
		return err
	}
	w, err := out.Begin(artifactname.ForScope("coverage", sc)+".csv", "text/csv")
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, t := range techs {
		c := t.Counts
		row := []string{t.TechniqueID, cell(t.Name), t.Parent, strings.Join(t.Tactics, ";"), cell(strings.Join(t.Platforms, ";")),
			t.Status, num(t.Score), strconv.Itoa(c.Tests), strconv.Itoa(c.InProgress), strconv.Itoa(c.Validated), strconv.Itoa(c.Rejected),
			strconv.Itoa(c.Prevented), strconv.Itoa(c.Alerted), strconv.Itoa(c.Logged), strconv.Itoa(c.None), strconv.Itoa(t.Templates),
			"", "", "", "", "", t.URL}
		if t.LastValidated != nil {
			row[16] = t.LastValidated.UTC().Format(time.RFC3339)
		}
		if t.Weight > 0 {
			row[17] = strconv.FormatFloat(t.Weight, 'f', -1, 64)
		}
		if ch := t.Change; ch != nil {
			row[18], row[19], row[20] = ch.Direction, ch.BeforeStatus, num(ch.BeforeScore)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// num writes a score with full precision, or nothing for an unscored technique.
func num(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

// cell keeps a spreadsheet from reading text as a formula (CSV injection).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// readCoverage reads a coverage scope's records; any other scope is refused.
func readCoverage(ctx context.Context, req sdk.ExportRequest, records sdk.RecordIterator, out sdk.ArtifactWriter) (*sdk.Scope, []*sdk.TechniqueCoverage, error) {
	sc, err := sdk.ParseScope(req.Scope)
	if err != nil {
		return nil, nil, err
	}
	if sc.Kind == "rules" {
		return nil, nil, fmt.Errorf("a coverage report needs a coverage scope (organisation, tactic, actor, campaign, snapshot, diff), not rules")
	}
	var techs []*sdk.TechniqueCoverage
	for rec, err := range sdk.Records(records) {
		if err != nil {
			return nil, nil, err
		}
		if t, ok := rec.(*sdk.TechniqueCoverage); ok {
			techs = append(techs, t)
		} else {
			out.Warn(rec.ID(), rec.Kind()+" records have no place in a coverage report", "")
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
	return sc, techs, nil
}
