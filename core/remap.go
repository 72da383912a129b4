package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ATT&CK upgrades revoke and deprecate techniques. What pointed at such a technique
// (tests, template and rule links, actor links, mitigations, control and D3FEND mappings)
// moves to the replacement when the release names exactly one that exists; otherwise it
// waits in the review queue. Nothing is ever dropped or moved silently: every move is
// audited.

// RetiredTechnique is a revoked or deprecated technique that something still points at.
type RetiredTechnique struct {
	ID         string         `json:"id"`
	ExternalID string         `json:"external_id"`
	Revoked    bool           `json:"revoked"`
	RevokedBy  string         `json:"revoked_by"`
	Deprecated bool           `json:"deprecated"`
	Release    string         `json:"release"`
	Dependents map[string]int `json:"dependents"` // table → rows pointing at the technique
}

// RemapDecision says what to do with one retired technique.
type RemapDecision struct {
	From RetiredTechnique
	// To is the replacement's Aegis id and ATT&CK id when the move is unambiguous.
	To         string
	ToExternal string
	// Reason explains a review (empty when the move is decided).
	Reason     string
	Candidates []string
	// Chain is every step from the retired technique on (A, B, C when A was revoked by
	// B and B by C).
	Chain []string
}

// TechniqueResolver looks up a technique by ATT&CK id (nil when there is none).
type TechniqueResolver func(externalID string) *Technique

// maxRevocationHops bounds how far a chain of revocations is followed (A revoked by B,
// B revoked by C): real chains are one or two long; the bound also stops cycles.
const maxRevocationHops = 5

// PlanRemap decides, for each retired technique, whether its dependents move and where.
func PlanRemap(retired []RetiredTechnique, resolve TechniqueResolver) []RemapDecision {
	out := make([]RemapDecision, 0, len(retired))
	for _, r := range retired {
		d := RemapDecision{From: r}
		switch {
		case r.Revoked && r.RevokedBy == "":
			d.Reason = "revoked without a replacement named in the release"
		case r.Revoked:
			target, reason, chain := followRevocations(r.RevokedBy, resolve)
			d.Chain = append([]string{r.ExternalID}, chain...)
			if target != nil {
				d.To, d.ToExternal = target.ID, target.ExternalID
			} else {
				d.Reason, d.Candidates = reason, []string{r.RevokedBy}
			}
		default:
			d.Reason = "deprecated with no replacement: decide whether its tests move or stay"
		}
		out = append(out, d)
	}
	return out
}

func followRevocations(ext string, resolve TechniqueResolver) (*Technique, string, []string) {
	seen := map[string]bool{}
	var chain []string
	for hop := 0; hop < maxRevocationHops; hop++ {
		if seen[ext] {
			return nil, fmt.Sprintf("revocations form a cycle through %s", ext), chain
		}
		seen[ext] = true
		chain = append(chain, ext)
		t := resolve(ext)
		switch {
		case t == nil:
			return nil, fmt.Sprintf("revoked by %s, which this release does not contain", ext), chain
		case !t.Known:
			return nil, fmt.Sprintf("revoked by %s, which is not part of an imported ATT&CK release", ext), chain
		case t.Revoked && t.RevokedBy != "":
			ext = t.RevokedBy
			continue
		case t.Revoked:
			return nil, fmt.Sprintf("revoked by %s, which is itself revoked without a replacement", ext), chain
		case t.Deprecated:
			return nil, fmt.Sprintf("revoked by %s, which is deprecated", ext), chain
		}
		return t, "", chain
	}
	return nil, fmt.Sprintf("the chain of revocations from %s is longer than %d", ext, maxRevocationHops), chain
}

// RevokedTechniqueError says why a technique cannot take new work: it is revoked, and
// the message names where its tests go (every step of the chain, and the current
// replacement when there is one).
func RevokedTechniqueError(ctx context.Context, tx Tx, te *Technique, field string) error {
	if !te.Revoked {
		return nil
	}
	if te.RevokedBy == "" {
		return FieldError(field, "technique %s is revoked and the release names no replacement: choose a current technique", te.ExternalID)
	}
	target, reason, chain := followRevocations(te.RevokedBy, func(ext string) *Technique {
		t, err := tx.TechniqueByExternalID(ctx, ext)
		if err != nil {
			return nil
		}
		return t
	})
	if target == nil {
		return FieldError(field, "technique %s is revoked (%s): choose a current technique", te.ExternalID, reason)
	}
	return FieldError(field, "technique %s is revoked (%s): create the test on %s instead",
		te.ExternalID, chainReason(append([]string{te.ExternalID}, chain...)), target.ExternalID)
}

// TechniqueReview is one entry of the review queue.
type TechniqueReview struct {
	ID                string     `db:"id" json:"id"`
	TechniqueID       string     `db:"technique_id" json:"technique_id"`
	ExternalID        string     `db:"external_id" json:"external_id"`
	Reason            string     `db:"reason" json:"reason"`
	Candidates        Strings    `db:"candidates" json:"candidates"`
	Dependents        JSON       `db:"dependents" json:"dependents"`
	Release           string     `db:"release" json:"release"`
	Status            string     `db:"status" json:"status"`
	TargetTechniqueID *string    `db:"target_technique_id" json:"target_technique_id,omitempty"`
	ResolvedBy        *string    `db:"resolved_by" json:"resolved_by,omitempty"`
	ResolvedAt        *time.Time `db:"resolved_at" json:"resolved_at,omitempty"`
	Note              string     `db:"note" json:"note"`
	CreatedAt         time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt         time.Time  `db:"updated_at" json:"updated_at"`
}

// Review statuses.
const (
	ReviewOpen      = "open"
	ReviewResolved  = "resolved"
	ReviewDismissed = "dismissed"
)

// ReviewFilter selects reviews.
type ReviewFilter struct {
	Status string
	Page
}

// RemapRepo finds retired techniques, moves what points at them and keeps the queue.
type RemapRepo interface {
	RetiredTechniques(ctx context.Context) ([]RetiredTechnique, error)
	// MoveTechniqueReferences re-points everything at from to to and returns, per
	// table, how many rows moved, and the ids of the tests that moved.
	MoveTechniqueReferences(ctx context.Context, from, to string) (map[string]int, []string, error)
	QueueTechniqueReview(ctx context.Context, r *TechniqueReview) error
	ListTechniqueReviews(ctx context.Context, f ReviewFilter) ([]*TechniqueReview, int, error)
	TechniqueReviewByID(ctx context.Context, id string) (*TechniqueReview, error)
	// TechniqueReviewOf returns the review of a technique, or nil when it has none.
	TechniqueReviewOf(ctx context.Context, techniqueID string) (*TechniqueReview, error)
	CloseTechniqueReview(ctx context.Context, r *TechniqueReview) error
}

// RemapReport says what one pass of ApplyRemap did.
type RemapReport struct {
	Moves   []RemapMove `json:"moves"`
	Queued  []string    `json:"queued"` // ATT&CK ids newly or still waiting for review
	Skipped []string    `json:"skipped,omitempty"`
}

// RemapMove is one retired technique whose dependents moved.
type RemapMove struct {
	From   string         `json:"from"`
	To     string         `json:"to"`
	Moved  map[string]int `json:"moved"`
	Tests  []string       `json:"tests,omitempty"`
	Reason string         `json:"reason"`
	// Chain is every step of a revocation chain longer than one (A, B, C).
	Chain []string `json:"chain,omitempty"`
}

// ApplyRemap moves what points at retired techniques to their replacements where that
// is unambiguous (or where a person already decided it in the review queue), queues the
// rest for review, and audits every move, all in the caller's transaction.
func ApplyRemap(ctx context.Context, tx Tx, actor *User) (*RemapReport, error) {
	retired, err := tx.RetiredTechniques(ctx)
	if err != nil {
		return nil, err
	}
	rep := &RemapReport{}
	if len(retired) == 0 {
		return rep, nil
	}
	resolve := func(ext string) *Technique {
		t, err := tx.TechniqueByExternalID(ctx, ext)
		if err != nil {
			return nil
		}
		return t
	}
	for _, d := range PlanRemap(retired, resolve) {
		review, err := tx.TechniqueReviewOf(ctx, d.From.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case review != nil && review.Status == ReviewResolved && review.TargetTechniqueID != nil:
			// A person decided where this technique's dependents go; links that came
			// back (a re-imported rule still naming the old id) follow that decision.
			target, err := tx.TechniqueByID(ctx, *review.TargetTechniqueID)
			if err != nil {
				return nil, err
			}
			if err := move(ctx, tx, actor, rep, d.From, target.ID, target.ExternalID, "as decided in review "+review.ID); err != nil {
				return nil, err
			}
		case review != nil && review.Status != ReviewOpen:
			rep.Skipped = append(rep.Skipped, d.From.ExternalID)
		case d.To != "":
			if err := move(ctx, tx, actor, rep, d.From, d.To, d.ToExternal, chainReason(d.Chain), d.Chain...); err != nil {
				return nil, err
			}
		default:
			deps, _ := json.Marshal(d.From.Dependents)
			r := &TechniqueReview{TechniqueID: d.From.ID, ExternalID: d.From.ExternalID, Reason: d.Reason,
				Candidates: Strings(d.Candidates), Dependents: deps, Release: d.From.Release}
			isNew := review == nil
			if err := tx.QueueTechniqueReview(ctx, r); err != nil {
				return nil, err
			}
			if isNew {
				if err := tx.AppendAudit(ctx, NewAudit(actor, "attack.review.queued", "technique", d.From.ExternalID,
					map[string]any{"review": r.ID, "reason": d.Reason, "dependents": d.From.Dependents})); err != nil {
					return nil, err
				}
			}
			rep.Queued = append(rep.Queued, d.From.ExternalID)
		}
	}
	return rep, nil
}

// chainReason says every step of a revocation chain: "T1 was revoked by T2, T2 by T3".
func chainReason(chain []string) string {
	if len(chain) < 2 {
		return ""
	}
	reason := fmt.Sprintf("%s was revoked by %s", chain[0], chain[1])
	for i := 2; i < len(chain); i++ {
		reason += fmt.Sprintf(", %s by %s", chain[i-1], chain[i])
	}
	return reason
}

func move(ctx context.Context, tx Tx, actor *User, rep *RemapReport, from RetiredTechnique, toID, toExt, reason string, chain ...string) error {
	moved, tests, err := tx.MoveTechniqueReferences(ctx, from.ID, toID)
	if err != nil {
		return fmt.Errorf("remap %s to %s: %w", from.ExternalID, toExt, err)
	}
	for _, id := range tests {
		data := map[string]any{"from": from.ExternalID, "to": toExt, "reason": reason}
		if len(chain) > 2 {
			data["chain"] = chain
		}
		if err := tx.AppendAudit(ctx, NewAudit(actor, "attack.remap.test", "test", id, data)); err != nil {
			return err
		}
	}
	data := map[string]any{"to": toExt, "moved": moved, "reason": reason, "release": from.Release}
	if len(chain) > 2 {
		data["chain"] = chain
	}
	if err := tx.AppendAudit(ctx, NewAudit(actor, "attack.remap", "technique", from.ExternalID, data)); err != nil {
		return err
	}
	rep.Moves = append(rep.Moves, RemapMove{From: from.ExternalID, To: toExt, Moved: moved, Tests: tests, Reason: reason, Chain: chain})
	return nil
}

// ResolveTechniqueReview closes a review: with a target ATT&CK id, everything that
// points at the retired technique moves there (and keeps following that decision on
// later imports); with dismiss, the dependents stay where they are.
func ResolveTechniqueReview(ctx context.Context, tx Tx, actor *User, reviewID, targetExternalID string, dismiss bool, note string) (*TechniqueReview, *RemapReport, error) {
	r, err := tx.TechniqueReviewByID(ctx, reviewID)
	if err != nil {
		return nil, nil, err
	}
	if r.Status != ReviewOpen {
		return nil, nil, Errorf(ECONFLICT, "review %s is already %s", reviewID, r.Status)
	}
	if dismiss == (targetExternalID != "") {
		return nil, nil, FieldError("target", "give either a target technique or dismiss, not both or neither")
	}
	now := Now()
	r.ResolvedAt, r.Note = &now, note
	if actor != nil {
		id := actor.ID
		r.ResolvedBy = &id
	}
	rep := &RemapReport{}
	if dismiss {
		r.Status = ReviewDismissed
	} else {
		target, err := tx.TechniqueByExternalID(ctx, targetExternalID)
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, FieldError("target", "technique %s does not exist", targetExternalID)
		}
		if err != nil {
			return nil, nil, err
		}
		if target.Revoked || target.Deprecated || !target.Known || target.ID == r.TechniqueID {
			return nil, nil, FieldError("target", "%s cannot receive tests: choose a current technique of an imported release", targetExternalID)
		}
		from, err := tx.TechniqueByID(ctx, r.TechniqueID)
		if err != nil {
			return nil, nil, err
		}
		retired := RetiredTechnique{ID: from.ID, ExternalID: from.ExternalID, Revoked: from.Revoked, RevokedBy: from.RevokedBy,
			Deprecated: from.Deprecated, Release: from.LastSeenRelease}
		if err := move(ctx, tx, actor, rep, retired, target.ID, target.ExternalID, "resolved in review "+r.ID); err != nil {
			return nil, nil, err
		}
		r.Status, r.TargetTechniqueID = ReviewResolved, &target.ID
	}
	if err := tx.CloseTechniqueReview(ctx, r); err != nil {
		return nil, nil, err
	}
	if err := tx.AppendAudit(ctx, NewAudit(actor, "attack.review."+r.Status, "technique", r.ExternalID,
		map[string]any{"review": r.ID, "target": targetExternalID, "note": note})); err != nil {
		return nil, nil, err
	}
	return r, rep, nil
}
