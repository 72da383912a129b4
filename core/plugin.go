package core

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// PluginInfo is what the host knows about a plugin: from aegis.hcl, from the binary's
// checksum and from its Describe answer.
type PluginInfo struct {
	ID              string  `db:"id" json:"id"`
	Name            string  `db:"name" json:"name"`
	Version         string  `db:"version" json:"version"`
	Description     string  `db:"description" json:"description"`
	Kinds           Strings `db:"kinds" json:"kinds"`
	RecordKinds     Strings `db:"record_kinds" json:"record_kinds"`
	Components      JSON    `db:"components" json:"components"`
	ProtocolVersion int     `db:"protocol_version" json:"protocol_version"`
	// ProtocolMinor and SDKVersion are what the plugin reported in Describe: the
	// additions to the protocol it knows and the Go SDK release it was built with.
	ProtocolMinor int        `db:"protocol_minor" json:"protocol_minor"`
	SDKVersion    string     `db:"sdk_version" json:"sdk_version"`
	Path          string     `db:"path" json:"path"`
	SHA256        string     `db:"sha256" json:"sha256"`
	Enabled       bool       `db:"enabled" json:"enabled"`
	LastError     string     `db:"last_error" json:"last_error,omitempty"`
	LastSeenAt    *time.Time `db:"last_seen_at" json:"last_seen_at,omitempty"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at" json:"updated_at"`
}

// Import run outcomes.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// ImportWarning is one problem a run reported, with the position the plugin knew.
type ImportWarning struct {
	Severity   string `json:"severity"`
	Summary    string `json:"summary"`
	Detail     string `json:"detail,omitempty"`
	File       string `json:"file,omitempty"`
	Line       int    `json:"line,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
}

// String formats the warning as "file:line: summary (id): detail", leaving out the
// parts that are empty.
func (w ImportWarning) String() string {
	var b strings.Builder
	if w.File != "" {
		b.WriteString(w.File)
		if w.Line > 0 {
			fmt.Fprintf(&b, ":%d", w.Line)
		}
		b.WriteString(": ")
	}
	b.WriteString(w.Summary)
	if w.ExternalID != "" {
		fmt.Fprintf(&b, " (%s)", w.ExternalID)
	}
	if w.Detail != "" {
		b.WriteString(": " + w.Detail)
	}
	return b.String()
}

// ImportRun is one run of an importer: what it was asked, what it changed, how it ended.
type ImportRun struct {
	ID             string     `db:"id" json:"id"`
	PluginName     string     `db:"plugin_name" json:"plugin"`
	ImporterType   string     `db:"importer_type" json:"importer_type"`
	SourceLocation string     `db:"source_location" json:"source"`
	DryRun         bool       `db:"dry_run" json:"dry_run"`
	Outcome        string     `db:"outcome" json:"outcome"`
	Error          string     `db:"error" json:"error,omitempty"`
	Added          int        `db:"added" json:"added"`
	Updated        int        `db:"updated" json:"updated"`
	Unchanged      int        `db:"unchanged" json:"unchanged"`
	Deprecated     int        `db:"deprecated" json:"deprecated"`
	Rejected       int        `db:"rejected" json:"rejected"`
	WarningCount   int        `db:"warning_count" json:"warning_count"`
	Warnings       JSON       `db:"warnings" json:"warnings"`
	TriggeredBy    string     `db:"triggered_by" json:"triggered_by"`
	StartedAt      time.Time  `db:"started_at" json:"started_at"`
	FinishedAt     *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	DurationMS     int64      `db:"duration_ms" json:"duration_ms"`
	// FilesRead and FilesUnchanged are the source files the plugin read, and those it
	// skipped because they had not changed since the previous run (their records are
	// kept and counted in Unchanged); both 0 for a plugin that does not report files.
	FilesRead      int `db:"files_read" json:"files_read"`
	FilesUnchanged int `db:"files_unchanged" json:"files_unchanged"`
}

// ImportFiles is what the latest successful run of a plugin's importer learnt of its
// source's files, so that the next run of the same source, configuration and plugin
// binary (FilesKey) can skip the unchanged ones. States is opaque to the store.
type ImportFiles struct {
	PluginName     string `db:"plugin_name"`
	ImporterType   string `db:"importer_type"`
	RunID          string `db:"run_id"`
	SourceLocation string `db:"source_location"`
	FilesKey       string `db:"files_key"`
	// Scope is the scope the run's records were kept under: a run that receives no
	// record (every file unchanged) cannot work it out from them.
	Scope     string `db:"scope"`
	FileCount int    `db:"file_count"`
	States    []byte `db:"states"`
}

// ImportRunFilter selects runs in a listing.
type ImportRunFilter struct {
	Plugin  string
	Outcome string
	Page
}

// PluginRepo keeps the plugins the host has seen and their import runs.
type PluginRepo interface {
	UpsertPlugin(ctx context.Context, p *PluginInfo) error
	ListPlugins(ctx context.Context) ([]*PluginInfo, error)
	CreateImportRun(ctx context.Context, r *ImportRun) error
	FinishImportRun(ctx context.Context, r *ImportRun) error
	ImportRunByID(ctx context.Context, id string) (*ImportRun, error)
	ListImportRuns(ctx context.Context, f ImportRunFilter) ([]*ImportRun, int, error)
}

// ImportRecord is the bookkeeping row of one imported record in one scope: a record
// that several scopes of a source bring (ATT&CK domains, two locations) has a row per
// scope, and the entity is their merge.
type ImportRecord struct {
	ID           string `db:"id"`
	Source       string `db:"source"`
	ImporterType string `db:"importer_type"`
	// Scope is the part of the source the record belongs to: an ATT&CK domain set, or
	// the source location.
	Scope     string `db:"scope"`
	SourceRef string `db:"source_ref"`
	// File is where in the source the record was read ("" when the plugin did not say).
	File        string `db:"file"`
	Kind        string `db:"kind"`
	ExternalID  string `db:"external_id"`
	EntityID    string `db:"entity_id"`
	ContentHash string `db:"content_hash"`
	// Data is the record as the plugin sent it, compressed ("" for rows written before
	// scopes existed).
	Data       string `db:"data"`
	Deprecated bool   `db:"deprecated"`
	FirstRunID string `db:"first_run_id"`
	LastRunID  string `db:"last_run_id"`
}

// ImportRecordKey identifies a record within one source.
type ImportRecordKey struct{ Kind, ExternalID string }

// ImportRecordRepo is the bookkeeping an import run writes through, beside the
// entities' own repositories: the importer sees only this port, never the SQL store.
type ImportRecordRepo interface {
	// ImportRecords loads every bookkeeping row of a source, grouped by kind and id
	// (one row per scope, in scope order).
	ImportRecords(ctx context.Context, source string) (map[ImportRecordKey][]*ImportRecord, error)
	// PutImportRecord inserts (no ID yet) or updates a bookkeeping row.
	PutImportRecord(ctx context.Context, r *ImportRecord) error
	// DeprecateEntities flags entities of a record kind as deprecated (kinds without
	// the flag are left as they are).
	DeprecateEntities(ctx context.Context, kind string, ids []string) error
	// EnsureTechnique returns the id of a technique by ATT&CK id, creating an "unknown
	// to this release" placeholder when no imported release has it yet.
	EnsureTechnique(ctx context.Context, externalID string) (string, error)
	// TemplateTechniques returns, for the templates of a source with the given
	// external ids, the ATT&CK ids each exercises.
	TemplateTechniques(ctx context.Context, source string, externalIDs []string) (map[string][]string, error)
	// AdversaryProfiles returns the adversary profiles of a source.
	AdversaryProfiles(ctx context.Context, source string) ([]*CampaignProfile, error)
	// SetProfileTechniques replaces the technique ids of a campaign profile.
	SetProfileTechniques(ctx context.Context, id string, techniqueIDs []string) error
}

// ImportRequest asks for one import run.
type ImportRequest struct {
	Plugin string `json:"plugin" api:"required" example:"attack"`
	Type   string `json:"type,omitempty"`
	Source string `json:"source,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// ImportProgress is the live state of a running import.
type ImportProgress struct {
	Phase    string `json:"phase"`
	Done     int64  `json:"done"`
	Total    int64  `json:"total"`
	Records  int64  `json:"records"`
	Warnings int    `json:"warnings"`
	Message  string `json:"message,omitempty"`
}

// PluginStatus is a plugin as an admin sees it: what it said about itself when last
// described, and whether it is configured, enabled and working.
type PluginStatus struct {
	PluginInfo
	Configured bool   `json:"configured"`
	Status     string `json:"status"` // ok, error, disabled, not configured, not described
}

// ImportService runs imports in the background and knows the plugins.
type ImportService interface {
	// StartImport creates the run and returns it while the import goes on.
	StartImport(ctx context.Context, req ImportRequest, actor *User) (*ImportRun, error)
	// ImportProgress returns the live progress of a running import.
	ImportProgress(runID string) (*ImportProgress, bool)
	// Plugins lists configured and discovered plugins with what is known of them;
	// refresh starts each enabled plugin to ask it again.
	Plugins(ctx context.Context, refresh bool) ([]PluginStatus, error)
}

// Exporter is one exporter of an enabled plugin, as every role may see it: the reports
// page offers these, while the plugin list itself (paths, hashes, errors) stays an
// administrator's.
type Exporter struct {
	Plugin        string   `json:"plugin" example:"navigator"`
	PluginVersion string   `json:"plugin_version"`
	Type          string   `json:"type" example:"layer"`
	Description   string   `json:"description"`
	RecordKinds   []string `json:"record_kinds"`
	MediaTypes    []string `json:"media_types"`
}

// Exporters lists the exporter components of the enabled, configured plugins, by plugin
// and type. A plugin whose stored description does not parse offers nothing.
func Exporters(plugins []PluginStatus) []Exporter {
	out := []Exporter{}
	for _, p := range plugins {
		if !p.Enabled || !p.Configured || len(p.Components) == 0 {
			continue
		}
		var comps []struct {
			Kind        string   `json:"kind"`
			Type        string   `json:"type"`
			Description string   `json:"description"`
			RecordKinds []string `json:"record_kinds"`
			MediaTypes  []string `json:"media_types"`
		}
		if err := json.Unmarshal(p.Components, &comps); err != nil {
			continue
		}
		for _, c := range comps {
			if c.Kind != "exporter" || c.Type == "" {
				continue
			}
			e := Exporter{Plugin: p.Name, PluginVersion: p.Version, Type: c.Type, Description: c.Description,
				RecordKinds: c.RecordKinds, MediaTypes: c.MediaTypes}
			if e.RecordKinds == nil {
				e.RecordKinds = []string{}
			}
			if e.MediaTypes == nil {
				e.MediaTypes = []string{}
			}
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Plugin != out[j].Plugin {
			return out[i].Plugin < out[j].Plugin
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// Undescribed says whether an enabled, configured plugin has never told what it offers.
func Undescribed(plugins []PluginStatus) bool {
	for _, p := range plugins {
		if p.Enabled && p.Configured && p.Status == "not described" {
			return true
		}
	}
	return false
}
