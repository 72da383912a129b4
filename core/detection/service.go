package detection

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/aegis-sec/aegis/core"
	"github.com/aegis-sec/aegis/core/events"
	"github.com/aegis-sec/aegis/core/testflow"
)

// Service evaluates the imported Sigma rules over the telemetry a test's blue team
// attached as evidence, and records the verdicts as the test's evaluated detection
// results.
type Service struct {
	store core.Store
	blobs core.BlobStore
	log   hclog.Logger
	opts  ServiceOptions

	mu     sync.Mutex
	cached *compiled
}

// ServiceOptions bound and tune evaluation.
type ServiceOptions struct {
	// MaxEvents bounds the events read from one evidence file (default 5,000,000).
	MaxEvents int
	// MaxMatchIDs bounds the event ids kept per rule in a result (default 100); the
	// count is always complete.
	MaxMatchIDs int
	// Placeholders are the values of %name% placeholders for the expand modifier.
	Placeholders map[string][]string
	Now          func() time.Time
}

type compiled struct {
	fingerprint [32]byte
	engine      *Engine
	byKey       map[string]*core.SigmaRuleText
}

// NewService returns the evaluator service.
func NewService(st core.Store, blobs core.BlobStore, log hclog.Logger, opts ServiceOptions) *Service {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 5_000_000
	}
	if opts.MaxMatchIDs <= 0 {
		opts.MaxMatchIDs = 100
	}
	if opts.Now == nil {
		opts.Now = core.Now
	}
	return &Service{store: st, blobs: blobs, log: log, opts: opts}
}

// EngineFor compiles the stored Sigma rules of source (every source when empty), reusing
// the last compilation while the rules are unchanged. Rules are keyed by their id in the
// store.
func (s *Service) EngineFor(ctx context.Context, source string) (*Engine, map[string]*core.SigmaRuleText, error) {
	var rules []*core.SigmaRuleText
	if err := s.store.View(ctx, func(tx core.Tx) error {
		var err error
		rules, err = tx.SigmaRules(ctx, source)
		return err
	}); err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	for _, r := range rules {
		fmt.Fprintf(h, "%s\x00%s\x00", r.ID, r.Raw)
	}
	var fp [32]byte
	copy(fp[:], h.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && s.cached.fingerprint == fp {
		return s.cached.engine, s.cached.byKey, nil
	}
	if len(rules) == 0 {
		return nil, nil, core.Errorf(core.EINVALID, "no active Sigma rules%s to evaluate: import some first (aegis import sigma)", inSource(source))
	}
	srcs := make([]Source, len(rules))
	byKey := make(map[string]*core.SigmaRuleText, len(rules))
	for i, r := range rules {
		srcs[i] = Source{Key: r.ID, File: r.Source + ":" + r.ExternalID, Text: []byte(r.Raw)}
		byKey[r.ID] = r
	}
	start := time.Now()
	e, err := Compile(srcs, Options{Placeholders: s.opts.Placeholders})
	if err != nil {
		return nil, nil, fmt.Errorf("compile Sigma rules: %w", err)
	}
	s.log.Info("Sigma rules compiled", "rules", len(e.Rules()), "unsupported", len(e.Unsupported()), "duration", time.Since(start).Round(time.Millisecond))
	s.cached = &compiled{fingerprint: fp, engine: e, byKey: byKey}
	return e, byKey, nil
}

func inSource(source string) string {
	if source == "" {
		return ""
	}
	return " from source " + source
}

// EvaluateInput says what to evaluate.
type EvaluateInput struct {
	// EvidenceIDs are the evidence files to read; empty means every blue evidence file
	// of the test that holds events (EVTX, JSON, NDJSON).
	EvidenceIDs []string `json:"evidence_ids,omitempty"`
	// Source limits the rules to one import source ("sigma"); empty is every source.
	Source string `json:"source,omitempty"`
	// Mapping is a built-in field mapping ("ecs") or a JSON object of field names.
	Mapping string `json:"mapping,omitempty"`
}

// EvidenceReport is what was read from one evidence file.
type EvidenceReport struct {
	ID       string `json:"id"`
	FileName string `json:"file_name"`
	Events   int    `json:"events"`
	// Skipped says why a file was not read (it holds no events).
	Skipped string `json:"skipped,omitempty"`
}

// Report is the outcome of an evaluation.
type Report struct {
	TestID         string           `json:"test_id"`
	Evidence       []EvidenceReport `json:"evidence"`
	Events         int              `json:"events"`
	RulesEvaluated int              `json:"rules_evaluated"`
	// Results are the detection results written: triggered for every rule that matched
	// an event, not triggered for the rules linked to the test's technique that did not.
	Results []*core.DetectionResult `json:"results"`
	// KeptManual are rules with a person's verdict on this test, which an evaluation
	// does not replace (its own verdict is in Differing when it disagrees).
	KeptManual []string `json:"kept_manual,omitempty"`
	Differing  []string `json:"differing,omitempty"`
	// Unsupported are the rules that could not be evaluated, and why: they are neither
	// triggered nor not triggered.
	Unsupported []Unsupported `json:"unsupported,omitempty"`
}

type ruleHits struct {
	evidenceID string
	count      int
	ids        []string
	searches   map[string]bool
}

// EvaluateTest reads the test's blue evidence, evaluates the stored Sigma rules over
// every event, and records the verdicts as evaluated detection results in one
// transaction. The caller needs the right to record detection results on the test in
// its current state (blue roles while blue_evaluating, admins at any time).
func (s *Service) EvaluateTest(ctx context.Context, actor *core.User, testID string, in EvaluateInput) (*Report, error) {
	if actor == nil {
		return nil, core.Errorf(core.EUNAUTHORIZED, "sign in to evaluate detections")
	}
	if !core.ValidID(testID) {
		return nil, core.Errorf(core.ENOTFOUND, "test %q not found", testID)
	}
	if s.blobs == nil {
		return nil, core.Errorf(core.EUNAVAILABLE, "no evidence store is configured")
	}
	var mapping map[string]string
	if in.Mapping != "" {
		m, err := events.ParseMapping([]byte(in.Mapping))
		if err != nil {
			return nil, core.FieldError("mapping", "%v", err)
		}
		mapping = m
	}
	// What to read, and whether the caller may record results, is checked first: a
	// refusal must not cost a compilation and a read of every file.
	var test *core.Test
	var files []*core.Evidence
	var relevant []string
	err := s.store.View(ctx, func(tx core.Tx) error {
		t, err := tx.TestByID(ctx, testID)
		if err != nil {
			return err
		}
		test = t
		if err := testflow.CheckEdit(actor.Role, t.State, []string{"detection_results"}); err != nil {
			return err
		}
		if len(in.EvidenceIDs) > 0 {
			for _, id := range in.EvidenceIDs {
				if !core.ValidID(id) {
					return core.FieldError("evidence_ids", "%q is not an id", id)
				}
				e, err := tx.EvidenceByID(ctx, id)
				if err != nil {
					return err
				}
				if e.TestID != testID {
					return core.FieldError("evidence_ids", "evidence %s belongs to another test", id)
				}
				if e.Team != core.TeamBlue {
					return core.FieldError("evidence_ids", "evidence %s is the red team's; telemetry is the blue team's evidence", id)
				}
				files = append(files, e)
			}
		} else {
			list, _, err := tx.ListEvidence(ctx, core.EvidenceFilter{TestID: testID, Teams: []core.Team{core.TeamBlue}, Page: core.Page{Limit: 500}})
			if err != nil {
				return err
			}
			files = list
		}
		if t.TechniqueID != "" {
			relevant, err = tx.SigmaRuleIDsOfTechnique(ctx, t.TechniqueID)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	eng, byKey, err := s.EngineFor(ctx, in.Source)
	if err != nil {
		return nil, err
	}
	rep := &Report{TestID: testID, RulesEvaluated: len(eng.Rules()), Unsupported: eng.Unsupported()}
	hits := map[string]*ruleHits{}
	explicit := len(in.EvidenceIDs) > 0
	reading := 0
	for _, f := range files {
		if explicit || isTelemetry(f) {
			reading++
		}
	}
	for _, f := range files {
		er := EvidenceReport{ID: f.ID, FileName: f.FileName}
		if !explicit && !isTelemetry(f) {
			er.Skipped = "not an event file (EVTX, JSON or NDJSON)"
			rep.Evidence = append(rep.Evidence, er)
			continue
		}
		data, err := s.read(ctx, f)
		if err != nil {
			return nil, err
		}
		// Event ids name the file when several files were read.
		prefix := ""
		if reading > 1 {
			prefix = f.FileName + ":"
		}
		err = events.Read(f.FileName, data, events.Options{Mapping: mapping, MaxEvents: s.opts.MaxEvents}, func(ev *events.Event) error {
			er.Events++
			eng.Evaluate(ev, func(m Match) {
				h := hits[m.Rule.Key]
				if h == nil {
					h = &ruleHits{evidenceID: f.ID, searches: map[string]bool{}}
					hits[m.Rule.Key] = h
				}
				h.count++
				if len(h.ids) < s.opts.MaxMatchIDs {
					h.ids = append(h.ids, prefix+ev.ID)
				}
				for _, name := range m.Searches {
					h.searches[name] = true
				}
			})
			return ctx.Err()
		})
		if err != nil {
			return nil, core.FieldError("evidence_ids", "evidence %s (%s): %v", f.ID, f.FileName, err)
		}
		rep.Events += er.Events
		rep.Evidence = append(rep.Evidence, er)
	}
	if rep.Events == 0 {
		return nil, core.Errorf(core.EINVALID, "the test's blue evidence holds no events to evaluate (attach EVTX, JSON or NDJSON telemetry)")
	}
	unsupported := map[string]bool{}
	for _, u := range rep.Unsupported {
		unsupported[u.Key] = true
	}
	now := s.opts.Now()
	var results []*core.DetectionResult
	for key, h := range hits {
		searches := make([]string, 0, len(h.searches))
		for n := range h.searches {
			searches = append(searches, n)
		}
		sort.Strings(searches)
		ev := h.evidenceID
		results = append(results, &core.DetectionResult{TestID: testID, DetectionRuleID: key, Triggered: true,
			Method: core.DetectionEvaluated, EvidenceID: &ev, MatchedEvents: h.count, MatchedEventIDs: h.ids,
			MatchedSearches: searches, RecordedBy: &actor.ID, RecordedAt: now})
	}
	first := firstRead(rep.Evidence)
	for _, id := range relevant {
		if hits[id] != nil || unsupported[id] || byKey[id] == nil {
			continue
		}
		results = append(results, &core.DetectionResult{TestID: testID, DetectionRuleID: id, Triggered: false,
			Method: core.DetectionEvaluated, EvidenceID: first, RecordedBy: &actor.ID, RecordedAt: now,
			Notes: fmt.Sprintf("no match in %d events", rep.Events)})
	}
	sort.Slice(results, func(i, j int) bool { return results[i].DetectionRuleID < results[j].DetectionRuleID })
	err = s.store.Update(ctx, func(tx core.Tx) error {
		existing, err := tx.DetectionResultsOf(ctx, testID)
		if err != nil {
			return err
		}
		manual := map[string]*core.DetectionResult{}
		for _, r := range existing {
			if r.Method == core.DetectionManual {
				manual[r.DetectionRuleID] = r
			}
		}
		rep.Results, rep.KeptManual, rep.Differing = nil, nil, nil
		for _, r := range results {
			if m := manual[r.DetectionRuleID]; m != nil {
				rep.KeptManual = append(rep.KeptManual, r.DetectionRuleID)
				if m.Triggered != r.Triggered {
					rep.Differing = append(rep.Differing, r.DetectionRuleID)
				}
				continue
			}
			if err := tx.PutDetectionResult(ctx, r); err != nil {
				return err
			}
			rep.Results = append(rep.Results, r)
		}
		triggered := 0
		for _, r := range rep.Results {
			if r.Triggered {
				triggered++
			}
		}
		return tx.AppendAudit(ctx, core.NewAudit(actor, "test.detections_evaluated", "test", test.ID, map[string]any{
			"events": rep.Events, "rules": rep.RulesEvaluated, "triggered": triggered, "results": len(rep.Results),
			"kept_manual": len(rep.KeptManual)}))
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func firstRead(evs []EvidenceReport) *string {
	for _, e := range evs {
		if e.Skipped == "" {
			id := e.ID
			return &id
		}
	}
	return nil
}

// isTelemetry tells event files from screenshots and documents by name and type.
func isTelemetry(e *core.Evidence) bool {
	switch strings.ToLower(path.Ext(e.FileName)) {
	case ".evtx", ".json", ".ndjson", ".jsonl":
		return true
	}
	ct := strings.ToLower(e.ContentType)
	return strings.Contains(ct, "json") || strings.Contains(ct, "evtx")
}

func (s *Service) read(ctx context.Context, e *core.Evidence) ([]byte, error) {
	rc, err := s.blobs.Get(ctx, e.StorageKey)
	if err != nil {
		return nil, fmt.Errorf("read evidence %s: %w", e.ID, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read evidence %s: %w", e.ID, err)
	}
	return data, nil
}
