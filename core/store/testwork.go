package store

import (
	"context"
	"fmt"

	"github.com/aegis-sec/aegis/core"
)

const voteColumns = `id, test_id, review_round, lead_role, user_id, decision, reason, created_at`

// AddVote inserts a vote. The unique key (test_id, review_round, lead_role) decides a
// race between two votes for the same role: on PostgreSQL the second insert waits for
// the first transaction and fails once it commits, on SQLite writers are serialised.
func (t *Tx) AddVote(ctx context.Context, v *core.Vote) error {
	if v.ID == "" {
		v.ID = core.NewID()
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = core.Now()
	}
	_, err := t.exec(ctx, `INSERT INTO test_votes (`+voteColumns+`) VALUES (?,?,?,?,?,?,?,?)`,
		v.ID, v.TestID, v.ReviewRound, v.LeadRole, v.UserID, v.Decision, v.Reason, v.CreatedAt)
	if isUniqueViolation(err) {
		return core.Errorf(core.ECONFLICT, "the %s has already voted in review round %d of test %s", v.LeadRole, v.ReviewRound, v.TestID)
	}
	if err != nil {
		return fmt.Errorf("store: add vote on test %s: %w", v.TestID, err)
	}
	return nil
}

// VotesOf lists the votes of one round of a test (all rounds when round is 0).
func (t *Tx) VotesOf(ctx context.Context, testID string, round int) ([]*core.Vote, error) {
	w := where{}
	w.add("test_id = ?", testID)
	if round > 0 {
		w.add("review_round = ?", round)
	}
	out := []*core.Vote{}
	if err := t.sel(ctx, &out, `SELECT `+voteColumns+` FROM test_votes`+w.sql()+` ORDER BY review_round, created_at, id`, w.args...); err != nil {
		return nil, fmt.Errorf("store: votes of test %s: %w", testID, err)
	}
	return out, nil
}

const detectionColumns = `id, test_id, detection_rule_id, triggered, method, evidence_id, matched_events, matched_event_ids, matched_searches, notes, recorded_by, recorded_at`

// PutDetectionResult inserts or replaces the result of one rule on one test; r.ID is
// set to the stored row's id.
func (t *Tx) PutDetectionResult(ctx context.Context, r *core.DetectionResult) error {
	if r.ID == "" {
		r.ID = core.NewID()
	}
	if r.RecordedAt.IsZero() {
		r.RecordedAt = core.Now()
	}
	if r.MatchedEventIDs == nil {
		r.MatchedEventIDs = core.Strings{}
	}
	if r.MatchedSearches == nil {
		r.MatchedSearches = core.Strings{}
	}
	err := t.get(ctx, &r.ID, `INSERT INTO test_detection_results (`+detectionColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (test_id, detection_rule_id) DO UPDATE SET triggered=excluded.triggered, method=excluded.method,
		evidence_id=excluded.evidence_id, matched_events=excluded.matched_events, matched_event_ids=excluded.matched_event_ids,
		matched_searches=excluded.matched_searches, notes=excluded.notes,
		recorded_by=excluded.recorded_by, recorded_at=excluded.recorded_at
		RETURNING id`,
		r.ID, r.TestID, r.DetectionRuleID, r.Triggered, r.Method, r.EvidenceID, r.MatchedEvents, r.MatchedEventIDs, r.MatchedSearches,
		r.Notes, r.RecordedBy, r.RecordedAt)
	if err != nil {
		return fmt.Errorf("store: detection result of rule %s on test %s: %w", r.DetectionRuleID, r.TestID, err)
	}
	return nil
}

// DetectionResultsOf lists a test's detection results, oldest first.
func (t *Tx) DetectionResultsOf(ctx context.Context, testID string) ([]*core.DetectionResult, error) {
	out := []*core.DetectionResult{}
	if err := t.sel(ctx, &out, `SELECT `+detectionColumns+` FROM test_detection_results WHERE test_id = ? ORDER BY recorded_at, id`, testID); err != nil {
		return nil, fmt.Errorf("store: detection results of test %s: %w", testID, err)
	}
	return out, nil
}

// DeleteDetectionResult removes the result of one rule on one test.
func (t *Tx) DeleteDetectionResult(ctx context.Context, testID, ruleID string) error {
	res, err := t.exec(ctx, `DELETE FROM test_detection_results WHERE test_id = ? AND detection_rule_id = ?`, testID, ruleID)
	if err != nil {
		return fmt.Errorf("store: delete detection result of rule %s on test %s: %w", ruleID, testID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return core.Errorf(core.ENOTFOUND, "test %s has no detection result for rule %s", testID, ruleID)
	}
	return nil
}

// RetestsOf lists the retests created from a test, oldest first.
func (t *Tx) RetestsOf(ctx context.Context, testID string) ([]*core.Test, error) {
	out, err := t.selectTests(ctx, `SELECT `+t.testSelect()+` FROM tests WHERE retest_of = ? ORDER BY created_at, id`, testID)
	if err != nil {
		return nil, fmt.Errorf("store: retests of %s: %w", testID, err)
	}
	return out, nil
}
