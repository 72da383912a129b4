package core

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Tactic is an ATT&CK tactic (a column of the matrix) in one domain.
type Tactic struct {
	ID          string    `db:"id" json:"id"`
	ExternalID  string    `db:"external_id" json:"external_id"`
	STIXID      string    `db:"stix_id" json:"stix_id"`
	Name        string    `db:"name" json:"name"`
	Shortname   string    `db:"shortname" json:"shortname"`
	Domain      string    `db:"domain" json:"domain"`
	MatrixOrder int       `db:"matrix_order" json:"matrix_order"`
	Description string    `db:"description" json:"description"`
	URL         string    `db:"url" json:"url"`
	Deprecated  bool      `db:"deprecated" json:"deprecated"`
	Source      string    `db:"source" json:"source"`
	SourceRef   string    `db:"source_ref" json:"-"`
	ContentHash string    `db:"content_hash" json:"-"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`
}

// CoverageStatus is a technique's standing from its tests, decided by its most
// recently validated test (a retest after remediation supersedes the test it repeats; a
// newer failure is a regression). The store keeps it up to date on every test write.
type CoverageStatus string

const (
	StatusNotTested  CoverageStatus = "not_tested"  // no test at all
	StatusInProgress CoverageStatus = "in_progress" // tests, none validated yet
	StatusNotCovered CoverageStatus = "not_covered" // latest validated test: nothing prevented, alerted or logged
	StatusPartial    CoverageStatus = "partial"     // latest validated test: logged only
	StatusCovered    CoverageStatus = "covered"     // latest validated test: prevented or alerted
)

// CoverageStatuses are every coverage status, in order of progress.
var CoverageStatuses = []CoverageStatus{StatusNotTested, StatusInProgress, StatusNotCovered, StatusPartial, StatusCovered}

// CoverageStatusOf is the coverage rule: the status of a technique whose tests are
// tests. The most recently validated test decides (LatestValidated); before any
// validation the technique is in progress, without tests it is not tested. The store
// keeps the same rule in SQL for the stored status and its filter; a test holds the two
// to the same answers.
func CoverageStatusOf(tests []*Test) CoverageStatus {
	if len(tests) == 0 {
		return StatusNotTested
	}
	latest := LatestValidated(tests)
	switch {
	case latest == nil:
		return StatusInProgress
	case isTrue(latest.Prevented) || isTrue(latest.Alerted):
		return StatusCovered
	case isTrue(latest.Logged):
		return StatusPartial
	}
	return StatusNotCovered
}

func isTrue(b *bool) bool { return b != nil && *b }

// RollUpStatus is the status a technique with sub-techniques shows: the status of
// its own tests and its sub-techniques' together, as the score roll-up takes the mean
// of the scores that exist (docs/SCORING.md). Members not tested are left out, and so
// are members in progress once any member is validated: covered when every validated
// member is covered, not covered when every one is not covered, partial otherwise;
// in progress when nothing is validated but something is under way; not tested when
// nothing is.
func RollUpStatus(members ...CoverageStatus) CoverageStatus {
	validated, covered, notCovered, inProgress := 0, 0, 0, false
	for _, s := range members {
		switch s {
		case StatusCovered:
			validated++
			covered++
		case StatusNotCovered:
			validated++
			notCovered++
		case StatusPartial:
			validated++
		case StatusInProgress:
			inProgress = true
		}
	}
	switch {
	case validated > 0 && covered == validated:
		return StatusCovered
	case validated > 0 && notCovered == validated:
		return StatusNotCovered
	case validated > 0:
		return StatusPartial
	case inProgress:
		return StatusInProgress
	}
	return StatusNotTested
}

// LatestValidated returns the validated test that decides coverage: the latest
// validation, then the latest change, then the highest id (so the choice never depends
// on the order rows come back in). nil when none is validated.
func LatestValidated(tests []*Test) *Test {
	var best *Test
	for _, t := range tests {
		if t.State != StateValidated {
			continue
		}
		if best == nil || laterValidation(t, best) {
			best = t
		}
	}
	return best
}

func laterValidation(a, b *Test) bool {
	av, bv := a.ValidatedAt, b.ValidatedAt
	switch {
	case av == nil && bv != nil:
		return false
	case av != nil && bv == nil:
		return true
	case av != nil && !av.Equal(*bv):
		return av.After(*bv)
	case !a.UpdatedAt.Equal(b.UpdatedAt):
		return a.UpdatedAt.After(b.UpdatedAt)
	}
	return a.ID > b.ID
}

// Technique is an ATT&CK technique or sub-technique. Known is false for ids that other
// sources (Sigma, Atomic) use but the ATT&CK release in use does not have yet.
type Technique struct {
	ID              string         `db:"id" json:"id"`
	ExternalID      string         `db:"external_id" json:"external_id"`
	STIXID          string         `db:"stix_id" json:"stix_id"`
	Name            string         `db:"name" json:"name"`
	Description     string         `db:"description" json:"description"`
	ParentID        *string        `db:"parent_id" json:"parent_id,omitempty"`
	IsSubtechnique  bool           `db:"is_subtechnique" json:"is_subtechnique"`
	Platforms       Strings        `db:"platforms" json:"platforms"`
	Domains         Strings        `db:"domains" json:"domains"`
	DataSources     Strings        `db:"data_sources" json:"data_sources"`
	Detection       string         `db:"detection" json:"detection"`
	URL             string         `db:"url" json:"url"`
	ObjectVersion   string         `db:"object_version" json:"object_version"`
	ModifiedAt      *time.Time     `db:"modified_at" json:"modified_at,omitempty"`
	Revoked         bool           `db:"revoked" json:"revoked"`
	RevokedBy       string         `db:"revoked_by" json:"revoked_by,omitempty"`
	Deprecated      bool           `db:"deprecated" json:"deprecated"`
	Known           bool           `db:"known" json:"known"`
	LastSeenRelease string         `db:"last_seen_release" json:"last_seen_release"`
	CoverageStatus  CoverageStatus `db:"coverage_status" json:"coverage_status"`
	Source          string         `db:"source" json:"source"`
	SourceRef       string         `db:"source_ref" json:"-"`
	ContentHash     string         `db:"content_hash" json:"-"`
	CreatedAt       time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt       time.Time      `db:"updated_at" json:"updated_at"`

	// Tactics are the shortnames of the technique's tactics (filled by queries that join them).
	Tactics []string `db:"-" json:"tactics"`
}

var techniqueIDRE = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)

// ValidTechniqueID reports whether s looks like an ATT&CK technique id (T1059 or T1059.001).
func ValidTechniqueID(s string) bool { return techniqueIDRE.MatchString(s) }

// NormalizeTechniqueID returns the ATT&CK id s names, in its canonical form ("t1059.001 "
// → "T1059.001"), and whether s is one: people type ids in any case, the catalog stores
// them upper-case.
func NormalizeTechniqueID(s string) (string, bool) {
	n := strings.ToUpper(strings.TrimSpace(s))
	return n, ValidTechniqueID(n)
}

// TechniqueFilterID puts the value of a technique filter (?technique=) in the catalog's
// form: people type ATT&CK ids in any case, the catalog stores them upper-case. Every
// service that filters by technique passes the value through it, so the filters agree
// with TechniqueByRef; a value that is no ATT&CK id matches nothing.
func TechniqueFilterID(s string) string {
	n, _ := NormalizeTechniqueID(s)
	return n
}

// TechniqueByRef finds a technique by its Aegis id or its ATT&CK id in any case. It is the
// one resolver of technique references: API paths, list filters and test requests all
// name techniques through it, so they all accept the same forms.
func TechniqueByRef(ctx context.Context, r TechniqueRepo, ref string) (*Technique, error) {
	if ValidID(ref) {
		return r.TechniqueByID(ctx, ref)
	}
	if ext, ok := NormalizeTechniqueID(ref); ok {
		return r.TechniqueByExternalID(ctx, ext)
	}
	return nil, &Error{Code: ENOTFOUND,
		Message: fmt.Sprintf("technique %q not found: it is neither an id nor an ATT&CK technique id (T1059, T1059.001)", ref)}
}

// ParentTechniqueID returns "T1059" for "T1059.001" and "" for a technique that has no parent.
func ParentTechniqueID(s string) string {
	if len(s) > 5 && s[5] == '.' {
		return s[:5]
	}
	return ""
}

// Validate checks what a technique needs before it is stored.
func (t *Technique) Validate() error {
	if !ValidTechniqueID(t.ExternalID) {
		return FieldError("external_id", "%q is not an ATT&CK technique id (T1234 or T1234.001)", t.ExternalID)
	}
	if t.Known && t.Name == "" {
		return FieldError("name", "is required for technique %s", t.ExternalID)
	}
	return nil
}

// TechniqueFilter selects techniques in a listing.
type TechniqueFilter struct {
	Tactic         string // tactic shortname or external id
	Platform       string
	Status         CoverageStatus
	Search         string
	IncludeRevoked bool
	// Lean leaves each technique's description and detection text out (empty): a list
	// page shows neither, and they are most of its bytes; the detail has them.
	Lean bool
	Page
}

// Check refuses values no technique can have, naming the allowed ones: a filter with a
// typo must not answer an empty list as if nothing matched. tactics are the stored ones.
func (f TechniqueFilter) Check(tactics []*Tactic) error {
	if f.Status != "" && !slices.Contains(CoverageStatuses, f.Status) {
		return FieldError("status", "unknown status %q (allowed: %s)", f.Status, joinStrings(CoverageStatuses))
	}
	if f.Tactic == "" {
		return nil
	}
	var names []string
	for _, t := range tactics {
		if strings.EqualFold(t.Shortname, f.Tactic) || strings.EqualFold(t.ExternalID, f.Tactic) {
			return nil
		}
		if !slices.Contains(names, t.Shortname) {
			names = append(names, t.Shortname)
		}
	}
	if len(names) == 0 {
		return FieldError("tactic", "unknown tactic %q: no ATT&CK tactics are imported yet", f.Tactic)
	}
	slices.Sort(names)
	return FieldError("tactic", "unknown tactic %q (allowed: a tactic id such as TA0002, or %s)", f.Tactic, strings.Join(names, ", "))
}

func joinStrings[T ~string](xs []T) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}
