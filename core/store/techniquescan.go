package store

import (
	"context"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// Techniques of a list page are read column by column, as tests are (testscan.go):
// under BenchmarkScale's mixed reads the technique list (one request in ten) spent
// most of its time in sqlx's reflection and in the driver's time layouts, ~9% of the
// server's CPU. TestTechniqueScanMatchesReflection holds the result to sqlx's.

// techniqueSelect is the select list of selectTechniques: techniqueColumns, without the
// description and detection text when lean, and on SQLite with the time columns read
// as their stored text (see testSelect).
func (t *Tx) techniqueSelect(lean bool) string {
	cols := make([]string, len(techniqueColumnList))
	for i, f := range techniqueColumnList {
		cols[i] = f
		switch {
		case lean && (f == "description" || f == "detection"):
			cols[i] = `'' AS ` + f
		case t.dialect == SQLite && techniqueTimeField[f]:
			cols[i] = `CAST(` + f + ` AS TEXT)`
		}
	}
	return strings.Join(cols, ", ")
}

var techniqueTimeField = map[string]bool{"modified_at": true, "created_at": true, "updated_at": true}

// selectTechniques runs a query of techniqueSelect and reads its rows.
func (t *Tx) selectTechniques(ctx context.Context, q string, args ...any) ([]*core.Technique, error) {
	return selectRows(ctx, t, len(techniqueColumnList), techniqueOfRow, q, args...)
}

// techniqueOfRow converts one row of techniqueColumns, in techniqueColumnList's order.
func techniqueOfRow(v []any) (*core.Technique, error) {
	var te core.Technique
	c := colReader{vals: v, table: "techniques", names: techniqueColumnList}
	te.ID = c.str(0)
	te.ExternalID = c.str(1)
	te.STIXID = c.str(2)
	te.Name = c.str(3)
	te.Description = c.str(4)
	te.ParentID = c.strPtr(5)
	te.IsSubtechnique = c.bool(6)
	te.Platforms = c.strings(7)
	te.Domains = c.strings(8)
	te.DataSources = c.strings(9)
	te.Detection = c.str(10)
	te.URL = c.str(11)
	te.ObjectVersion = c.str(12)
	te.ModifiedAt = c.timePtr(13)
	te.Revoked = c.bool(14)
	te.RevokedBy = c.str(15)
	te.Deprecated = c.bool(16)
	te.Known = c.bool(17)
	te.LastSeenRelease = c.str(18)
	te.CoverageStatus = core.CoverageStatus(c.str(19))
	te.Source = c.str(20)
	te.SourceRef = c.str(21)
	te.ContentHash = c.str(22)
	te.CreatedAt = c.time(23)
	te.UpdatedAt = c.time(24)
	if c.err != nil {
		return nil, c.err
	}
	return &te, nil
}
