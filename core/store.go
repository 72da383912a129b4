package core

import "context"

// Store is the port to persistence. The caller owns the transaction: everything done
// inside one Update commits together or not at all (the unit of work).
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Read runs fn, a read of a single statement, without an explicit transaction (one
	// statement is consistent on its own): for the reads every request makes. A read
	// of several statements that must agree uses View; a write through fn fails.
	Read(ctx context.Context, fn func(tx Tx) error) error
	// Update runs fn in a read-write transaction, committed when fn returns nil. A
	// transaction the database aborted for a conflict with a concurrent one (deadlock,
	// serialization failure) is run again, so fn may run more than once: it must not
	// accumulate state outside the transaction across calls. A conflict that persists
	// is an ECONFLICT error.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers (readiness).
	Ping(ctx context.Context) error
	// Stats counts every entity by kind, state and source.
	Stats(ctx context.Context) (*Stats, error)
	Close() error
}

// Tx is what one transaction can do. It grows with the repositories later issues add.
type Tx interface {
	UserRepo
	TechniqueRepo
	TestRepo
	AuditRepo
	CatalogRepo
	PluginRepo
	ImportRecordRepo
	IntelRepo
	RemapRepo
	AssociationQueryRepo
	AccountRepo
	ThrottleRepo
	NotificationRepo
	TestWorkRepo
	EvidenceRepo
	WorklogRepo
	CatalogQueryRepo
	ReferenceRepo
	CoverageRepo
	CampaignRepo
	CoverageGenerationRepo
	CampaignPageRepo
	JobRunRepo
	SigmaRuleRepo
	ExportRepo
	BulkRepo
}

// UserRepo stores users.
type UserRepo interface {
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id string) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	CountUsers(ctx context.Context) (int, error)
}

// TechniqueRepo stores ATT&CK tactics and techniques.
type TechniqueRepo interface {
	UpsertTactic(ctx context.Context, t *Tactic) error
	TacticByExternalID(ctx context.Context, domain, externalID string) (*Tactic, error)
	ListTactics(ctx context.Context, domain string) ([]*Tactic, error)
	UpsertTechnique(ctx context.Context, t *Technique) error
	SetTechniqueTactics(ctx context.Context, techniqueID string, tacticIDs []string) error
	// PutReleaseTechnique records that an ATT&CK release held a technique object (the
	// same row again when the release is imported again).
	PutReleaseTechnique(ctx context.Context, r *ReleaseTechnique) error
	// PutReleaseTactic records a tactic as an ATT&CK release had it (the same row again
	// when the release is imported again).
	PutReleaseTactic(ctx context.Context, r *ReleaseTactic) error
	TechniqueByID(ctx context.Context, id string) (*Technique, error)
	TechniqueByExternalID(ctx context.Context, externalID string) (*Technique, error)
	ListTechniques(ctx context.Context, f TechniqueFilter) ([]*Technique, int, error)
}

// TestRepo stores tests. UpdateTest is a conditional write: it succeeds only when the
// stored version equals t.Version, and then increments it.
type TestRepo interface {
	CreateTest(ctx context.Context, t *Test) error
	UpdateTest(ctx context.Context, t *Test) error
	TestByID(ctx context.Context, id string) (*Test, error)
	ListTests(ctx context.Context, f TestFilter) ([]*Test, int, error)
}

// Stats is what `aegis stats` prints: for each entity, its total and its counts grouped
// by the columns that matter for it (state, source, role, ...).
type Stats struct {
	Entities map[string]EntityStats `json:"entities"`
}

// EntityStats is the count of one entity, and its breakdowns keyed by dimension.
type EntityStats struct {
	Total int                       `json:"total"`
	By    map[string]map[string]int `json:"by,omitempty"`
}

// Read runs fn in a read-only transaction of st and returns what it read: the shape of
// every service read that is one query.
func Read[T any](ctx context.Context, st Store, fn func(tx Tx) (T, error)) (T, error) {
	var out T
	err := st.View(ctx, func(tx Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// ReadPage is Read for a page of a list and the total that match; a nil page comes back
// empty, so it encodes as [] rather than null.
func ReadPage[T any](ctx context.Context, st Store, fn func(tx Tx) ([]T, int, error)) ([]T, int, error) {
	var out []T
	var total int
	err := st.View(ctx, func(tx Tx) error {
		var err error
		out, total, err = fn(tx)
		return err
	})
	if out == nil {
		out = []T{}
	}
	return out, total, err
}
