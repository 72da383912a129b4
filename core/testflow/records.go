package testflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aegis-sec/aegis/core"
)

// DetectionInput is a verdict on one detection rule during a test.
type DetectionInput struct {
	Triggered     *bool   `json:"triggered" api:"required"`
	Notes         string  `json:"notes"`
	EvidenceID    *string `json:"evidence_id"`
	MatchedEvents int     `json:"matched_events"`
}

// RecordDetection records whether a rule fired during a test. Detection results are
// blue fields: the blue team records them while evaluating (admins at any time).
// method is core.DetectionManual for people; the Sigma evaluator records
// core.DetectionEvaluated, backed by the evidence it ran on.
func (s *Service) RecordDetection(ctx context.Context, actor *core.User, testID, ruleID string, in DetectionInput, method string) (*core.DetectionResult, error) {
	if err := checkID("test", testID); err != nil {
		return nil, err
	}
	if !core.ValidID(ruleID) {
		return nil, core.FieldError("detection_rule_id", "%q is not an id", ruleID)
	}
	if in.Triggered == nil {
		return nil, core.FieldError("triggered", "is required (true or false)")
	}
	if method != core.DetectionManual && method != core.DetectionEvaluated {
		return nil, core.FieldError("method", "must be manual or evaluated, got %q", method)
	}
	if method == core.DetectionEvaluated && in.EvidenceID == nil {
		return nil, core.FieldError("evidence_id", "an evaluated result must name the evidence it was evaluated on")
	}
	if in.MatchedEvents < 0 {
		return nil, core.FieldError("matched_events", "may not be negative")
	}
	if len(in.Notes) > maxLongText {
		return nil, core.FieldError("notes", "is longer than %d bytes", maxLongText)
	}
	r := &core.DetectionResult{TestID: testID, DetectionRuleID: ruleID, Triggered: *in.Triggered, Method: method,
		EvidenceID: in.EvidenceID, MatchedEvents: in.MatchedEvents, Notes: in.Notes, RecordedBy: &actor.ID, RecordedAt: s.Now()}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, testID)
		if err != nil {
			return err
		}
		if err := CheckEdit(actor.Role, t.State, []string{"detection_results"}); err != nil {
			return err
		}
		if _, err := tx.DetectionRuleByID(ctx, ruleID); err != nil {
			return relabel(err, "detection_rule_id")
		}
		if in.EvidenceID != nil {
			if !core.ValidID(*in.EvidenceID) {
				return core.FieldError("evidence_id", "%q is not an id", *in.EvidenceID)
			}
			e, err := tx.EvidenceByID(ctx, *in.EvidenceID)
			if err != nil {
				return relabel(err, "evidence_id")
			}
			if e.TestID != testID {
				return core.FieldError("evidence_id", "evidence %s belongs to another test", e.ID)
			}
		}
		if err := tx.PutDetectionResult(ctx, r); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "test.detection", t, map[string]any{"detection_rule_id": ruleID,
			"triggered": r.Triggered, "method": method})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteDetection removes the result of one rule on a test, under the same rules as
// recording it.
func (s *Service) DeleteDetection(ctx context.Context, actor *core.User, testID, ruleID string) error {
	if err := checkID("test", testID); err != nil {
		return err
	}
	if err := checkID("detection result", ruleID); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, testID)
		if err != nil {
			return err
		}
		if err := CheckEdit(actor.Role, t.State, []string{"detection_results"}); err != nil {
			return err
		}
		if err := tx.DeleteDetectionResult(ctx, testID, ruleID); err != nil {
			return err
		}
		return audit(ctx, tx, actor, "test.detection_deleted", t, map[string]any{"detection_rule_id": ruleID})
	})
}

// WorklogRoles may log time: everyone who works on tests (not viewers).
var WorklogRoles = []core.Role{core.RoleRedTech, core.RoleRedLead, core.RoleBlueTech, core.RoleBlueLead, core.RoleAdmin}

// WorklogVerifiers may walk the worklog hash chain: the leads, who answer for the time
// their teams log, and admins.
var WorklogVerifiers = leadRoles

// WorklogInput is time spent on a test. PerformedAt defaults to now.
type WorklogInput struct {
	Minutes     int        `json:"minutes" api:"required" example:"30"`
	Activity    string     `json:"activity"`
	Note        string     `json:"note"`
	PerformedAt *time.Time `json:"performed_at"`
}

// AddWorklog appends the actor's time on a test to the worklog chain.
func (s *Service) AddWorklog(ctx context.Context, actor *core.User, testID string, in WorklogInput) (*core.Worklog, error) {
	if actor == nil || !slices.Contains(WorklogRoles, actor.Role) {
		return nil, core.Errorf(core.EFORBIDDEN, "your role may not log work on tests")
	}
	if err := checkID("test", testID); err != nil {
		return nil, err
	}
	now := s.Now()
	w := &core.Worklog{TestID: testID, UserID: actor.ID, Minutes: in.Minutes, Activity: strings.TrimSpace(in.Activity),
		Note: in.Note, PerformedAt: now}
	if in.PerformedAt != nil {
		if in.PerformedAt.After(now.Add(5 * time.Minute)) {
			return nil, core.FieldError("performed_at", "is in the future")
		}
		w.PerformedAt = *in.PerformedAt
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	err := s.store.Update(ctx, func(tx core.Tx) error {
		if _, err := tx.TestByID(ctx, testID); err != nil {
			return err
		}
		if err := tx.AppendWorklog(ctx, w); err != nil {
			return fmt.Errorf("log work on test %s: %w", testID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}
