package core

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Export scope kinds: what part of Aegis an export covers.
const (
	ScopeOrganisation = "organisation"
	ScopeTactic       = "tactic"
	ScopeActor        = "actor"
	ScopeCampaign     = "campaign"
	ScopeSnapshot     = "snapshot"
	ScopeDiff         = "diff"
	ScopeRules        = "rules"
)

// ScopeKinds are the export scope kinds, in the order a user meets them.
var ScopeKinds = []string{ScopeOrganisation, ScopeTactic, ScopeActor, ScopeCampaign, ScopeSnapshot, ScopeDiff, ScopeRules}

// ExportScope says what an export covers. It travels to the exporter plugin as the
// export's Scope JSON, filled in by the host with what it resolved (names, counts), so
// a plugin can title its artifact without reading the database.
type ExportScope struct {
	// Kind is one of organisation, tactic, actor, campaign, snapshot, diff, rules.
	Kind string `json:"kind" api:"enum=export_scope"`
	// ID names the tactic (TA0002 or execution), threat actor (G0016 or its name),
	// campaign or snapshot; for diff, the later snapshot.
	ID string `json:"id,omitempty"`
	// Base is the earlier snapshot of a diff.
	Base string `json:"base,omitempty"`
	// Rules selects detection rules for the rules scope (all active rules when empty).
	Rules *RuleQuery `json:"rules,omitempty"`
	// Domain is the ATT&CK domain (enterprise-attack by default).
	Domain string `json:"domain,omitempty"`
}

// RuleQuery selects detection rules for an export, with the filters of the rule list.
type RuleQuery struct {
	Search      string `json:"search,omitempty"`
	TechniqueID string `json:"technique,omitempty"`
	Platform    string `json:"platform,omitempty"`
	Source      string `json:"source,omitempty"`
	Level       string `json:"level,omitempty"`
	Status      string `json:"status,omitempty"`
	// Format limits the rules to one format (sigma, elastic, custom).
	Format string `json:"format,omitempty"`
}

// ParseExportScope reads the command-line form of a scope: "organisation",
// "tactic:TA0002", "actor:G0016", "campaign:ID", "snapshot:ID", "diff:OLD..NEW" or
// "rules[:key=value,...]" with keys search, technique, platform, source, level,
// status and format.
func ParseExportScope(s string) (ExportScope, error) {
	kind, arg, _ := strings.Cut(strings.TrimSpace(s), ":")
	sc := ExportScope{Kind: kind}
	switch kind {
	case "", ScopeOrganisation, "organization", "org":
		sc.Kind = ScopeOrganisation
		if arg != "" {
			return sc, FieldError("scope", "organisation takes no argument, got %q", arg)
		}
	case ScopeTactic, ScopeActor, ScopeCampaign, ScopeSnapshot:
		if arg == "" {
			return sc, FieldError("scope", "%s needs an id, as in %s:ID", kind, kind)
		}
		sc.ID = arg
	case ScopeDiff:
		base, later, ok := strings.Cut(arg, "..")
		if !ok || base == "" || later == "" {
			return sc, FieldError("scope", "diff needs two snapshots, as in diff:OLD..NEW, got %q", arg)
		}
		sc.Base, sc.ID = base, later
	case ScopeRules:
		q := &RuleQuery{}
		if arg != "" {
			for _, kv := range strings.Split(arg, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return sc, FieldError("scope", "rules filter %q is not key=value", kv)
				}
				switch strings.TrimSpace(k) {
				case "search":
					q.Search = v
				case "technique":
					q.TechniqueID = v
				case "platform":
					q.Platform = v
				case "source":
					q.Source = v
				case "level":
					q.Level = v
				case "status":
					q.Status = v
				case "format":
					q.Format = v
				default:
					return sc, FieldError("scope", "unknown rules filter %q (known: search, technique, platform, source, level, status, format)", k)
				}
			}
		}
		sc.Rules = q
	default:
		return sc, FieldError("scope", "unknown scope %q (known: organisation, tactic:ID, actor:ID, campaign:ID, snapshot:ID, diff:OLD..NEW, rules[:k=v,...])", kind)
	}
	return sc, nil
}

// Validate checks that the scope names what its kind needs.
func (s *ExportScope) Validate() error {
	switch s.Kind {
	case "":
		s.Kind = ScopeOrganisation
	case ScopeOrganisation, ScopeRules:
	case ScopeTactic, ScopeActor, ScopeCampaign, ScopeSnapshot:
		if s.ID == "" {
			return FieldError("scope.id", "is required for a %s scope", s.Kind)
		}
	case ScopeDiff:
		if s.ID == "" || s.Base == "" {
			return FieldError("scope", "a diff needs base (the earlier snapshot) and id (the later one)")
		}
	default:
		return FieldError("scope.kind", "unknown scope %q (known: organisation, tactic, actor, campaign, snapshot, diff, rules)", s.Kind)
	}
	if s.Kind == ScopeRules && s.Rules == nil {
		s.Rules = &RuleQuery{}
	}
	if s.Domain == "" {
		s.Domain = "enterprise-attack"
	}
	return nil
}

// String is the command-line form of the scope.
func (s ExportScope) String() string {
	switch s.Kind {
	case ScopeDiff:
		return fmt.Sprintf("diff:%s..%s", s.Base, s.ID)
	case ScopeOrganisation, "":
		return ScopeOrganisation
	case ScopeRules:
		return ScopeRules
	}
	return s.Kind + ":" + s.ID
}

// ExportRun is one run of an exporter: who asked for what, and what came out.
type ExportRun struct {
	ID           string     `db:"id" json:"id"`
	PluginName   string     `db:"plugin_name" json:"plugin"`
	ExporterType string     `db:"exporter_type" json:"exporter_type"`
	Scope        JSON       `db:"scope" json:"scope"`
	Outcome      string     `db:"outcome" json:"outcome"`
	Error        string     `db:"error" json:"error,omitempty"`
	Records      int        `db:"records" json:"records"`
	Artifacts    int        `db:"artifacts" json:"artifacts"`
	SizeBytes    int64      `db:"size_bytes" json:"size_bytes"`
	SHA256       string     `db:"sha256" json:"sha256,omitempty"`
	WarningCount int        `db:"warning_count" json:"warning_count"`
	Warnings     JSON       `db:"warnings" json:"warnings"`
	TriggeredBy  string     `db:"triggered_by" json:"triggered_by"`
	UserID       *string    `db:"user_id" json:"user_id,omitempty"`
	StartedAt    time.Time  `db:"started_at" json:"started_at"`
	FinishedAt   *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	DurationMS   int64      `db:"duration_ms" json:"duration_ms"`
}

// ExportArtifact is one file an export produced. Data is loaded only when asked for.
type ExportArtifact struct {
	ID        string `db:"id" json:"-"`
	RunID     string `db:"run_id" json:"-"`
	Seq       int    `db:"seq" json:"-"`
	Name      string `db:"name" json:"name"`
	MediaType string `db:"media_type" json:"media_type"`
	SizeBytes int64  `db:"size_bytes" json:"size_bytes"`
	SHA256    string `db:"sha256" json:"sha256"`
	Data      []byte `db:"data" json:"-"`
}

// ExportRunFilter selects export runs in a listing.
type ExportRunFilter struct {
	Plugin  string
	Outcome string
	Page
}

// ExportRepo keeps export runs and their artifacts.
type ExportRepo interface {
	CreateExportRun(ctx context.Context, r *ExportRun) error
	// FinishExportRun writes the run's outcome and, in the same transaction as the
	// caller's, its artifacts (none for a failed run).
	FinishExportRun(ctx context.Context, r *ExportRun, artifacts []*ExportArtifact) error
	ExportRunByID(ctx context.Context, id string) (*ExportRun, error)
	ListExportRuns(ctx context.Context, f ExportRunFilter) ([]*ExportRun, int, error)
	// ExportArtifacts lists a run's artifacts in the order they were produced,
	// with their bytes when withData.
	ExportArtifacts(ctx context.Context, runID string, withData bool) ([]*ExportArtifact, error)
}

// ExportRequest asks for one export run.
type ExportRequest struct {
	Plugin string      `json:"plugin" api:"required" example:"navigator"`
	Type   string      `json:"type,omitempty"`
	Scope  ExportScope `json:"scope"`
}

// ExportProgress is the live state of a running export.
type ExportProgress struct {
	Phase   string `json:"phase"` // starting, resolving, exporting, storing
	Records int64  `json:"records"`
	Total   int64  `json:"total"`
	Bytes   int64  `json:"bytes"`
	Message string `json:"message,omitempty"`
}

// ExportRunView is a run as users see it: the row, its artifacts and, while it runs,
// its progress.
type ExportRunView struct {
	*ExportRun
	ArtifactList []*ExportArtifact `json:"artifact_list"`
	Progress     *ExportProgress   `json:"progress,omitempty"`
}

// ExportService runs exporter plugins in the background and serves their artifacts.
type ExportService interface {
	// StartExport creates the run and returns it while the export goes on.
	StartExport(ctx context.Context, req ExportRequest, actor *User) (*ExportRun, error)
	// ExportRun returns a run with its artifacts and live progress.
	ExportRun(ctx context.Context, id string) (*ExportRunView, error)
	ListExportRuns(ctx context.Context, f ExportRunFilter) ([]*ExportRun, int, error)
	// ExportArtifact returns one artifact of a succeeded run with its bytes: the
	// named one, or the only one when name is empty.
	ExportArtifact(ctx context.Context, runID, name string) (*ExportArtifact, error)
}
