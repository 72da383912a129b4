package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aegis-sec/aegis/core"
)

// Rows per multi-row INSERT: a test has 39 columns, and SQLite allows 32,766 bound
// parameters per statement (PostgreSQL 65,535).
const (
	bulkTestRows = 500
	bulkVoteRows = 2000
)

// InsertTests stores tests as given (ids, versions and times kept; zero values get
// CreateTest's defaults) in multi-row statements, then refreshes the coverage status of
// their techniques once.
func (t *Tx) InsertTests(ctx context.Context, tests []*core.Test) error {
	var techs []string
	seen := map[string]bool{}
	for _, te := range tests {
		if te.State == "" {
			te.State = core.StateDraft
		}
		if te.RemediationStatus == "" {
			te.RemediationStatus = core.RemediationNone
		}
		if err := te.Validate(); err != nil {
			return fmt.Errorf("store: insert test %q: %w", te.Title, err)
		}
		if te.ID == "" {
			te.ID = core.NewID()
		}
		if len(te.ControlOutcomes) == 0 {
			te.ControlOutcomes = core.JSON("[]")
		}
		if te.CreatedAt.IsZero() {
			te.CreatedAt = core.Now()
		}
		if te.UpdatedAt.IsZero() {
			te.UpdatedAt = te.CreatedAt
		}
		if te.Version == 0 {
			te.Version = 1
		}
		if !seen[te.TechniqueID] {
			seen[te.TechniqueID] = true
			techs = append(techs, te.TechniqueID)
		}
	}
	for i := 0; i < len(tests); i += bulkTestRows {
		batch := tests[i:min(i+bulkTestRows, len(tests))]
		if _, err := t.tx.NamedExecContext(ctx, testInsert, batch); err != nil {
			return fmt.Errorf("store: insert tests %d-%d: %w", i, i+len(batch)-1, err)
		}
	}
	return t.refreshCoverage(ctx, techs...)
}

// InsertVotes stores votes as given, in multi-row statements.
func (t *Tx) InsertVotes(ctx context.Context, votes []*core.Vote) error {
	for _, v := range votes {
		if v.ID == "" {
			v.ID = core.NewID()
		}
		if v.CreatedAt.IsZero() {
			v.CreatedAt = core.Now()
		}
	}
	q := `INSERT INTO test_votes (` + voteColumns + `) VALUES (:` + strings.ReplaceAll(voteColumns, ", ", ", :") + `)`
	for i := 0; i < len(votes); i += bulkVoteRows {
		batch := votes[i:min(i+bulkVoteRows, len(votes))]
		if _, err := t.tx.NamedExecContext(ctx, q, batch); err != nil {
			if isUniqueViolation(err) {
				return core.Errorf(core.ECONFLICT, "a lead voted twice in one review round among votes %d-%d", i, i+len(batch)-1)
			}
			return fmt.Errorf("store: insert votes %d-%d: %w", i, i+len(batch)-1, err)
		}
	}
	return nil
}
