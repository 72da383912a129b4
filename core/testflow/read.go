package testflow

import (
	"context"

	"github.com/aegis-sec/aegis/core"
)

// TestDetail is a test with what the caller may do to it now and the votes of its current
// review round, read in the transaction that read (or wrote) the test, so the three
// always agree.
type TestDetail struct {
	*core.Test
	AllowedActions []Action `json:"allowed_actions"`
	// Votes are those of the current review round.
	Votes []*core.Vote `json:"votes"`
}

func detailOf(ctx context.Context, tx core.Tx, actor *core.User, t *core.Test) (*TestDetail, error) {
	d := &TestDetail{Test: t, AllowedActions: Allowed(t, actor), Votes: []*core.Vote{}}
	if t.ReviewRound > 0 {
		votes, err := tx.VotesOf(ctx, t.ID, t.ReviewRound)
		if err != nil {
			return nil, err
		}
		if votes != nil {
			d.Votes = votes
		}
	}
	return d, nil
}

// Get reads one test's detail as actor sees it.
func (s *Service) Get(ctx context.Context, actor *core.User, id string) (*TestDetail, error) {
	if err := checkID("test", id); err != nil {
		return nil, err
	}
	var d *TestDetail
	err := s.store.View(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, id)
		if err != nil {
			return err
		}
		d, err = detailOf(ctx, tx, actor, t)
		return err
	})
	return d, err
}

// List lists tests. technique, when not empty, names the technique by id or ATT&CK id
// (any case); a technique that does not exist has no tests, so the list is empty.
func (s *Service) List(ctx context.Context, f core.TestFilter, technique string) ([]*core.Test, int, error) {
	var list []*core.Test
	var total int
	err := s.store.View(ctx, func(tx core.Tx) error {
		if technique != "" {
			te, err := core.TechniqueByRef(ctx, tx, technique)
			if core.ErrorCode(err) == core.ENOTFOUND {
				return nil
			}
			if err != nil {
				return err
			}
			f.TechniqueID = te.ID
		}
		var err error
		list, total, err = tx.ListTests(ctx, f)
		return err
	})
	if list == nil {
		list = []*core.Test{}
	}
	return list, total, err
}

// ofTest reads what hangs off one test, after checking the test exists (a missing
// test is ENOTFOUND, not an empty list).
func ofTest[T any](ctx context.Context, s *Service, id string, read func(core.Tx) ([]T, error)) ([]T, error) {
	if err := checkID("test", id); err != nil {
		return nil, err
	}
	var out []T
	err := s.store.View(ctx, func(tx core.Tx) error {
		if _, err := tx.TestByID(ctx, id); err != nil {
			return err
		}
		var err error
		out, err = read(tx)
		return err
	})
	if out == nil {
		out = []T{}
	}
	return out, err
}

// Votes lists every vote on a test, all review rounds, oldest first.
func (s *Service) Votes(ctx context.Context, id string) ([]*core.Vote, error) {
	return ofTest(ctx, s, id, func(tx core.Tx) ([]*core.Vote, error) { return tx.VotesOf(ctx, id, 0) })
}

// Retests lists the retests created from a test.
func (s *Service) Retests(ctx context.Context, id string) ([]*core.Test, error) {
	return ofTest(ctx, s, id, func(tx core.Tx) ([]*core.Test, error) { return tx.RetestsOf(ctx, id) })
}

// Detections lists the per-rule detection results of a test.
func (s *Service) Detections(ctx context.Context, id string) ([]*core.DetectionResult, error) {
	return ofTest(ctx, s, id, func(tx core.Tx) ([]*core.DetectionResult, error) { return tx.DetectionResultsOf(ctx, id) })
}

// Worklogs lists one page of the time logged on a test.
func (s *Service) Worklogs(ctx context.Context, id string, p core.Page) ([]*core.Worklog, int, error) {
	var total int
	list, err := ofTest(ctx, s, id, func(tx core.Tx) ([]*core.Worklog, error) {
		list, n, err := tx.ListWorklogs(ctx, core.WorklogFilter{TestID: id, Page: p})
		total = n
		return list, err
	})
	return list, total, err
}

// VerifyWorklogs walks the worklog hash chain.
func (s *Service) VerifyWorklogs(ctx context.Context) (*core.WorklogVerification, error) {
	var v *core.WorklogVerification
	err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		v, err = tx.VerifyWorklogs(ctx)
		return err
	})
	return v, err
}
