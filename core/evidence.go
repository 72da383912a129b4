package core

import (
	"context"
	"io"
	"time"
)

// Team is the side of a purple-team exercise a piece of evidence belongs to.
type Team string

const (
	TeamRed  Team = "red"
	TeamBlue Team = "blue"
)

// Valid reports whether t is red or blue.
func (t Team) Valid() bool { return t == TeamRed || t == TeamBlue }

// Evidence is a file attached to a test: a screenshot, a log export, a pcap. The bytes
// live in a BlobStore under StorageKey, which Aegis makes from ids and never from the
// uploaded file name; FileName is kept, sanitised, for display only.
type Evidence struct {
	ID          string     `db:"id" json:"id"`
	TestID      string     `db:"test_id" json:"test_id"`
	Team        Team       `db:"team" json:"team"`
	FileName    string     `db:"file_name" json:"file_name"`
	ContentType string     `db:"content_type" json:"content_type"`
	SizeBytes   int64      `db:"size_bytes" json:"size_bytes"`
	SHA256      string     `db:"sha256" json:"sha256"`
	StorageKey  string     `db:"storage_key" json:"-"`
	Description string     `db:"description" json:"description"`
	UploadedBy  *string    `db:"uploaded_by" json:"uploaded_by,omitempty"`
	UploadedAt  time.Time  `db:"uploaded_at" json:"uploaded_at"`
	VerifiedAt  *time.Time `db:"verified_at" json:"verified_at,omitempty"`
}

// EvidenceFilter selects evidence in a listing. Teams, when not empty, limits the
// listing to those teams (what the caller's role may read).
type EvidenceFilter struct {
	TestID string
	Teams  []Team
	Page
}

// EvidenceRepo stores evidence metadata; the bytes are the BlobStore's.
type EvidenceRepo interface {
	CreateEvidence(ctx context.Context, e *Evidence) error
	EvidenceByID(ctx context.Context, id string) (*Evidence, error)
	ListEvidence(ctx context.Context, f EvidenceFilter) ([]*Evidence, int, error)
	MarkEvidenceVerified(ctx context.Context, id string, at time.Time) error
	DeleteEvidence(ctx context.Context, id string) error
	// EvidenceStorageKeys returns the blob key of every evidence row.
	EvidenceStorageKeys(ctx context.Context) (map[string]bool, error)
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// BlobStore keeps evidence bytes by key (local disk, S3). Keys are made by Aegis from
// ids: a slash-separated path of letters, digits, '.', '_' and '-', never "..".
// Get and Stat of a missing key return an ENOTFOUND *Error; Delete of a missing key
// is not an error, so a retried deletion succeeds.
type BlobStore interface {
	// Put stores everything r yields under key. A Put that fails (including because r
	// returned an error) leaves no blob behind under key.
	Put(ctx context.Context, key string, r io.Reader) error
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Stat(ctx context.Context, key string) (BlobInfo, error)
	Delete(ctx context.Context, key string) error
	// List calls fn for every complete blob whose key starts with prefix (uploads
	// still being written are not listed).
	List(ctx context.Context, prefix string, fn func(BlobInfo) error) error
}

// EvidenceTeamOf returns the team a role uploads evidence for; admins and viewers
// belong to no team.
func EvidenceTeamOf(r Role) (Team, bool) {
	switch r {
	case RoleRedTech, RoleRedLead:
		return TeamRed, true
	case RoleBlueTech, RoleBlueLead:
		return TeamBlue, true
	}
	return "", false
}

// CanUploadEvidence reports whether a role may attach evidence for team: red roles
// upload red evidence, blue roles blue, admins either.
func CanUploadEvidence(r Role, t Team) bool {
	if !t.Valid() {
		return false
	}
	if r == RoleAdmin {
		return true
	}
	own, ok := EvidenceTeamOf(r)
	return ok && own == t
}

// CanReadEvidence reports whether a role may see evidence of team: leads and admins
// read both teams (they judge the test), technicians their own team's. Viewers see no
// evidence: it may hold payloads and credentials captured during the test.
func CanReadEvidence(r Role, t Team) bool {
	switch r {
	case RoleAdmin, RoleRedLead, RoleBlueLead:
		return t.Valid()
	}
	own, ok := EvidenceTeamOf(r)
	return ok && own == t
}

// ReadableTeams lists the teams whose evidence a role may read.
func ReadableTeams(r Role) []Team {
	var out []Team
	for _, t := range []Team{TeamRed, TeamBlue} {
		if CanReadEvidence(r, t) {
			out = append(out, t)
		}
	}
	return out
}

// CanDeleteEvidence reports whether u may delete e: an admin, the lead of the
// evidence's team, or whoever uploaded it.
func CanDeleteEvidence(u *User, e *Evidence) bool {
	switch {
	case u == nil:
		return false
	case u.Role == RoleAdmin:
		return true
	case u.Role == RoleRedLead && e.Team == TeamRed, u.Role == RoleBlueLead && e.Team == TeamBlue:
		return true
	}
	return e.UploadedBy != nil && *e.UploadedBy == u.ID && CanUploadEvidence(u.Role, e.Team)
}

// EvidenceRoles are the roles that may read some evidence (and so reach the evidence
// routes at all); which pieces each may read or change is decided per team.
func EvidenceRoles() []Role {
	var out []Role
	for _, r := range Roles {
		if len(ReadableTeams(r)) > 0 {
			out = append(out, r)
		}
	}
	return out
}
